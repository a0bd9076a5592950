public import Postgres

extension ViewStore {
    /// The tables of the `tongban` schema that are not views' content, which a rebuild never empties: positions, dead
    /// letters, migrations, what a rebuild deferred, the audit log of the certificate services' requests, and the
    /// registered clients.
    static let runtimeTables: Set<String> = [
        "checkpoint", "dead_letter", "rejected_offset", "schema_migrations", "rebuild_deferred", "audit_log",
        "api_client", "status_list", "certificate", "certificate_status_change", "recheck_position",
        "views_generation", "views_version",
    ]

    /// The version of the views' projectors: what they write for each event. Raise it whenever a projector in
    /// `Sources/Projections/Views` (or a fact table's columns) changes what the views hold for some event, so that a
    /// database whose views an earlier version built is told to rebuild (`tongban.views_version` records who built
    /// them; ``ViewsVersionCheck`` compares).
    public static let version = 1

    /// Empties the fact tables (and the applied-event ledger, unless `keepingLedger`), and moves this view group's
    /// checkpoints back to offset 0, keeping the verified watermarks, dead letters and rejected offsets. The next
    /// projector run then rebuilds the views from the start of the streams without verifying again what was verified
    /// (rebuild mode).
    ///
    /// Keeping the ledger, each checkpoint records where it stood (`ledger_through`), and below that the projector
    /// takes every event's decision and fact hash from the ledger instead of deciding it again: it writes the facts
    /// alone (see "Rebuilds" in `schemas/migrations/README.md`). That serves when the views' projectors changed; a
    /// full rebuild serves when the ledger itself is in doubt.
    ///
    /// The emptied tables lose their secondary indexes (those that are neither unique nor behind a constraint: only
    /// readers use them) and their autovacuum until the rebuild has caught up; `tongban.rebuild_deferred` records
    /// both, and ``finishRebuild(on:)``, which the projector calls, restores them. Building each index once at the end
    /// costs PostgreSQL less than keeping it up to date row by row (measured alone: about 7 µs per event kept up to
    /// date, about 4 µs built at the end), though it runs on one backend while the rest of the rebuild waits.
    ///
    /// - Important: readers see empty, then partial, views (without their indexes) until the rebuild has caught up;
    ///   ``ShadowRebuild`` rebuilds into a shadow copy while the live views keep serving.
    /// A watermark is trusted only by a projector with the key set that verified it (its fingerprint is recorded with
    /// it), and only while the topic holds the same message at its end; below it every event's key id is still looked
    /// up, so that a key revoked since refuses its events. `reverifying` drops that trust for good: the watermarks of
    /// this group's partitions, whichever view group recorded them, are then trusted by nobody, and every signature is
    /// verified again from offset 0 (the watermarks keep their offsets, so the rebuild's progress still shows).
    /// - Parameters:
    ///   - keepingLedger: whether to keep `tongban.event` and rebuild the facts from its decisions. Refused while
    ///     another view group has checkpoints (see ``RebuildRefusal``).
    ///   - reverifying: whether to verify every signature again, trusting no watermark.
    ///   - connection: a connection outside any transaction.
    /// - Throws: ``RebuildRefusal``, or `PostgresError`; nothing changes when it throws.
    public func resetForRebuild(
        keepingLedger: Bool = false, reverifying: Bool = false, on connection: PostgresConnection
    ) async throws {
        try await connection.withTransaction { connection in
            if keepingLedger {
                // Every group writes the same tables, and the ledger holds what each of them applied: the facts of
                // recorded events would be written by every group that rebuilds, and the events a group further on
                // applied would count as duplicates here, their facts written by nobody.
                let others = try await Self.otherViewGroups(than: viewGroup, on: connection)
                if !others.isEmpty { throw RebuildRefusal(otherViewGroups: others) }
            }
            let tables = try await connection.query(
                """
                SELECT c.relname, NOT EXISTS (
                    SELECT 1 FROM unnest(coalesce(c.reloptions, '{}')) AS o WHERE o LIKE 'autovacuum\\_enabled=%')
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'tongban' AND c.relkind = 'r' ORDER BY c.relname
                """
            ).map { (name: try $0.decode(String.self, at: 0), defaultAutovacuum: try $0.decode(Bool.self, at: 1)) }
                .filter { !Self.runtimeTables.contains($0.name) && !(keepingLedger && $0.name == Self.ledger.name) }
            let names = tables.map(\.name)
            let indexes = try await connection.query(
                """
                SELECT t.relname, c.relname, pg_get_indexdef(i.indexrelid)
                FROM pg_index i
                JOIN pg_class c ON c.oid = i.indexrelid
                JOIN pg_class t ON t.oid = i.indrelid
                JOIN pg_namespace n ON n.oid = t.relnamespace
                WHERE n.nspname = 'tongban' AND t.relname = ANY(\(names)) AND NOT i.indisunique AND NOT i.indisprimary
                    AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
                ORDER BY t.relname, c.relname
                """
            ).map {
                (
                    table: try $0.decode(String.self, at: 0), index: try $0.decode(String.self, at: 1),
                    definition: try $0.decode(String.self, at: 2)
                )
            }
            let quiet = tables.filter(\.defaultAutovacuum).map(\.name)
            // A rebuild started again before the last one finished keeps what that one recorded.
            try await connection.execute(
                """
                INSERT INTO tongban.rebuild_deferred (view_group, kind, table_name, object_name, definition)
                SELECT \(viewGroup), 'index', t, i, d FROM unnest(\(indexes.map(\.table))::text[],
                    \(indexes.map(\.index))::text[], \(indexes.map(\.definition))::text[]) AS v(t, i, d)
                UNION ALL
                SELECT \(viewGroup), 'autovacuum', t, t, NULL FROM unnest(\(quiet)::text[]) AS v(t)
                ON CONFLICT DO NOTHING
                """)
            var script = indexes.map { "DROP INDEX \(Self.qualified($0.index))" }
            script += quiet.map { "ALTER TABLE \(Self.qualified($0)) SET (autovacuum_enabled = false)" }
            if !names.isEmpty { script.append("TRUNCATE " + names.map(Self.qualified).joined(separator: ", ")) }
            if !script.isEmpty { _ = try await connection.executeScript(script.joined(separator: ";\n")) }
            if reverifying {
                try await connection.execute(
                    """
                    UPDATE tongban.checkpoint c SET verified_keys = NULL, verified_anchor = NULL
                    FROM tongban.checkpoint g
                    WHERE g.view_group = \(viewGroup) AND c.topic = g.topic AND c.partition = g.partition
                    """)
            }
            // Certificates are re-checked once the rebuilt views are ready (the re-checker compares generations).
            try await connection.execute("UPDATE tongban.views_generation SET generation = generation + 1")
            try await connection.execute(
                """
                UPDATE tongban.views_version SET version = \(Int32(Self.version)), built_at = now(),
                    built_by = 'in-place rebuild'
                """)
            // Kept, the ledger holds every event applied below the checkpoint (and below an unfinished rebuild's mark).
            try await connection.execute(
                """
                UPDATE tongban.checkpoint
                SET ledger_through = CASE WHEN \(keepingLedger) THEN greatest(ledger_through, next_offset) ELSE 0 END,
                    next_offset = 0, updated_at = now()
                WHERE view_group = \(viewGroup)
                """)
        }
    }

