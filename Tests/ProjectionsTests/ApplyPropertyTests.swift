import Events
import Foundation
import Kafka
import Postgres
import Projections
import Testing
import TongbanTesting

/// Order-insensitivity, idempotency and incremental application: the views depend only on the set of facts.
@Suite("Applying facts", .sharedMachine)
struct ApplyPropertyTests {
    @Test("any interleaving across departments and keys, in any batching, gives the same views")
    func interleavings() async throws {
        let population = ProjectionFixtures.small
        try await withTestDatabase { db in
            try await ProjectionFixtures.migrate(db.client)
            let store = ViewStore()
            try await ProjectionFixtures.apply(
                population.events, batchSize: population.events.count, store: store, client: db.client)
            let reference = try await ProjectionFixtures.dump(db.client)
            #expect(reference.count >= 15)
            #expect(reference.values.filter(\.isEmpty).isEmpty, "every contract view has rows")
            for seed in UInt64(1)...10 {
                try await ProjectionFixtures.reset(db.client)
                let events = ProjectionFixtures.interleave(population, seed: seed)
                #expect(events.map(\.event.id) != population.events.map(\.event.id))
                var rng = SplitMix(seed: seed &* 31)
                try await db.client.withConnection { connection in
                    var start = 0
                    while start < events.count {
                        let end = min(events.count, start + 1 + Int(rng.next() % 3_000))
                        try await store.apply(Array(events[start..<end]), checkpoints: [], on: connection)
                        start = end
                    }
                }
                let dump = try await ProjectionFixtures.dump(db.client)
                for (view, rows) in reference {
                    #expect(dump[view] == rows, "view \(view) differs for interleaving seed \(seed)")
                }
            }
        }
    }

    @Test("small batches in publication order equal one big batch (a rebuild)")
    func incrementalEqualsRebuild() async throws {
        let population = ProjectionFixtures.small
        try await withTestDatabase { db in
            try await ProjectionFixtures.migrate(db.client)
            let store = ViewStore()
            try await ProjectionFixtures.apply(population.events, batchSize: 97, store: store, client: db.client)
            let incremental = try await ProjectionFixtures.dump(db.client)
            try await ProjectionFixtures.reset(db.client)
            try await ProjectionFixtures.apply(
                population.events, batchSize: population.events.count, store: store, client: db.client)
            #expect(try await ProjectionFixtures.dump(db.client) == incremental)
        }
    }

    @Test("applying everything twice, and re-sending facts with fresh ids, changes nothing")
    func idempotent() async throws {
        let population = ProjectionFixtures.small
        try await withTestDatabase { db in
            try await ProjectionFixtures.migrate(db.client)
            let store = ViewStore()
            try await ProjectionFixtures.apply(population.events, batchSize: 5_000, store: store, client: db.client)
            let first = try await ProjectionFixtures.dump(db.client)
            let eventCount = try await count("tongban.event", db.client)

            // The same events again: every one is a duplicate.
            let again = try await db.client.withConnection { connection in
                try await store.apply(population.events, checkpoints: [], on: connection)
            }
            #expect(again.applied == 0)
            #expect(again.rejected.isEmpty)
            #expect(again.duplicates.count == population.events.count)
            #expect(try await ProjectionFixtures.dump(db.client) == first)

            // The same facts under new ids (every third event): new ledger rows, no new facts.
            let copies = try population.events.enumerated().filter { $0.offset % 3 == 0 }.map { index, staged in
                try Self.resent(staged, newID: UUID(), offset: 1_000_000 + Int64(index))
            }
            let outcome = try await db.client.withConnection { connection in
                try await store.apply(copies, checkpoints: [], on: connection)
            }
            let distinctCopies = Set(copies.map(\.event.id)).count
            #expect(outcome.applied == distinctCopies)
            #expect(try await count("tongban.event", db.client) == eventCount + distinctCopies)
            #expect(try await ProjectionFixtures.dump(db.client) == first)
        }
    }

