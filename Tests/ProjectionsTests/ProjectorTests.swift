import Events
import Foundation
import Kafka
import Postgres
import Projections
import Synchronization
import SyntheticPopulation
import Testing
import TongbanTesting

/// What a test's `during` closure saw, for the test to compare afterwards.
private final class Captured: Sendable {
    let views = Mutex<[String: String]>([:])
}

/// The projector runtime against the mock Kafka cluster and a real PostgreSQL: generated, signed populations with
/// anomalies, published as departments would.
@Suite("Projector through Kafka", .quietMachine)
struct ProjectorTests {
    static let population: SignedPopulation = try! SignedPopulation.make(people: 300, seed: 41, anomalyRate: 0.03)

    /// Publishes `extra` messages, then `population`, and projects them with one instance until it caught up: the
    /// projector had no error left, each extra message is one more dead letter, and every valid event of the
    /// population was applied once. `body` then looks at what else the test is about.
    static func projectWithExtraMessages(
        _ extra: [KafkaProducerMessage], before population: SignedPopulation, group: String,
        _ body: (KafkaMockCluster, TestDatabase) async throws -> Void
    ) async throws {
        try await withMockCluster { cluster in
            try await ProjectionScenario.createTopics(on: cluster)
            try await ProjectionScenario.publish(messages: extra, to: cluster)
            try await ProjectionScenario.publish(population.events, to: cluster)
            try await withTestDatabase { db in
                try await ProjectionFixtures.migrate(db.client)
                let statuses = try await ProjectionScenario.project(
                    cluster, database: db, instances: 1, group: TestNames.unique(group))
                #expect(statuses[0].lastError == nil)
                #expect(statuses[0].deadLetters == population.rejected.count + extra.count)
                #expect(try await ProjectionScenario.ledgerIDs(db.client) == population.appliedIDs)
                try await body(cluster, db)
            }
        }
    }

