import Events
import Foundation
import Kafka
import Postgres
import Projections
import Testing
import TongbanTesting

/// Checkpoints advance with a compare-and-set in the batch's transaction; migrations are idempotent.
@Suite("Checkpoints and migrations", .sharedMachine)
struct CheckpointTests {
    @Test("#4 a rebuild defers the readers' indexes until every checkpoint (of any group) is back at its watermark")
    func rebuildDefersIndexes() async throws {
        let events = Array(ProjectionFixtures.small.events.prefix(20))
        let a = KafkaTopicPartition("tongban.household", 0)
        let b = KafkaTopicPartition("tongban.household", 1)
        try await withTestDatabase { db in
            try await ProjectionFixtures.migrate(db.client)
            let store = ViewStore(viewGroup: "test.views")
            let before = try await ProjectionFixtures.indexesAndOptions(db.client)
            try await db.client.withConnection { connection in
                // What a certificate service reads before it certifies: nothing projected is not ready.
                #expect(try await viewState(connection) == ViewState(ready: false, partitions: 0))
                try await store.apply(
                    events,
                    checkpoints: [
                        CheckpointAdvance(a, from: nil, to: 20, verifiedThrough: 20),
                        CheckpointAdvance(b, from: nil, to: 5, verifiedThrough: 5),
                    ], on: connection)
                #expect(try await viewState(connection) == ViewState(ready: true, partitions: 2))
                #expect(try await store.finishRebuild(on: connection) == .none)
                try await store.resetForRebuild(on: connection)
                // Started again before it finished: what the first reset deferred is still recorded.
                try await store.resetForRebuild(on: connection)
                let deferred = try await connection.query(
                    """
                    SELECT count(*) FILTER (WHERE kind = 'index')::int8, count(DISTINCT table_name)::int8
                    FROM tongban.rebuild_deferred
                    """)
                let indexes = Int(try deferred[0].decode(Int64.self, at: 0))
                let tables = Int(try deferred[0].decode(Int64.self, at: 1))
                #expect(indexes > 20)
                let objects = try await count("tongban.rebuild_deferred", connection)
                #expect(
                    try await viewState(connection)
                        == ViewState(ready: false, rebuilding: true, partitions: 2, behind: 2, deferred: objects))
                // The views are shared: another group, caught up, does not make them ready.
                try await ViewStore(viewGroup: "other.views").apply(
                    [], checkpoints: [CheckpointAdvance(a, from: nil, to: 20, verifiedThrough: 20)], on: connection)
                #expect(
                    try await viewState(connection)
                        == ViewState(ready: false, rebuilding: true, partitions: 3, behind: 2, deferred: objects))
                let during = try await ProjectionFixtures.indexesAndOptions(db.client)
                #expect(
                    during.count { $0.hasPrefix("index ") } == before.count { $0.hasPrefix("index ") } - indexes)
                #expect(during.count { $0.hasSuffix(" {autovacuum_enabled=false}") } == tables)
                #expect(try await store.finishRebuild(on: connection) == .pending)

