public import Postgres

extension ViewStore {
    /// The tables of the `tongban` schema that are not views' content: positions, dead letters, migrations.
    static let runtimeTables: Set<String> = ["checkpoint", "dead_letter", "rejected_offset", "schema_migrations"]

    /// Empties the fact tables and the applied-event ledger, and moves this view group's checkpoints back to
    /// offset 0, keeping the verified watermarks, dead letters and rejected offsets. The next projector run then
    /// rebuilds the views from the start of the streams without verifying again what was verified (rebuild mode).
    ///
    /// - Important: readers see empty views until the rebuild has caught up; rebuilding into a shadow copy while
    ///   the live views keep serving is not built yet.
    /// - Parameter connection: a connection outside any transaction.
    /// - Throws: `PostgresError`; nothing changes when it throws.
    public func resetForRebuild(on connection: PostgresConnection) async throws {
        try await connection.withTransaction { connection in
            let tables = try await connection.query(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'tongban' ORDER BY tablename"
            ).map { try $0.decode(String.self, at: 0) }.filter { !Self.runtimeTables.contains($0) }
            if !tables.isEmpty {
                try await connection.executeScript(
                    "TRUNCATE " + tables.map { "tongban." + PostgresQuery.quoteIdentifier($0) }.joined(separator: ", "))
            }
            try await connection.execute(
                "UPDATE tongban.checkpoint SET next_offset = 0, updated_at = now() WHERE view_group = \(viewGroup)")
        }
    }
}
