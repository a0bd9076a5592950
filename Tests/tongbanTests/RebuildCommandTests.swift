import ArgumentParser
import Foundation
import Logging
import Postgres
import Projections
import Testing
import TongbanTesting

@testable import tongban

@Suite("tongban rebuild", .sharedMachine)
struct RebuildCommandTests {
    @Test("#4 tongban rebuild needs its kind, says what it would do, does it only with --yes, keeps a ledger alone")
    func rebuild() async throws {
        #expect(throws: (any Error).self) { try RebuildCommand.parse([]) }
        #expect(throws: (any Error).self) { try RebuildCommand.parse(["--keep-ledger", "--full"]) }
        try await withTestDatabase { db in
            let logger = Logger(label: "test")
            let dryRun = try RebuildCommand.parse(["--keep-ledger", "--in-place"])
            var said: [String] = []
            // Migrates first, then only says what it would do.
            await #expect(throws: CommandFailure.self) {
                try await dryRun.perform(database: db.client, logger: logger) { said.append($0) }
            }
            try await db.client.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                VALUES ('tongban.views', 'tongban.household', 0, 42, 42), ('other.views', 'tongban.household', 0, 7, 7)
                """)
            said = []
            await #expect(throws: CommandFailure.self) {
                try await dryRun.perform(database: db.client, logger: logger) { said.append($0) }
            }
            #expect(said.contains { $0.contains("1 partitions would go back to offset 0") })
            #expect(try await checkpoint(db.client, "tongban.views") == [42, 0])

            // Another view group writes the same tables and ledger: keeping the ledger is refused, even with --yes.
            let keeping = try RebuildCommand.parse(["--keep-ledger", "--in-place", "--yes"])
            await #expect {
                try await keeping.perform(database: db.client, logger: logger) { _ in }
            } throws: { error in
                "\(error)".contains("other.views have checkpoints too") && "\(error)".contains("--full")
            }
            await #expect(throws: ViewStore.RebuildRefusal.self) {
                try await db.client.withConnection {
                    try await ViewStore().resetForRebuild(keepingLedger: true, on: $0)
                }
            }
            #expect(try await checkpoint(db.client, "tongban.views") == [42, 0])
            #expect(try await checkpoint(db.client, "other.views") == [7, 0])

            // A full rebuild only warns.
            said = []
            await #expect(throws: CommandFailure.self) {
                try await RebuildCommand.parse(["--full", "--in-place"]).perform(database: db.client, logger: logger) {
                    said.append($0)
                }
            }
            #expect(said.contains { $0.contains("view groups other.views have checkpoints too") })

            // Alone, the group keeps the ledger.
            try await db.client.execute("DELETE FROM tongban.checkpoint WHERE view_group = 'other.views'")
            try await keeping.perform(database: db.client, logger: logger) { said.append($0) }
            #expect(try await checkpoint(db.client, "tongban.views") == [0, 42])
            try await RebuildCommand.parse(["--full", "--in-place", "--yes"]).perform(
                database: db.client, logger: logger
            ) { _ in }
            #expect(try await checkpoint(db.client, "tongban.views") == [0, 0])
        }
    }

    /// `next_offset` and `ledger_through` of a view group's one checkpoint.
    func checkpoint(_ client: PostgresClient, _ group: String) async throws -> [Int64] {
        let rows = try await client.query(
            "SELECT next_offset, ledger_through FROM tongban.checkpoint WHERE view_group = \(group)")
        return [try rows[0].decode(Int64.self, at: 0), try rows[0].decode(Int64.self, at: 1)]
    }
}