    @Test("an id reused with different content is rejected and dead-lettered, not applied")
    func idReusedWithDifferentContent() async throws {
        let population = ProjectionFixtures.small
        try await withTestDatabase { db in
            try await ProjectionFixtures.migrate(db.client)
            let store = ViewStore()
            let original = try #require(
                population.events.first { $0.event.type == "household.name-changed.v2" })
            let names = try await db.client.withConnection { connection in
                try await store.apply([original], checkpoints: [], on: connection)
                let outcome = try await store.apply(
                    [try Self.reused(original, offset: 99, messageKey: Array("as-received".utf8))], checkpoints: [],
                    on: connection)
                #expect(outcome.rejected.count == 1)
                #expect(outcome.applied == 0)
                return try await connection.query("SELECT count(*) FROM tongban.name_change")
            }
            #expect(try names[0].decode(Int.self, at: 0) == 1)
            let letters = try await db.client.query(
                "SELECT message_offset, reason, key FROM tongban.dead_letter WHERE event_id = \(UUID(uuidString: original.event.id)!)"
            )
            #expect(letters.count == 1)
            #expect(try letters[0].decode(Int64.self, at: 0) == 99)
            // The Kafka key as received, not the record key read from data.
            #expect(try letters[0].decode([UInt8].self, at: 2) == Array("as-received".utf8))
        }
    }

    /// The search for events the views refuse tries only what the whole batch would apply: when another event's
    /// refusal splits a batch, a reused id that the views would refuse alone stays a rejected copy, not a refusal.
    @Test("refused events are searched among the events the batch applies")
    func refusalSearchSkipsRejectedCopies() async throws {
        let population = ProjectionFixtures.small
        try await withTestDatabase { db in
            try await ProjectionFixtures.migrate(db.client)
            let store = ViewStore()
            let nameChanges = population.events.filter { $0.event.type == "household.name-changed.v2" }
            try #require(nameChanges.count >= 2)
            let (original, refused) = (nameChanges[0], nameChanges[1])
            // Later on the original's partition than anything the population has there.
            let reused = try Self.reused(original, offset: 1_000_000)
            try await db.client.withConnection { connection in
                try await ProjectionFixtures.refuse(
                    "name_change", where: "fact_hash",
                    isOneOf: [refused.fingerprint!.fact, reused.fingerprint!.fact].map(\.lowercasedText), on: connection
                )
                // Alone, the altered copy is refused. In a batch after its original it is only a reused id, even
                // when the search splits the two apart.
                #expect(try await store.refusedEvents([reused], on: connection).map(\.event.offset) == [1_000_000])
                let found = try await store.refusedEvents([original, refused, reused], on: connection)
                #expect(found.map(\.event.event.id) == [refused.event.id])
            }
        }
    }

    /// The event's id with other content (another reason code), validated again.
    static func reused(_ original: StagedEvent, offset: Int64, messageKey: [UInt8]? = nil) throws -> StagedEvent {
        guard case .object(var envelope) = original.event.json, case .object(var data) = envelope["data"]
        else { throw PostgresError(.decoding, "not an object") }
        data["reasonCode"] = data["reasonCode"]?.stringValue == "other" ? "correction" : "other"
        envelope["data"] = .object(data)
        let altered = try ProjectionFixtures.validator.validate(
            JSONValue.object(envelope).serialized, options: .init(requireSignature: false))
        return try StagedEvent(altered, at: original.topicPartition, offset: offset, messageKey: messageKey)
    }

    /// The same envelope under a new id, validated again.
    static func resent(_ staged: StagedEvent, newID: UUID, offset: Int64) throws -> StagedEvent {
        guard case .object(var envelope) = staged.event.json else { throw PostgresError(.decoding, "not an object") }
        envelope["id"] = .string(newID.uuidString.lowercased())
        let event = try ProjectionFixtures.validator.validate(
            JSONValue.object(envelope).serialized, options: .init(requireSignature: false))
        return try StagedEvent(event, at: staged.topicPartition, offset: offset)
    }

    func count(_ table: String, _ client: PostgresClient) async throws -> Int {
        try await client.query("SELECT count(*) FROM \(unescaped: table)")[0].decode(Int.self, at: 0)
    }
}