    /// The view groups other than `viewGroup` that have checkpoints, in order.
    /// - Parameters:
    ///   - viewGroup: the group left out.
    ///   - connection: a connection to the migrated database.
    /// - Returns: their names.
    /// - Throws: `PostgresError`.
    public static func otherViewGroups(than viewGroup: String, on connection: PostgresConnection) async throws
        -> [String]
    {
        try await connection.query(
            "SELECT DISTINCT view_group FROM tongban.checkpoint WHERE view_group <> \(viewGroup) ORDER BY view_group"
        ).map { try $0.decode(String.self, at: 0) }
    }

    /// Why a rebuild keeping the ledger was refused: other view groups have checkpoints. They write the same tables
    /// and the same ledger, so the kept ledger's decisions are not this group's alone.
    public struct RebuildRefusal: Error, CustomStringConvertible {
        /// The other view groups with checkpoints.
        public let otherViewGroups: [String]

        /// Creates the refusal.
        /// - Parameter otherViewGroups: the other view groups with checkpoints.
        public init(otherViewGroups: [String]) { self.otherViewGroups = otherViewGroups }

        public var description: String {
            "a rebuild keeping the ledger needs to be the only view group with checkpoints, but "
                + "\(otherViewGroups.joined(separator: ", ")) have checkpoints too: rebuild with --full, or delete "
                + "the checkpoints of groups no longer run (DELETE FROM tongban.checkpoint WHERE view_group = ...)"
        }
    }