    /// The views answer the expected answers; invalid, forged and unsigned events are dead letters; publishing
    /// everything twice and rebuilding change nothing.
    @Test("#4 through Kafka: answers, dead letters, publishing twice, rebuild mode (full and keeping the ledger)")
    func endToEnd() async throws {
        let population = Self.population
        #expect(population.rejected.count > 10)
        #expect(population.rejected.contains { $0.anomaly?.name == "bad-signature" })
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            let statuses = try await ProjectionScenario.project(
                cluster, database: db, instances: 2, group: TestNames.unique("e2e"))
            #expect(statuses.reduce(0) { $0 + $1.applied } == population.appliedIDs.count)
            #expect(statuses.reduce(0) { $0 + $1.deadLetters } == population.rejected.count)

            // Every valid event reached the views once; no rejected one did.
            #expect(try await ProjectionScenario.ledgerIDs(db.client) == population.appliedIDs)
            try await db.client.withConnection { connection in
                for person in population.expected.sample {
                    try await ViewAnswerTests().check(person, expected: population.expected, on: connection)
                }
            }

            // Dead letters: exactly the rejected messages, on the topic and in the table, with reasons.
            try await Self.checkDeadLetters(population, copies: 1, cluster: cluster, client: db.client)

            // Row for row what a from-zero application of the valid events builds.
            let live = try await ProjectionScenario.dump(db.client)
            try await withTestDatabase { reference in
                try await ProjectionFixtures.migrate(reference.client)
                try await ProjectionScenario.applyReference(population, to: reference.client)
                #expect(try await ProjectionScenario.dump(reference.client) == live)
            }

            // Everything published a second time: the views do not change; the copies are dead letters again.
            try await ProjectionScenario.publish(population.events, to: cluster)
            let again = try await ProjectionScenario.project(
                cluster, database: db, group: TestNames.unique("e2e-again"))
            #expect(again[0].applied == 0)
            #expect(try await ProjectionScenario.dump(db.client) == live)
            try await Self.checkDeadLetters(population, copies: 2, cluster: cluster, client: db.client)

            // Rebuild mode: the views emptied, every offset read again below the verified watermark; the readers'
            // indexes and autovacuum are off until the rebuild has caught up.
            let indexes = try await ProjectionFixtures.indexesAndOptions(db.client)
            try await db.client.withConnection { try await ViewStore().resetForRebuild(on: $0) }
            #expect(try await ProjectionScenario.ledgerIDs(db.client).isEmpty)
            let during = try await ProjectionFixtures.indexesAndOptions(db.client)
            #expect(!during.contains { $0.hasPrefix("index contribution_person ") })
            #expect(during.contains { $0.hasPrefix("index event_fact ") })
            #expect(during.contains { $0 == "options contribution {autovacuum_enabled=false}" })
            let progress = try await db.client.withConnection { try await ViewStore().finishRebuild(on: $0) }
            #expect(progress == .pending)
            let rebuilt = try await ProjectionScenario.project(
                cluster, database: db, group: TestNames.unique("e2e-rebuild"))
            #expect(try await ProjectionFixtures.indexesAndOptions(db.client) == indexes)
            let finished = try await db.client.withConnection { try await ViewStore().finishRebuild(on: $0) }
            #expect(finished == .none)
            #expect(!rebuilt[0].rebuilding)
            let messages = 2 * population.events.count
            #expect(rebuilt[0].trusted == messages - 2 * population.rejected.count)
            #expect(rebuilt[0].deadLetters == 0)
            #expect(try await ProjectionScenario.dump(db.client) == live)
            #expect(try await ProjectionScenario.ledgerIDs(db.client) == population.appliedIDs)
            try await Self.checkDeadLetters(population, copies: 2, cluster: cluster, client: db.client)

            // A rebuild keeping the ledger, by two instances in other batches: only the facts are written
            // again, from the ledger's decisions; the views come out the same.
            try await db.client.withConnection {
                try await ViewStore().resetForRebuild(keepingLedger: true, on: $0)
            }
            #expect(try await ProjectionScenario.ledgerIDs(db.client) == population.appliedIDs)
            let facts = try await ProjectionScenario.project(
                cluster, database: db, instances: 2, group: TestNames.unique("e2e-facts"), batchSize: 97)
            #expect(facts.reduce(0) { $0 + $1.applied } == population.appliedIDs.count)
            #expect(facts.reduce(0) { $0 + $1.deadLetters } == 0)
            // One of the two built the deferred indexes (the other's status may lag by its idle check).
            #expect(try await db.client.withConnection { try await ViewStore().finishRebuild(on: $0) } == .none)
            #expect(try await ProjectionFixtures.indexesAndOptions(db.client) == indexes)
            #expect(try await ProjectionScenario.dump(db.client) == live)
            #expect(try await ProjectionScenario.ledgerIDs(db.client) == population.appliedIDs)
            try await Self.checkDeadLetters(population, copies: 2, cluster: cluster, client: db.client)
        }
    }

    @Test("#4 a projector that is idle notices a rebuild reset under it, and rebuilds")
    func idleProjectorRebuilds() async throws {
        let population = try SignedPopulation.make(people: 60, seed: 47, anomalyRate: 0.03)
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            let indexes = try await ProjectionFixtures.indexesAndOptions(db.client)
            let conninfo = db.conninfo
            let live = Captured()
            let statuses = try await ProjectionScenario.project(cluster, database: db, group: TestNames.unique("idle"))
            {
                let ends = try await ProjectionScenario.endOffsets(on: cluster)
                try await ProjectionScenario.waitUntilCaughtUp(ends, conninfo: conninfo)
                let dump = try await ProjectionScenario.dump(db.client)
                live.views.withLock { $0 = dump }
                // No verified watermark (another writer's checkpoints, say): the events are verified again, and
                // still recorded, their facts written from the ledger.
                try await db.client.execute("UPDATE tongban.checkpoint SET verified_through = NULL")
                // Nothing new arrives: only the idle check can see the checkpoints go back.
                try await db.client.withConnection {
                    try await ViewStore().resetForRebuild(keepingLedger: true, on: $0)
                }
                #expect(
                    try await db.client.query("SELECT count(*) FROM tongban.contribution")[0].decode(
                        Int.self, at: 0) == 0)
            }
            #expect(statuses[0].retries > 0)
            #expect(try await ProjectionFixtures.indexesAndOptions(db.client) == indexes)
            #expect(try await ProjectionScenario.dump(db.client) == live.views.withLock { $0 })
        }
    }

    /// The dead-letter topic and table hold each rejected message `copies` times (once per publication), with
    /// the original bytes, the reason and the original position.
    static func checkDeadLetters(
        _ population: SignedPopulation, copies: Int, cluster: KafkaMockCluster, client: PostgresClient
    ) async throws {
        let expected = population.rejected.map { String(decoding: $0.line, as: UTF8.self) }
        let expectedCounts = Dictionary(expected.map { ($0, copies) }, uniquingKeysWith: +)
        let messages = try await ProjectionScenario.deadLetterMessages(on: cluster)
        let onTopic = Dictionary(messages.map { (String(decoding: $0.value, as: UTF8.self), 1) }, uniquingKeysWith: +)
        #expect(onTopic == expectedCounts)
        for message in messages {
            let headers = Dictionary(message.headers.map { ($0.key, String(decoding: $0.value ?? [], as: UTF8.self)) })
            {
                a, _ in a
            }
            #expect(!(headers[DeadLetter.Header.reason] ?? "").isEmpty)
            #expect(ProjectionScenario.topics.contains(headers[DeadLetter.Header.topic] ?? ""))
            #expect(Int64(headers[DeadLetter.Header.offset] ?? "") != nil)
        }
        let rows = try await client.query("SELECT convert_from(value, 'UTF8'), reason FROM tongban.dead_letter")
        let inTable = Dictionary(try rows.map { (try $0.decode(String.self, at: 0), 1) }, uniquingKeysWith: +)
        #expect(inTable == expectedCounts)
        // Forged and unsigned events are refused for their signature.
        let reasons = try rows.map { try $0.decode(String.self, at: 1) }
        #expect(reasons.contains { $0.hasPrefix("signature:") })
        #expect(rows.count == copies * expected.count)
    }

    @Test("#4 other publication interleavings across partitions and departments give identical views")
    func interleavings() async throws {
        let population = try SignedPopulation.make(people: 120, seed: 43, anomalyRate: 0.03)
        var dumps: [[String: String]] = []
        for seed: UInt64 in [1, 2, 3] {
            try await withMockCluster(brokers: 1) { cluster in
                try await ProjectionScenario.createTopics(on: cluster, partitions: Int(seed) + 1)
                try await ProjectionScenario.publish(population.interleaved(seed: seed), to: cluster)
                try await withTestDatabase { db in
                    try await ProjectionFixtures.migrate(db.client)
                    _ = try await ProjectionScenario.project(
                        cluster, database: db, group: TestNames.unique("shuffle"), batchSize: 37 * Int(seed))
                    #expect(try await ProjectionScenario.ledgerIDs(db.client) == population.appliedIDs)
                    dumps.append(try await ProjectionScenario.dump(db.client))
                }
            }
        }
        #expect(dumps.count == 3)
        #expect(dumps.allSatisfy { $0 == dumps[0] })
    }

    @Test("#4 a broker down, injected fetch errors and a PostgreSQL restart: the projector waits and ends the same")
    func faults() async throws {
        let population = try SignedPopulation.make(people: 150, seed: 44, anomalyRate: 0.03)
        let thirds = stride(from: 0, to: population.events.count, by: population.events.count / 3 + 1).map {
            Array(population.events[$0..<min(population.events.count, $0 + population.events.count / 3 + 1)])
        }
        let server = try await EmbeddedPostgres.start(logger: TestPostgres.logger)
        do {
            let client = PostgresClient(configuration: .init(conninfo: server.conninfo()), logger: TestPostgres.logger)
            let database = TestDatabase(name: "postgres", conninfo: server.conninfo(), client: client)
            try await ProjectionFixtures.migrate(client)
            try await withMockCluster { cluster in
                try await ProjectionScenario.createTopics(on: cluster)
                try await ProjectionScenario.publish(thirds[0], to: cluster)
                let statuses = try await ProjectionScenario.project(cluster, database: database, group: "faults") {
                    let conninfo = database.conninfo
                    try await ProjectionScenario.waitUntilCaughtUp(
                        try await ProjectionScenario.endOffsets(on: cluster), conninfo: conninfo)
                    // A broker goes down and comes back while the second third is published; fetches fail for a
                    // while.
                    try await cluster.setBrokerDown(1)
                    async let published: Void = ProjectionScenario.publish(thirds[1], to: cluster)
                    try await Task.sleep(for: .seconds(2))
                    try await cluster.setBrokerUp(1)
                    try await cluster.pushRequestErrors(
                        .fetch, Array(repeating: .notLeaderForPartition, count: 5) + [.requestTimedOut])
                    try await published
                    try await ProjectionScenario.waitUntilCaughtUp(
                        try await ProjectionScenario.endOffsets(on: cluster), conninfo: conninfo)
                    // PostgreSQL goes away; the last third is published and read while it is down.
                    async let restarted: Void = server.restart(downtime: .seconds(4))
                    // Published once the server is down (its fast shutdown can take a while on a busy machine), so
                    // that the projector meets it down.
                    func reachable() async -> Bool {
                        guard
                            let connection = try? await PostgresConnection.connect(
                                conninfo, connectTimeout: .seconds(2), logger: TestPostgres.logger)
                        else { return false }
                        await connection.close()
                        return true
                    }
                    let deadline = ContinuousClock.now + .seconds(30)
                    while await reachable(), ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    try await ProjectionScenario.publish(thirds[2], to: cluster)
                    try await restarted
                }
                // The projector did meet the dead server, and carried on once it was back.
                #expect(statuses[0].retries > 0)
                #expect(statuses[0].lastError == nil)
            }
            let live = try await ProjectionScenario.dump(client)
            #expect(try await ProjectionScenario.ledgerIDs(client) == population.appliedIDs)
            try await withTestDatabase { reference in
                try await ProjectionFixtures.migrate(reference.client)
                try await ProjectionScenario.applyReference(population, to: reference.client)
                #expect(try await ProjectionScenario.dump(reference.client) == live)
            }
            await client.shutdown()
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }

    /// Valid events whose facts the views cannot take (a trigger stands in for such a view here) go to the dead
    /// letters with the reason; the rest of their batches and partitions is applied, and nothing stalls. Refused only
    /// at commit (#18), no single event is found refused alone: after a few attempts the batch is committed piece by
    /// piece, and the events that cannot be committed are the dead letters.
    @Test(
        "#4 #18 events the views refuse are dead letters; their partitions go on (refused per row, or only at commit)",
        arguments: [false, true])
    func refusedEvents(atCommit: Bool) async throws {
        let population = try SignedPopulation.make(people: 80, seed: 46, anomalyRate: 0.03)
        // Postings sent once (no duplicate or re-sent copy carries them), so each refusal is one message.
        func posting(_ event: GeneratedEvent) -> String? {
            guard event.type == "social-insurance.contribution-posted.v1" else { return nil }
            return (try? JSONParser.parse(event.line))?["data"]?["postingId"]?.stringValue
        }
        let sent = Dictionary(population.events.compactMap(posting).map { ($0, 1) }, uniquingKeysWith: +)
        let contributions = population.events.filter { event in
            event.shouldBeApplied && posting(event).map { sent[$0] == 1 } == true
        }
        try #require(contributions.count > 10)
        let chosen = [contributions[3], contributions[contributions.count / 2]]
        let postings = chosen.compactMap(posting)
        let refusedIDs = Set(chosen.compactMap(\.id))
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            try await db.client.withConnection { connection in
                try await ProjectionFixtures.refuse(
                    "contribution", where: "posting_id", isOneOf: postings, atCommit: atCommit, on: connection)
            }
            let statuses = try await ProjectionScenario.project(
                cluster, database: db, instances: 1, group: TestNames.unique("refused"))
            #expect(statuses[0].lastError == nil)
            #expect(statuses[0].deadLetters == population.rejected.count + chosen.count)
            #expect(
                try await ProjectionScenario.ledgerIDs(db.client) == population.appliedIDs.subtracting(refusedIDs))

            // In the table with the reason, and on the topic with the original bytes.
            let rows = try await db.client.query(
                "SELECT event_id::text, reason FROM tongban.dead_letter WHERE reason LIKE 'the views refused%'")
            let reasons = Dictionary(
                uniqueKeysWithValues: try rows.map {
                    (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1))
                })
            #expect(Set(reasons.keys) == refusedIDs)
            #expect(reasons.values.allSatisfy { $0.contains("SQLSTATE P0001") })
            let onTopic = Set(try await ProjectionScenario.deadLetterMessages(on: cluster).map(\.value))
            for event in chosen { #expect(onTopic.contains(event.line)) }
        }
    }

    /// A sender's text reaches the dead letters' `text` columns (the type, values quoted in the reason): a NUL or
    /// control character there must not make PostgreSQL refuse the dead letter itself, which would stop the partition.
    @Test("#4 a message whose type holds NUL and control characters is a dead letter; its partition goes on")
    func controlCharactersInDeadLetters() async throws {
        let population = try SignedPopulation.make(people: 40, seed: 48, anomalyRate: 0.03)
        let household = try #require(population.events.first { $0.topic == "tongban.household" && $0.shouldBeApplied })
        // JSON escapes: the parsed type holds NUL, a line feed and ESC.
        let bogusType = #"household.x\u0000\n\u001b[31m"#
        let text = String(decoding: household.line, as: UTF8.self)
        let original = household.type
        let poisoned = Array(text.replacingOccurrences(of: "\"\(original)\"", with: "\"\(bogusType)\"").utf8)
        try #require(poisoned != household.line)
        try await Self.projectWithExtraMessages(
            [KafkaProducerMessage(topic: household.topic, key: household.key, value: poisoned)], before: population,
            group: "control-characters"
        ) { cluster, db in
            let rows = try await db.client.query(
                "SELECT event_type, reason, value FROM tongban.dead_letter WHERE event_type LIKE 'household.x%'")
            let letters = try rows.map {
                (
                    try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1),
                    try $0.decode([UInt8].self, at: 2)
                )
            }
            try #require(letters.count == 1)
            #expect(letters[0].0 == "household.x\\u{0}\\u{a}\\u{1b}[31m")
            #expect(!letters[0].1.unicodeScalars.contains { $0.value < 0x20 }, "\(letters[0].1)")
            #expect(letters[0].2 == poisoned, "the dead letter keeps the bytes as received")
            let onTopic = Set(try await ProjectionScenario.deadLetterMessages(on: cluster).map(\.value))
            #expect(onTopic.contains(poisoned))
        }
    }

    /// A message as large as a department topic takes does not fit on the dead-letter topic once the reason and
    /// position headers are added: its value is cut there (the table keeps it whole), instead of the send failing
    /// and the partition stopping.
    @Test("#4 a message too large for the dead-letter topic with its headers is cut there, whole in the table")
    func oversizedDeadLetter() async throws {
        let population = try SignedPopulation.make(people: 30, seed: 50, anomalyRate: 0.03)
        // Just under what librdkafka's default message.max.bytes (1,000,000) lets the department's producer send.
        let junk = [UInt8](repeating: UInt8(ascii: "x"), count: 999_850)
        // An envelope whose id is most of the message: the id must not travel as a header too.
        let hugeID = Array(("{\"id\":\"" + String(repeating: "a", count: 990_000) + "\"}").utf8)
        try await Self.projectWithExtraMessages(
            [
                KafkaProducerMessage(topic: "tongban.household", key: "k", value: junk),
                KafkaProducerMessage(topic: "tongban.household", key: "k", value: hugeID),
            ], before: population, group: "oversized"
        ) { cluster, db in
            let rows = try await db.client.query(
                "SELECT value FROM tongban.dead_letter WHERE length(value) > 100000 ORDER BY message_offset")
            #expect(try rows.map { try $0.decode([UInt8].self, at: 0) } == [junk, hugeID])
            let letters = try await ProjectionScenario.deadLetterMessages(on: cluster)
            let withID = try #require(letters.first { $0.value.first == UInt8(ascii: "{") && $0.value.count > 100_000 })
            #expect(withID.value == hugeID)
            #expect(!withID.headers.contains { $0.key == DeadLetter.Header.eventID })
            let sent = letters.filter { $0.value.first == UInt8(ascii: "x") }
            try #require(sent.count == 1)
            let lengths = sent[0].headers.filter { $0.key == DeadLetter.Header.valueLength }.compactMap(\.value)
            #expect(lengths == [Array("999850".utf8)])
            #expect(sent[0].value.count < junk.count && sent[0].value.count > 990_000)
            #expect(sent[0].value == Array(junk.prefix(sent[0].value.count)))
        }
    }

    /// A checkpoint Kafka does not hold (here beyond the end, as after a topic was recreated; retention deleting the
    /// head gives the same error below the start) stops that partition, reported, instead of going on from another
    /// offset and leaving the views without what is missing.
    @Test("#4 a partition whose checkpoint Kafka does not hold is not read, and is reported; the others go on")
    func checkpointOutsideTheLog() async throws {
        let population = try SignedPopulation.make(people: 80, seed: 49, anomalyRate: 0.03)
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            let ends = try await ProjectionScenario.endOffsets(on: cluster)
            let (stuck, end) = try #require(ends.filter { $0.value > 0 }.min { $0.key < $1.key })
            try await db.client.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset)
                VALUES ('tongban.views', \(stuck.topic), \(stuck.partition), \(end + 1000))
                """)
            let statuses = try await ProjectionScenario.project(
                cluster, database: db, instances: 1, group: TestNames.unique("outside-the-log"))
            #expect(statuses[0].unreadable.keys.sorted() == [stuck])
            #expect(statuses[0].unreadable[stuck]?.contains("\(stuck.topic)[\(stuck.partition)]") == true)
            #expect(statuses[0].lastError == nil)
            let stored = try await ProjectionScenario.checkpoints(viewGroup: "tongban.views", conninfo: db.conninfo)
            #expect(stored[stuck] == end + 1000, "the checkpoint did not move")
            for (partition, offset) in ends where partition != stuck && offset > 0 {
                #expect(stored[partition] == offset, "\(partition) caught up")
            }
        }
    }

    /// Copies of one record decide in order only on one partition, so a valid event is taken only from its type's
    /// topic and with its record key: a copy without a key or on another department's topic is a dead letter.
    @Test("#4 events without a Kafka key or on another topic are dead letters")
    func misplacedEvents() async throws {
        let population = try SignedPopulation.make(people: 60, seed: 47, anomalyRate: 0.03)
        let applied = population.events.filter(\.shouldBeApplied)
        let household = try #require(applied.first { $0.topic == "tongban.household" })
        let insurance = try #require(applied.first { $0.topic == "tongban.social-insurance" })
        let misplaced = [
            KafkaProducerMessage(topic: household.topic, key: nil, value: household.line),
            KafkaProducerMessage(topic: household.topic, key: insurance.key, value: insurance.line),
        ]
        try await Self.projectWithExtraMessages(misplaced, before: population, group: "misplaced") { cluster, db in
            let rows = try await db.client.query(
                """
                SELECT event_id::text, reason FROM tongban.dead_letter
                WHERE reason LIKE 'arrived on topic%' OR reason LIKE 'the message has no Kafka key%'
                ORDER BY reason
                """)
            let letters = try rows.map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
            #expect(letters.map(\.0) == [insurance.id, household.id].compactMap { $0 })
            #expect(letters.first?.1.contains("is published to tongban.social-insurance") == true)
            #expect(letters.last?.1.contains("is keyed by data/") == true)
        }
    }
}