                // One partition caught up, the other not yet.
                try await store.apply(events, checkpoints: [CheckpointAdvance(a, from: 0, to: 20)], on: connection)
                #expect(try await store.finishRebuild(on: connection) == .pending)
                #expect(try await viewState(connection).behind == 1)
                try await store.apply([], checkpoints: [CheckpointAdvance(b, from: 0, to: 5)], on: connection)
                // Caught up, but the readers' indexes are not back yet.
                #expect(
                    try await viewState(connection)
                        == ViewState(ready: false, rebuilding: true, partitions: 3, deferred: objects))
                // The tables are shared: any view group's projector restores them once no checkpoint is behind.
                #expect(
                    try await ViewStore(viewGroup: "other.views").finishRebuild(on: connection)
                        == .finished(indexes: indexes, tables: tables))
                #expect(try await viewState(connection) == ViewState(ready: true, partitions: 3))
                #expect(try await ProjectionFixtures.indexesAndOptions(db.client) == before)
                #expect(try await store.finishRebuild(on: connection) == .none)
                // Only CREATE INDEX statements are run from the table.
                try await connection.execute(
                    """
                    INSERT INTO tongban.rebuild_deferred (view_group, kind, table_name, object_name, definition)
                    VALUES ('test.views', 'index', 'event', 'odd', 'CREATE INDEX odd ON tongban.event (type); DROP TABLE tongban.event')
                    """)
                await #expect(throws: PostgresError.self) { try await store.finishRebuild(on: connection) }
                #expect(try await count("tongban.event", connection) > 0)
                try await connection.execute("DELETE FROM tongban.rebuild_deferred")
                #expect(try await count("tongban.event", connection) == Set(events.map(\.event.id)).count)
            }
        }
    }

    @Test("#4 a rebuild keeping the ledger writes the facts again from its decisions, in any batching")
    func rebuildKeepingLedger() async throws {
        let events = ProjectionFixtures.small.events
        var ends: [KafkaTopicPartition: Int64] = [:]
        for staged in events { ends[staged.topicPartition] = max(ends[staged.topicPartition] ?? 0, staged.offset + 1) }
        let advances = ends.map { CheckpointAdvance($0.key, from: nil, to: $0.value, verifiedThrough: $0.value) }
        let ledger = """
            SELECT string_agg(concat_ws(' ', event_id, topic, partition, message_offset, fact_hash, establishes), ','
                ORDER BY event_id)
            FROM tongban.event
            """
        try await withTestDatabase { db in
            try await ProjectionFixtures.migrate(db.client)
            let store = ViewStore(viewGroup: "test.views")
            let indexes = try await ProjectionFixtures.indexesAndOptions(db.client)
            try await db.client.withConnection { connection in
                let first = try await store.apply(events, checkpoints: advances, on: connection)
                #expect(first.duplicates.count > 0)
                let views = try await ProjectionScenario.dump(db.client)
                let recorded = try await connection.query(PostgresQuery(unsafeSQL: ledger))[0].decode(
                    String.self, at: 0)

                try await store.resetForRebuild(keepingLedger: true, on: connection)
                #expect(try await count("tongban.contribution", connection) == 0)
                #expect(try await count("tongban.event", connection) == first.applied)
                // The ledger keeps its indexes and autovacuum; the fact tables lose theirs until the end.
                let during = try await ProjectionFixtures.indexesAndOptions(db.client)
                #expect(during.contains { $0.hasPrefix("index event_fact ") })
                #expect(!during.contains { $0.hasPrefix("options event ") })
                #expect(!during.contains { $0.hasPrefix("index contribution_person ") })
                let positions = try await store.positions(of: Array(ends.keys), on: connection)
                #expect(positions.mapValues(\.ledgerThrough) == ends)
                #expect(positions.values.allSatisfy { $0.nextOffset == 0 })
                // An event the ledger lost is decided as new (and establishes its fact again).
                let lost = try await connection.query(
                    """
                    DELETE FROM tongban.event
                    WHERE event_id = (SELECT event_id FROM tongban.event WHERE establishes ORDER BY event_id LIMIT 1)
                    RETURNING event_id
                    """)
                #expect(lost.count == 1)

                // Staged as recorded, as the projector stages what lies below ledger_through; other batches.
                let again = try events.map {
                    try StagedEvent(
                        $0.event, at: $0.topicPartition, offset: $0.offset, message: $0.message, recorded: true)
                }
                var applied = 0
                var duplicates = 0
                var from: [KafkaTopicPartition: Int64] = [:]
                for batch in stride(from: 0, to: again.count, by: 97).map({
                    Array(again[$0..<min($0 + 97, again.count)])
                }) {
                    var last: [KafkaTopicPartition: Int64] = [:]
                    for staged in batch { last[staged.topicPartition] = staged.offset + 1 }
                    let moves = last.map { CheckpointAdvance($0.key, from: from[$0.key] ?? 0, to: $0.value) }
                    let outcome = try await store.apply(batch.shuffled(), checkpoints: moves, on: connection)
                    applied += outcome.applied
                    duplicates += outcome.duplicates.count
                    from.merge(last) { _, new in new }
                }
                #expect(applied == first.applied)
                #expect(duplicates == first.duplicates.count)
                #expect(try await ProjectionScenario.dump(db.client) == views)
                #expect(
                    try await connection.query(PostgresQuery(unsafeSQL: ledger))[0].decode(String.self, at: 0)
                        == recorded)
                guard case .finished = try await store.finishRebuild(on: connection) else {
                    Issue.record("the rebuild did not finish")
                    return
                }
                #expect(try await ProjectionFixtures.indexesAndOptions(db.client) == indexes)
            }
        }
    }

    @Test("a stale writer's batch is rejected and rolled back, dead letters included")
    func staleWriter() async throws {
        let events = Array(ProjectionFixtures.small.events.prefix(40))
        let partition = KafkaTopicPartition("tongban.household", 0)
        let letter = DeadLetter(at: partition, offset: 7, key: Array("k".utf8), value: [0x7B], reason: "not JSON")
        try await withTestDatabase { db in
            try await ProjectionFixtures.migrate(db.client)
            let store = ViewStore(viewGroup: "test.views")
            try await db.client.withConnection { connection in
                #expect(try await store.positions(of: [partition], on: connection).isEmpty)
                try await store.apply(
                    Array(events[0..<20]), checkpoints: [CheckpointAdvance(partition, from: nil, to: 20)],
                    on: connection)

                // A second instance that also thinks the partition is new.
                await #expect(throws: PostgresError.self) {
                    try await store.apply(
                        Array(events[20..<40]), checkpoints: [CheckpointAdvance(partition, from: nil, to: 40)],
                        deadLetters: [letter], on: connection)
                }
                // A writer that read an old position.
                do {
                    try await store.apply(
                        Array(events[20..<40]), checkpoints: [CheckpointAdvance(partition, from: 10, to: 40)],
                        deadLetters: [letter], on: connection)
                    Issue.record("a stale checkpoint was accepted")
                } catch let error as PostgresError {
                    #expect(error.code == .checkpointConflict)
                }
                #expect(try await count("tongban.event", connection) == 20)
                #expect(try await count("tongban.dead_letter", connection) == 0)
                #expect(try await count("tongban.rejected_offset", connection) == 0)
                #expect(try await store.positions(of: [partition], on: connection)[partition]?.nextOffset == 20)

                // The current writer goes on.
                try await store.apply(
                    Array(events[20..<40]),
                    checkpoints: [CheckpointAdvance(partition, from: 20, to: 40, verifiedThrough: 40)],
                    deadLetters: [letter], on: connection)
                let stored = try await store.positions(
                    of: [partition, KafkaTopicPartition("tongban.property", 0)], on: connection)
                #expect(stored == [partition: StoredCheckpoint(nextOffset: 40, verifiedThrough: 40)])
                #expect(try await count("tongban.event", connection) == Set(events.map(\.event.id)).count)
                #expect(try await count("tongban.dead_letter", connection) == 1)
                #expect(try await count("tongban.rejected_offset", connection) == 1)
                // Another view group has its own checkpoints.
                let other = ViewStore(viewGroup: "other.views")
                #expect(try await other.positions(of: [partition], on: connection).isEmpty)
            }
        }
    }

    @Test("migrations apply on an empty database, and a second time do nothing")
    func migrations() async throws {
        let migrations = try TongbanMigrations.all()
        #expect(migrations.map(\.version) == Array(1...migrations.count))
        try await withTestDatabase { db in
            let logger = TestPostgres.logger
            #expect(try await TongbanMigrations.migrate(db.client, logger: logger) == migrations.map(\.version))
            #expect(try await TongbanMigrations.migrate(db.client, logger: logger) == [])
            let bookkeeping = try await db.client.query(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'tongban' AND tablename = 'schema_migrations'")
            #expect(try bookkeeping[0].decode(Int.self, at: 0) == 1)
            let views = try await ProjectionFixtures.contractViews(db.client)
            #expect(views.contains("v_identity"))
            // Every contract view is documented.
            let readme = try String(
                contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().appendingPathComponent("schemas/migrations/README.md"),
                encoding: .utf8)
            for view in views { #expect(readme.contains("tongban.\(view)"), "\(view) is documented") }
        }
    }

    /// What `tongban.view_state()` says.
    struct ViewState: Equatable {
        var ready: Bool
        var rebuilding = false
        var partitions: Int
        var behind = 0
        var deferred = 0
    }

    func viewState(_ connection: PostgresConnection) async throws -> ViewState {
        let rows = try await connection.query(
            "SELECT ready, rebuilding, partitions, partitions_behind, deferred_objects FROM tongban.view_state()")
        #expect(rows.count == 1)
        let row = rows[0]
        return ViewState(
            ready: try row.decode(Bool.self, at: 0), rebuilding: try row.decode(Bool.self, at: 1),
            partitions: Int(try row.decode(Int32.self, at: 2)), behind: Int(try row.decode(Int32.self, at: 3)),
            deferred: Int(try row.decode(Int32.self, at: 4)))
    }

    func count(_ table: String, _ connection: PostgresConnection) async throws -> Int {
        try await connection.query("SELECT count(*) FROM \(unescaped: table)")[0].decode(Int.self, at: 0)
    }
}
