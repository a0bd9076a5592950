import ArgumentParser
import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections
import Synchronization
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import tongban

@Suite("tongban dead-letters", .sharedMachine)
struct DeadLettersCommandTests {
    @Test("#4 dead-letter positions and times parse; a redrive must be narrowed, or say --all")
    func arguments() throws {
        let position = DeadLetterStore.Position(KafkaTopicPartition("tongban.household", 3), offset: 17)
        #expect(DeadLetterStore.Position("tongban.household:3:17") == position)
        #expect(DeadLetterStore.Position(position.description) == position)
        for bad in ["tongban.household:3", ":3:17", "t:-1:17", "t:1:x", "t:1:2:3", "t:1:-2"] {
            #expect(DeadLetterStore.Position(bad) == nil, "\(bad)")
        }
        typealias Options = DeadLettersCommand.SelectionOptions
        #expect(try Options.parseTime("2026-12-03") == Date(timeIntervalSince1970: 1_796_256_000))
        #expect(try Options.parseTime("2026-12-03T18:00:00+08:00") == Date(timeIntervalSince1970: 1_796_292_000))
        #expect(try Options.parseTime("2026-12-03T10:00:00.250Z") == Date(timeIntervalSince1970: 1_796_292_000.25))
        #expect(throws: ValidationError.self) { try Options.parseTime("yesterday") }

        #expect(throws: (any Error).self) { try DeadLettersCommand.Redrive.parse([]) }
        #expect(throws: (any Error).self) { try DeadLettersCommand.Redrive.parse(["--again"]) }
        #expect(throws: (any Error).self) { try DeadLettersCommand.Redrive.parse(["tongban.household[3]@17"]) }
        #expect(throws: (any Error).self) { try DeadLettersCommand.Redrive.parse(["--all", "--since", "today"]) }
        _ = try DeadLettersCommand.Redrive.parse(["--all"])
        _ = try DeadLettersCommand.Redrive.parse(["tongban.household:3:17"])
        #expect(throws: (any Error).self) { try DeadLettersCommand.List.parse(["--limit", "0"]) }

        // What the sender wrote reaches the terminal escaped: C0, C1 (CSI, OSC) and bidirectional controls.
        #expect(
            EventViolation.printable("a\u{1B}[2J\u{9B}b\u{202E}c\u{2066}") == "a\\u{1b}[2J\\u{9b}b\\u{202e}c\\u{2066}")
        #expect(EventViolation.printable("王小明 😀 ü") == "王小明 😀 ü")
    }

    @Test("#4 list and show change no schema: they refuse while migrations are pending; nothing to redrive is said")
    func unmigratedAndEmpty() async throws {
        let logger = Logger(label: "test")
        try await withTestDatabase { db in
            let all = try TongbanMigrations.all().map(\.version)
            #expect(try await TongbanMigrations.pending(db.client) == all)
            await #expect {
                try await DeadLettersCommand.List.parse([]).perform(database: db.client) { _ in }
            } throws: { error in
                "\(error)".contains("the database lacks migrations \(all)")
            }
            await #expect(throws: CommandFailure.self) {
                try await DeadLettersCommand.Show.parse(["tongban.household:0:0"])
                    .perform(database: db.client, say: { _ in }, write: { _ in })
            }
            #expect(try await TongbanMigrations.pending(db.client) == all, "nothing was migrated")

            // The redrive migrates; with nothing to send it says so and succeeds, without Kafka.
            var said: [String] = []
            try await DeadLettersCommand.Redrive.parse(["--all", "--yes"]).perform(database: db.client, logger: logger)
            {
                said.append($0)
            }
            #expect(said.last == "no dead letters match (those already redriven are left out without --again)")
            #expect(try await TongbanMigrations.pending(db.client).isEmpty)
            said = []
            try await DeadLettersCommand.List.parse([]).perform(database: db.client) { said.append($0) }
            #expect(said == ["0 dead letters not yet redriven match"])
        }
    }

    /// The case a redrive is for: a department's key registered after its events arrived. They are dead letters
    /// ("unknown key id"); once the key is registered, a redrive sends them again and the projector applies them, so
    /// the views end as if the key had been known from the start. A second redrive changes nothing.
    @Test(
        "#4 events signed with a key registered late: listed, shown, redriven, applied; the views equal the reference")
    func redriveAfterKeyRegistered() async throws {
        let population = try SignedPopulation.make(people: 40, seed: 52, anomalyRate: 0.03)
        let civil = try #require(population.events.first { $0.department == .civilAffairs }).topic
        var withoutCivil = EventKeyRegistry()
        for (department, key) in DevKeys.all where department != .civilAffairs { try withoutCivil.register(key) }
        let logger = Logger(label: "test")
        let store = DeadLetterStore()
        // A civil-affairs event altered after signing (another id): "unknown key id" first, then a bad signature.
        let signed = try #require(population.events.first { $0.department == .civilAffairs && $0.shouldBeApplied })
        let id = try #require(signed.id)
        let altered = Array(
            String(decoding: signed.line, as: UTF8.self).replacingOccurrences(
                of: id, with: UUID().uuidString.lowercased()
            ).utf8)
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            try await ProjectionScenario.publish(
                messages: [KafkaProducerMessage(topic: civil, key: signed.key, value: altered)], to: cluster)
            _ = try await ProjectionScenario.project(
                cluster, database: db, group: TestNames.unique("late-key"), keys: withoutCivil)
            let missing = population.appliedIDs.subtracting(try await ProjectionScenario.ledgerIDs(db.client))
            try #require(!missing.isEmpty)

            // Listed: every event of the department whose key was missing (the reason is matched ignoring case).
            let unknownKey = DeadLetterStore.Selection(topics: [civil], reasonContaining: "Unknown Key ID")
            let (late, matching) = try await db.client.withConnection {
                try await store.list(unknownKey, limit: 10_000, on: $0)
            }
            #expect(matching == late.count)
            #expect(late.allSatisfy { $0.position.topicPartition.topic == civil && $0.redrivenAt == nil })
            let lateIDs = Set(late.compactMap { $0.eventID?.uuidString.lowercased() })
            #expect(lateIDs.isSuperset(of: missing))
            #expect(late == late.sorted { $0.position < $1.position })

            var said: [String] = []
            try await DeadLettersCommand.List.parse(["--topic", civil, "--reason", "unknown key id", "--limit", "2"])
                .perform(database: db.client) { said.append($0) }
            #expect(said.count == 3)
            #expect(said[0].hasPrefix(late[0].position.description + "  "))
            #expect(said[0].contains("unknown key id"))
            #expect(said[2] == "\(late.count) dead letters not yet redriven match; the first 2 are listed (--limit)")

            // Shown whole, and as raw bytes: the message exactly as the department sent it.
            said = []
            let first = late[0]
            try await DeadLettersCommand.Show.parse([first.position.description])
                .perform(database: db.client, say: { said.append($0) }, write: { _ in })
            #expect(said.contains("position  \(first.position)"))
            #expect(said.contains("redriven  no"))
            #expect(said.contains { $0.hasPrefix("reason    ") && $0.contains("unknown key id") }, "\(said)")
            var raw: [UInt8] = []
            try await DeadLettersCommand.Show.parse([first.position.description, "--raw"])
                .perform(database: db.client, say: { _ in }, write: { raw = $0 })
            let sent = population.events.filter { $0.id == first.eventID?.uuidString.lowercased() }.map(\.line)
            #expect(sent.contains(raw))
            await #expect(throws: CommandFailure.self) {
                try await DeadLettersCommand.Show.parse(["\(civil):0:999999"])
                    .perform(database: db.client, say: { _ in }, write: { _ in })
            }

            // Without --yes, only what it would send.
            let before = try await ProjectionScenario.endOffsets(on: cluster)
            let redrive = [
                "--topic", civil, "--reason", "unknown key id", "--kafka-bootstrap-servers", cluster.bootstrapServers,
            ]
            said = []
            await #expect(throws: CommandFailure.self) {
                try await DeadLettersCommand.Redrive.parse(redrive).perform(database: db.client, logger: logger) {
                    said.append($0)
                }
            }
            #expect(
                said.first == "\(late.count) dead letters would be sent again, each to the partition it was read from:")
            #expect(try await ProjectionScenario.endOffsets(on: cluster) == before)
            #expect(try await redrivenRows(db.client) == 0)

            // With --yes: each sent once, to its own partition, and its row says where the copy went.
            try await DeadLettersCommand.Redrive.parse(redrive + ["--yes"]).perform(database: db.client, logger: logger)
            {
                _ in
            }
            let after = try await ProjectionScenario.endOffsets(on: cluster)
            #expect(after.reduce(0) { $0 + $1.value - (before[$1.key] ?? 0) } == Int64(late.count))
            for partition in after.keys where partition.topic != civil {
                #expect(after[partition] == before[partition])
            }
            let copies = try await db.client.query(
                """
                SELECT partition, redriven_offset FROM tongban.dead_letter
                WHERE redriven_at IS NOT NULL AND redriven_offset IS NOT NULL
                """)
            #expect(copies.count == late.count)
            for row in copies {
                let partition = KafkaTopicPartition(civil, try row.decode(Int32.self, at: 0))
                let offset = try row.decode(Int64.self, at: 1)
                #expect(offset >= before[partition] ?? 0 && offset < after[partition] ?? 0)
            }
            #expect(
                try await db.client.withConnection { try await store.list(unknownKey, limit: 1, on: $0) }.matching == 0)
            // The copies: the original key and bytes, with the header naming the dead letter.
            let originals = Dictionary(uniqueKeysWithValues: late.map { ($0.position.description, $0) })
            let sentAgain = try await ProjectionScenario.messages(of: civil, on: cluster).filter {
                $0.offset >= before[$0.topicPartition] ?? 0
            }
            #expect(sentAgain.count == late.count)
            let names = sentAgain.compactMap { message in
                message.headers.first { $0.key == DeadLetterStore.redrivenFromHeader }?.value.map {
                    String(decoding: $0, as: UTF8.self)
                }
            }
            #expect(names.sorted() == late.map(\.position.description).sorted())
            for message in sentAgain {
                let from = message.headers.first { $0.key == DeadLetterStore.redrivenFromHeader }?.value
                let original = try #require(originals[from.map { String(decoding: $0, as: UTF8.self) } ?? ""])
                #expect(original.position.topicPartition == message.topicPartition)
                let letter = try await db.client.withConnection {
                    try await store.letter(at: original.position, on: $0)
                }
                #expect(letter?.value == message.value && letter?.key == message.key)
                #expect(letter?.entry.redrivenOffset == message.offset)
            }

            // The key registered: the projector applies them; the views are what they would have been.
            _ = try await ProjectionScenario.project(cluster, database: db, group: TestNames.unique("key-registered"))
            #expect(try await ProjectionScenario.ledgerIDs(db.client) == population.appliedIDs)
            let live = try await ProjectionScenario.dump(db.client)
            try await withTestDatabase { reference in
                try await TongbanMigrations.migrate(reference.client, logger: TestPostgres.logger)
                try await ProjectionScenario.applyReference(population, to: reference.client)
                #expect(try await ProjectionScenario.dump(reference.client) == live)
            }
            // Copies of messages invalid for another reason are dead letters again, with that reason.
            let rejectedAgain = try await deadLetters(db.client, from: before, to: after)
            #expect(rejectedAgain.contains { $0.contains("the signature does not match") }, "\(rejectedAgain)")
            #expect(rejectedAgain.count < late.count)
            // Each names the dead letter it copies, whose row names it back.
            let civilLetters = try await db.client.withConnection {
                try await store.list(.init(topics: [civil], includingRedriven: true), limit: 10_000, on: $0)
            }.entries
            let copiesRejected = civilLetters.filter { $0.copyOf != nil }
            #expect(copiesRejected.count == rejectedAgain.count)
            for copy in copiesRejected {
                let original = civilLetters.first {
                    $0.position == .init(copy.position.topicPartition, offset: copy.copyOf ?? -1)
                }
                #expect(original?.redrivenOffset == copy.position.offset)
            }

            // A second redrive (--again): copies of what is applied are ignored, the others rejected the same way.
            try await DeadLettersCommand.Redrive.parse(redrive + ["--again", "--yes"])
                .perform(database: db.client, logger: logger) { _ in }
            let again = try await ProjectionScenario.endOffsets(on: cluster)
            _ = try await ProjectionScenario.project(cluster, database: db, group: TestNames.unique("again"))
            #expect(try await ProjectionScenario.ledgerIDs(db.client) == population.appliedIDs)
            #expect(try await ProjectionScenario.dump(db.client) == live)
            #expect(try await deadLetters(db.client, from: after, to: again).sorted() == rejectedAgain.sorted())
        }
    }

    /// A redrive must not send again what it sent and the projectors rejected again while it ran (those copies are
    /// dead letters its selection matches, recorded after it started): here the projector still lacks the key, and
    /// each chunk waits until its copies are recorded. A later redrive, after the key is registered, sends the copies.
    @Test("#4 a redrive leaves out its own copies rejected again while it runs; a later one sends those")
    func redriveWhileProjecting() async throws {
        let population = try SignedPopulation.make(people: 30, seed: 53, anomalyRate: 0.03)
        let civil = try #require(population.events.first { $0.department == .civilAffairs }).topic
        var withoutCivil = EventKeyRegistry()
        for (department, key) in DevKeys.all where department != .civilAffairs { try withoutCivil.register(key) }
        let store = DeadLetterStore()
        let selection = DeadLetterStore.Selection(topics: [civil], reasonContaining: "unknown key id")
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            _ = try await ProjectionScenario.project(
                cluster, database: db, group: TestNames.unique("no-key"), keys: withoutCivil)
            let late = try await db.client.withConnection { try await store.list(selection, limit: 10_000, on: $0) }
                .entries
            try #require(late.count > 6)

            let outcome = Mutex<DeadLetterStore.Redriven?>(nil)
            _ = try await ProjectionScenario.project(
                cluster, database: db, group: TestNames.unique("still-no-key"), keys: withoutCivil
            ) {
                let producer = try KafkaProducer(
                    configuration: KafkaProducerConfiguration(kafka: .init(bootstrapServers: cluster.bootstrapServers)),
                    logger: testLogger("redrive"))
                let redrive = Task {
                    try await db.client.withConnection { connection in
                        try await store.redrive(selection, producer: producer, on: connection, chunk: 2) { done in
                            guard done.sentCount <= late.count else {
                                // Sending its own copies again: stop it (it would not end).
                                Issue.record("the redrive sent \(done.sentCount) of \(late.count) dead letters")
                                withUnsafeCurrentTask { $0?.cancel() }
                                return
                            }
                            await Self.waitForRejectedCopies(done.sentCount, conninfo: db.conninfo)
                        }
                    }
                }
                let done = try await redrive.value
                await producer.shutdown()
                outcome.withLock { $0 = done }
            }
            let first = try #require(outcome.withLock { $0 })
            #expect(first.failedCount == 0 && !first.stoppedEarly && !first.cancelled)
            #expect(first.sentCount == late.count)
            #expect(first.sentSample.map(\.position) == late.prefix(first.sampleLimit).map(\.position))
            let letters = try await db.client.withConnection {
                try await store.list(.init(topics: [civil], includingRedriven: true), limit: 10_000, on: $0)
            }.entries
            let copies = letters.filter { $0.copyOf != nil }
            #expect(copies.count == late.count)

            // Once the key is known, a redrive of the same selection sends the copies, and they are applied.
            let producer = try KafkaProducer(
                configuration: KafkaProducerConfiguration(kafka: .init(bootstrapServers: cluster.bootstrapServers)),
                logger: testLogger("redrive"))
            let second = try await db.client.withConnection { connection in
                // One at a time by size: the cursor moves past locked rows the byte bound left for the next chunk.
                try await store.redrive(selection, producer: producer, on: connection, chunk: 3, chunkBytes: 1)
            }
            await producer.shutdown()
            #expect(second.sentCount == copies.count)
            #expect(second.sentSample.map(\.position) == copies.prefix(second.sampleLimit).map(\.position))
            _ = try await ProjectionScenario.project(cluster, database: db, group: TestNames.unique("key-known"))
            #expect(try await ProjectionScenario.ledgerIDs(db.client) == population.appliedIDs)
        }
    }

    /// Waits until `count` dead letters are redriven copies rejected again.
    static func waitForRejectedCopies(_ count: Int, conninfo: String) async {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let connection = try? await PostgresConnection.connect(conninfo, logger: TestPostgres.logger) {
                let rows = try? await connection.query(
                    """
                    SELECT count(*) FROM tongban.dead_letter c JOIN tongban.dead_letter o
                        ON o.topic = c.topic AND o.partition = c.partition AND o.redriven_offset = c.message_offset
                    """)
                await connection.close()
                if let found = try? rows?[0].decode(Int.self, at: 0), found >= count { return }
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the projector did not record \(count) rejected copies within 60 s")
    }

    /// Rows with a redriven copy.
    func redrivenRows(_ client: PostgresClient) async throws -> Int {
        try await client.query("SELECT count(*) FROM tongban.dead_letter WHERE redriven_at IS NOT NULL")[0]
            .decode(Int.self, at: 0)
    }

    /// The reasons of the dead letters recorded at offsets in `from ..< to`, per partition.
    func deadLetters(
        _ client: PostgresClient, from: [KafkaTopicPartition: Int64], to: [KafkaTopicPartition: Int64]
    ) async throws -> [String] {
        try await client.query("SELECT topic, partition, message_offset, reason FROM tongban.dead_letter").compactMap {
            row in
            let partition = KafkaTopicPartition(try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1))
            let offset = try row.decode(Int64.self, at: 2)
            guard offset >= from[partition] ?? 0, offset < to[partition] ?? 0 else { return nil }
            return try row.decode(String.self, at: 3)
        }
    }
}