    /// Whether `sql` is one `CREATE INDEX` statement, as `pg_get_indexdef` writes them (the table is named as the
    /// reset's search path showed it; the restore runs with `tongban` first in its path).
    static func isIndexDefinition(_ sql: String) -> Bool {
        sql.hasPrefix("CREATE INDEX ") && !sql.contains(";")
    }

    /// A table or index of the `tongban` schema, quoted for SQL text.
    private static func qualified(_ name: String) -> String {
        "tongban." + PostgresQuery.quoteIdentifier(name)
    }

    /// Where a rebuild of this view group stands, as ``finishRebuild(on:)`` found it.
    public enum RebuildProgress: Sendable, Equatable {
        /// Nothing is deferred (by any view group).
        case none
        /// A rebuild is under way: some checkpoint is still below its verified watermark.
        case pending
        /// The rebuild had caught up: just now, its `indexes` deferred indexes were built and autovacuum restored, on
        /// `tables` tables in all.
        case finished(indexes: Int, tables: Int)
    }

    /// Restores what ``resetForRebuild(keepingLedger:on:)`` deferred (the secondary indexes, autovacuum) once every
    /// checkpoint is back at its verified watermark, in one transaction.
    ///
    /// The tables are shared by every view group, so this is the database's state, as `tongban.view_state()` reads
    /// it: whichever group deferred them, the objects are restored once no checkpoint of any group is behind (a
    /// group no longer run, whose checkpoints an operator deleted, leaves nothing stuck).
    ///
    /// The tables are not analyzed here, where the ledger is locked: autovacuum, on again, refreshes their statistics
    /// in the background within a minute or so (`autovacuum_naptime`), without blocking writers.
    ///
    /// Call it after a batch commits, outside any transaction; concurrent callers are serialized, and only one builds.
    /// Building the indexes blocks other writers of the views (not readers) for the few seconds it takes.
    /// - Parameter connection: a connection outside any transaction.
    /// - Returns: what was found, and done.
    /// - Throws: `PostgresError`; nothing is restored when it throws (call it again).
    @discardableResult
    public func finishRebuild(on connection: PostgresConnection) async throws -> RebuildProgress {
        try await connection.withTransaction { connection in
            // Row locks: a second caller waits here, then finds the rows gone.
            let deferred = try await connection.query(
                """
                SELECT kind, table_name, definition FROM tongban.rebuild_deferred ORDER BY kind, object_name FOR UPDATE
                """
            ).map {
                (
                    kind: try $0.decode(String.self, at: 0), table: try $0.decode(String.self, at: 1),
                    definition: try $0.decode(String?.self, at: 2)
                )
            }
            guard !deferred.isEmpty else { return .none }
            // The very count certificate services read (one definition of "behind" for both).
            let behind = try await connection.query("SELECT partitions_behind::int8 FROM tongban.view_state()")
            guard try behind[0].decode(Int64.self, at: 0) == 0 else { return .pending }
            // The ledger first: an apply that writes it does so before any fact table, and one that only reads it (of
            // recorded events) never waits for it, so no apply can hold a fact table this transaction is about to lock
            // while waiting for one it holds.
            var script = ["SET LOCAL search_path = tongban, pg_catalog", "LOCK TABLE tongban.event IN SHARE MODE"]
            let indexes = deferred.filter { $0.kind == "index" }.compactMap(\.definition)
            // Run as they are read: only what resetForRebuild wrote there (pg_get_indexdef) may run.
            if let odd = indexes.first(where: { !Self.isIndexDefinition($0) }) {
                throw PostgresError(
                    .query,
                    "tongban.rebuild_deferred holds a definition that is not one CREATE INDEX statement, "
                        + "so nothing was restored: \(odd.prefix(120))")
            }
            script += indexes
            script += deferred.filter { $0.kind == "autovacuum" }.map {
                "ALTER TABLE \(Self.qualified($0.table)) RESET (autovacuum_enabled)"
            }
            _ = try await connection.executeScript(script.joined(separator: ";\n"))
            try await connection.execute("DELETE FROM tongban.rebuild_deferred")
            return .finished(indexes: indexes.count, tables: Set(deferred.map(\.table)).count)
        }
    }
}
