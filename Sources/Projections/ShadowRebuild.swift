public import Foundation
import Kafka
public import Postgres

/// A rebuild that never takes the views away: the views' tables are rebuilt from offset 0 into a shadow copy
/// (schema ``shadowSchema``) while the live views keep serving and keep projecting, and the copy is swapped in, in
/// one short transaction, once it has caught up with the live position.
///
/// What is copied and what is swapped:
/// - The *view tables* are every table of the `tongban` schema that is not a runtime table
///   (``ViewStore/runtimeTables``): the fact tables and the applied-event ledger. The shadow gets each with the same
///   columns, defaults, checks, keys, unique indexes, foreign keys and grants; the other indexes (which only readers
///   use) are built once, when the shadow has caught up (``finishLoad(on:)``), and the tables analyzed.
/// - The shadow has its own `checkpoint` (this view group's rows, moved back to offset 0, with the verified
///   watermarks kept unless the rebuild re-verifies), `rejected_offset` (a copy: what was rejected stays rejected) and
///   `dead_letter` (empty; what the shadow dead-letters is merged into the live table at the swap). Nothing in
///   `tongban` counts it: `tongban.view_state()` stays `ready`, and the certificate re-checker never sees its events.
/// - Keeping the ledger, the shadow starts from a copy of `tongban.event` read in the same snapshot as the
///   checkpoints, and writes only the facts again below where they stood (as ``ViewStore/resetForRebuild(keepingLedger:reverifying:on:)``
///   does in place).
///
/// The swap (``swap(on:catchUpTimeout:stopWriters:)``) pauses the live projectors between batches (they take a
/// shared advisory lock, ``swapLockKey``, at the start of every batch; the swap takes it exclusively), waits for the
/// shadow to reach their position, stops the shadow's writers, and then, holding every view table and every view that
/// reads them, moves the live tables to ``previousSchema`` and the shadow's into `tongban`, points the views at them
/// again (`CREATE OR REPLACE VIEW` with the definitions they had), and moves this view group's checkpoints to the
/// shadow's. Readers wait only for that last part (tens of milliseconds); a reader never sees a mix, an empty or a
/// partial view. Readers are never made to fail: the swap takes its locks with a short `lock_timeout` and tries again
/// rather than wait behind a reader that holds one of them.
///
/// The previous copy is kept until ``dropPrevious(on:)`` (`tongban rebuild --drop-previous`), so that
/// ``swapBack(on:)`` can put it back. Every step is a transaction: a rebuild killed at any moment resumes from the
/// shadow's checkpoints (``prepare(keepingLedger:reverifying:version:on:)`` finds the shadow and goes on with it).
public struct ShadowRebuild: Sendable {
    /// The schema the shadow copy is built in.
    public static let shadowSchema = "tongban_shadow"
    /// The schema the views swapped out are kept in.
    public static let previousSchema = "tongban_previous"
    /// The advisory lock the live projectors take shared at the start of every batch, and a swap exclusively:
    /// `0x746F6E6762616E53`, ASCII "tongbanS".
    public static let swapLockKey: Int64 = 0x746F_6E67_6261_6E53
    /// The advisory lock a `tongban rebuild` process holds for as long as it runs, so that two never build one
    /// shadow: `0x746F6E6762616E52`, ASCII "tongbanR".
    public static let processLockKey: Int64 = 0x746F_6E67_6261_6E52

    /// The view group whose checkpoints the shadow starts from and replaces.
    public let viewGroup: String

    /// Creates the rebuild of a view group.
    /// - Parameter viewGroup: the checkpoint group (`tongban project --view-group`).
    public init(viewGroup: String = "tongban.views") {
        self.viewGroup = viewGroup
    }

    // MARK: - The shadow

    /// A shadow copy being built, as its `rebuild` row records it.
    public struct Shadow: Sendable, Equatable {
        /// The view group it rebuilds.
        public var viewGroup: String
        /// Whether it started from a copy of the ledger (writing only the facts again below where they stood).
        public var keepingLedger: Bool
        /// Whether every signature is verified again.
        public var reverifying: Bool
        /// The views' version of the code that started it (``ViewStore/version``).
        public var version: Int
        /// When it was started.
        public var startedAt: Date
        /// Whether it existed already (a rebuild resumed), rather than being created now.
        public var resumed: Bool
    }

    /// Why a shadow rebuild cannot start or go on, in words for the operator.
    public struct Refusal: Error, CustomStringConvertible {
        /// What is wrong and what to do.
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The shadow copy being built, if there is one.
    /// - Parameter connection: any connection.
    /// - Returns: the shadow, or nil.
    /// - Throws: `PostgresError`.
    public static func existing(on connection: PostgresConnection) async throws -> Shadow? {
        let exists = try await connection.query(
            "SELECT to_regclass(\(shadowSchema + ".rebuild")) IS NOT NULL")
        guard try exists[0].decode(Bool.self, at: 0) else { return nil }
        let rows = try await connection.query(
            """
            SELECT view_group, keeping_ledger, reverifying, version, started_at
            FROM \(unescaped: shadowSchema).rebuild
            """)
        guard let row = rows.first else { return nil }
        return Shadow(
            viewGroup: try row.decode(String.self, at: 0), keepingLedger: try row.decode(Bool.self, at: 1),
            reverifying: try row.decode(Bool.self, at: 2), version: Int(try row.decode(Int32.self, at: 3)),
            startedAt: try row.decode(Date.self, at: 4), resumed: true)
    }

    /// Creates the shadow copy, or finds the one a killed rebuild left and goes on with it (its own settings win).
    ///
    /// Refused while an in-place rebuild is under way (the views are not ready: the shadow would copy a partial
    /// state's checkpoints), while another view group has checkpoints (every group writes the same tables), while a
    /// materialized view reads the view tables (it cannot be pointed at the new ones), and when the shadow left behind
    /// belongs to another view group.
    /// - Parameters:
    ///   - keepingLedger: start from a copy of the ledger, writing only the facts again below where they stood.
    ///   - reverifying: trust no verified watermark: verify every signature again.
    ///   - version: the views' version of this code (``ViewStore/version``), recorded with the shadow.
    ///   - connection: a connection outside any transaction.
    /// - Returns: the shadow.
    /// - Throws: ``Refusal``, or `PostgresError`; nothing is created when it throws.
    public func prepare(
        keepingLedger: Bool, reverifying: Bool, version: Int = ViewStore.version, on connection: PostgresConnection
    ) async throws -> Shadow {
        if let found = try await Self.existing(on: connection) {
            guard found.viewGroup == viewGroup else {
                throw Refusal(
                    "a shadow rebuild of view group \(found.viewGroup) is unfinished: finish it, or discard it "
                        + "(tongban rebuild --discard-shadow --view-group \(found.viewGroup))")
            }
            guard found.version == version else {
                throw Refusal(
                    "the unfinished shadow rebuild was started by code writing version \(found.version) of the views, "
                        + "and this binary writes version \(version): discard it (tongban rebuild --discard-shadow "
                        + "--yes) and start again")
            }
            return found
        }
        return try await connection.withTransaction(isolation: .repeatableRead) { connection in
            // One snapshot for the checkpoints and the ledger: a batch commits both, so the copy is consistent.
            try await connection.execute("SET LOCAL search_path = pg_catalog")
            let state = try await connection.query("SELECT rebuilding FROM tongban.view_state()")
            if try state[0].decode(Bool.self, at: 0) {
                throw Refusal(
                    "an in-place rebuild is under way (tongban.view_state() says rebuilding): let it finish first")
            }
            let others = try await ViewStore.otherViewGroups(than: viewGroup, on: connection)
            if !others.isEmpty {
                throw Refusal(
                    "view groups \(others.joined(separator: ", ")) have checkpoints too; they write the same tables, "
                        + "so a shadow of \(viewGroup) alone would leave their facts out: delete the checkpoints of "
                        + "groups no longer run (DELETE FROM tongban.checkpoint WHERE view_group = ...)")
            }
            let tables = try await Self.viewTables(on: connection)
            let materialized = try await connection.query(
                """
                SELECT DISTINCT v.oid::regclass::text
                FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
                WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
                    AND d.refobjid = ANY(\(tables.map { "tongban." + $0 })::regclass[]) AND v.relkind = 'm'
                """
            ).map { try $0.decode(String.self, at: 0) }
            if !materialized.isEmpty {
                throw Refusal(
                    "materialized views \(materialized.joined(separator: ", ")) read the view tables and could not be "
                        + "pointed at the rebuilt ones: drop them, or rebuild in place (--in-place)")
            }
            try await Self.refuseWhatCannotMove(tables: tables, on: connection)
            try await createShadow(tables: tables, keepingLedger: keepingLedger, on: connection)
            try await connection.execute(
                """
                INSERT INTO \(unescaped: Self.shadowSchema).rebuild (view_group, keeping_ledger, reverifying, version,
                    migration)
                VALUES (\(viewGroup), \(keepingLedger), \(reverifying), \(Int32(version)),
                    (SELECT max(version) FROM tongban.schema_migrations))
                """)
            if reverifying {
                try await connection.execute(
                    """
                    UPDATE \(unescaped: Self.shadowSchema).checkpoint SET verified_keys = NULL, verified_anchor = NULL
                    """)
            }
            let started = try await connection.query(
                "SELECT started_at FROM \(unescaped: Self.shadowSchema).rebuild")
            return Shadow(
                viewGroup: viewGroup, keepingLedger: keepingLedger, reverifying: reverifying, version: version,
                startedAt: try started[0].decode(Date.self, at: 0), resumed: false)
        }
    }

    /// The view tables: the tables of the `tongban` schema that are not runtime tables, sorted.
    /// - Parameter connection: any connection.
    /// - Returns: their names, without the schema.
    /// - Throws: ``Refusal`` when one has a name that would need quoting (the rebuild writes the names into DDL; Tongban's
    ///   own tables never do), or `PostgresError`.
    public static func viewTables(on connection: PostgresConnection) async throws -> [String] {
        let names = try await connection.query(
            """
            SELECT c.relname FROM pg_class c
            WHERE c.relnamespace = 'tongban'::regnamespace AND c.relkind = 'r'
                AND NOT c.relname = ANY(\(Array(ViewStore.runtimeTables)))
            ORDER BY c.relname
            """
        ).map { try $0.decode(String.self, at: 0) }
        // Only the tables the projectors write are swapped: anything else would be swapped for an empty copy.
        let known = Set([ViewStore.ledger.name] + ViewProjectors.tables.map(\.name))
        if let odd = names.first(where: { !known.contains($0) }) {
            throw Refusal(
                "the table tongban.\(PostgresQuery.quoteIdentifier(odd)) is neither one the projectors write nor one "
                    + "of Tongban's runtime tables: move it out of the tongban schema before rebuilding into a shadow "
                    + "copy (it would be swapped for an empty one)")
        }
        return names
    }

    /// Refuses what a swap could not carry over to the rebuilt tables: triggers, row security policies and extended
    /// statistics on the view tables, and views over them that this role may not redefine.
    private static func refuseWhatCannotMove(tables: [String], on connection: PostgresConnection) async throws {
        let found = try await connection.query(
            """
            WITH t AS (SELECT oid FROM pg_class WHERE relnamespace = 'tongban'::regnamespace AND relname = ANY(\(tables)))
            SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid IN (SELECT oid FROM t) AND NOT tgisinternal
            UNION ALL SELECT 'policy ' || polname FROM pg_policy WHERE polrelid IN (SELECT oid FROM t)
            UNION ALL SELECT 'statistics ' || stxname FROM pg_statistic_ext WHERE stxrelid IN (SELECT oid FROM t)
            UNION ALL
            SELECT DISTINCT 'view ' || v.oid::regclass::text || ' (owned by another role)'
            FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
            WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
                AND d.refobjid IN (SELECT oid FROM t) AND v.relkind = 'v' AND NOT pg_has_role(v.relowner, 'USAGE')
            """
        ).map { try $0.decode(String.self, at: 0) }
        if !found.isEmpty {
            throw Refusal(
                "a shadow copy could not carry over \(found.joined(separator: ", ")) on the view tables: remove them "
                    + "(or run the rebuild as their owner), or rebuild in place (--in-place)")
        }
    }

    /// Creates the shadow schema and its tables, inside the caller's transaction.
    private func createShadow(tables: [String], keepingLedger: Bool, on connection: PostgresConnection)
        async throws
    {
        let shadow = Self.shadowSchema
        var script = ["CREATE SCHEMA \(shadow)"]
        for table in tables {
            script.append(
                """
                CREATE TABLE \(shadow).\(table) (LIKE tongban.\(table) INCLUDING DEFAULTS INCLUDING GENERATED \
                INCLUDING IDENTITY INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION \
                INCLUDING STATISTICS INCLUDING COMMENTS) WITH (autovacuum_enabled = false)
                """)
        }
        for runtime in ["checkpoint", "rejected_offset", "dead_letter"] {
            script.append("CREATE TABLE \(shadow).\(runtime) (LIKE tongban.\(runtime) INCLUDING ALL)")
        }
        script.append(
            """
            CREATE TABLE \(shadow).rebuild (
                view_group text NOT NULL, keeping_ledger boolean NOT NULL, reverifying boolean NOT NULL,
                version int NOT NULL, migration bigint, started_at timestamptz NOT NULL DEFAULT now())
            """)
        script.append("CREATE TABLE \(shadow).deferred_index (table_name text NOT NULL, definition text NOT NULL)")
        _ = try await connection.executeScript(script.joined(separator: ";\n"))
        // Positions: back to offset 0, keeping the watermarks (and, keeping the ledger, where it stood).
        try await connection.execute(
            """
            INSERT INTO \(unescaped: shadow).checkpoint (view_group, topic, partition, next_offset, verified_through,
                verified_keys, verified_anchor, ledger_through, updated_at)
            SELECT view_group, topic, partition, 0, verified_through, verified_keys, verified_anchor,
                CASE WHEN \(keepingLedger) THEN greatest(ledger_through, next_offset) ELSE 0 END, now()
            FROM tongban.checkpoint WHERE view_group = \(viewGroup)
            """)
        try await connection.execute(
            "INSERT INTO \(unescaped: shadow).rejected_offset SELECT * FROM tongban.rejected_offset")
        if keepingLedger {
            let columns = try await Self.writableColumns(of: ViewStore.ledger.name, on: connection)
            try await connection.execute(
                PostgresQuery(
                    unsafeSQL:
                        "INSERT INTO \(shadow).event (\(columns)) SELECT \(columns) FROM tongban.event"))
        }
        // Keys and checks after the copy (faster than row by row), then foreign keys, then unique indexes; the other
        // indexes wait until the shadow has caught up.
        let constraints = try await connection.query(
            """
            SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid)
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            WHERE c.relnamespace = 'tongban'::regnamespace AND c.relname = ANY(\(tables)) AND k.contype IN ('p', 'u', 'x', 'f')
            ORDER BY k.contype = 'f', c.relname, k.conname
            """
        ).map {
            (
                table: try $0.decode(String.self, at: 0), name: try $0.decode(String.self, at: 1),
                kind: try $0.decode(String.self, at: 2), definition: try $0.decode(String.self, at: 3)
            )
        }
        var keys: [String] = []
        for constraint in constraints {
            var definition = constraint.definition
            if constraint.kind == "f" {
                // A reference to another view table follows it into the shadow; one to a runtime table stays.
                for table in tables {
                    definition = definition.replacingOccurrences(
                        of: "REFERENCES tongban.\(table)(", with: "REFERENCES \(shadow).\(table)(")
                }
            }
            keys.append(
                "ALTER TABLE \(shadow).\(constraint.table) ADD CONSTRAINT "
                    + "\(PostgresQuery.quoteIdentifier(constraint.name)) \(definition)")
        }
        let indexes = try await connection.query(
            """
            SELECT t.relname, i.indisunique, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.relnamespace = 'tongban'::regnamespace AND t.relname = ANY(\(tables))
                AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
            ORDER BY t.relname, i.indexrelid
            """
        ).map {
            (
                table: try $0.decode(String.self, at: 0), unique: try $0.decode(Bool.self, at: 1),
                definition: try $0.decode(String.self, at: 2)
            )
        }
        var deferred: [(table: String, definition: String)] = []
        for index in indexes {
            guard let definition = Self.shadowIndexDefinition(index.definition, table: index.table) else {
                throw Refusal("cannot copy the index definition \(index.definition.prefix(160)) into the shadow")
            }
            if index.unique { keys.append(definition) } else { deferred.append((index.table, definition)) }
        }
        // Grants, written by the server itself (format %I quotes every name).
        let grants = try await connection.query(
            """
            SELECT format('GRANT %s ON %I.%I TO %s%s', a.privilege_type, \(shadow)::text, c.relname,
                CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
            FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
            WHERE c.relnamespace = 'tongban'::regnamespace AND c.relname = ANY(\(tables)) AND a.grantee <> c.relowner
            """
        ).map { try $0.decode(String.self, at: 0) }
        keys += grants
        // The live tables' owner and comments (the views' owner reads the tables with its own rights).
        keys += try await connection.query(
            """
            SELECT format('ALTER TABLE %I.%I OWNER TO %I', \(shadow)::text, c.relname, pg_get_userbyid(c.relowner))
            FROM pg_class c
            WHERE c.relnamespace = 'tongban'::regnamespace AND c.relname = ANY(\(tables))
                AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
            UNION ALL
            SELECT format('COMMENT ON TABLE %I.%I IS %L', \(shadow)::text, c.relname, obj_description(c.oid, 'pg_class'))
            FROM pg_class c
            WHERE c.relnamespace = 'tongban'::regnamespace AND c.relname = ANY(\(tables))
                AND obj_description(c.oid, 'pg_class') IS NOT NULL
            """
        ).map { try $0.decode(String.self, at: 0) }
        if !keys.isEmpty { _ = try await connection.executeScript(keys.joined(separator: ";\n")) }
        try await connection.execute(
            """
            INSERT INTO \(unescaped: shadow).deferred_index (table_name, definition)
            SELECT * FROM unnest(\(deferred.map(\.table))::text[], \(deferred.map(\.definition))::text[])
            """)
    }

    /// `definition` (as `pg_get_indexdef` writes it, the table qualified by `tongban`) for the same index on the
    /// shadow's copy of `table`, or nil when it does not have that form.
    static func shadowIndexDefinition(_ definition: String, table: String) -> String? {
        guard definition.hasPrefix("CREATE INDEX ") || definition.hasPrefix("CREATE UNIQUE INDEX "),
            !definition.contains(";")
        else { return nil }
        for on in [" ON tongban.\(table) ", " ON ONLY tongban.\(table) "] {
            if let range = definition.range(of: on) {
                let replacement = on.replacingOccurrences(of: "tongban.", with: shadowSchema + ".")
                return definition.replacingCharacters(in: range, with: replacement)
            }
        }
        return nil
    }

    /// The columns of a `tongban` table that can be inserted into (not generated), quoted and comma-separated.
    private static func writableColumns(of table: String, on connection: PostgresConnection) async throws -> String {
        let rows = try await connection.query(
            """
            SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
            WHERE a.attrelid = (\("tongban." + table))::regclass AND a.attnum > 0 AND NOT a.attisdropped
                AND a.attgenerated = ''
            """)
        return try rows[0].decode(String.self, at: 0)
    }

    // MARK: - Progress

    /// Where one partition stands in the live views and in the shadow.
    public struct PartitionProgress: Sendable, Equatable {
        /// The topic.
        public var topic: String
        /// The partition.
        public var partition: Int32
        /// The live checkpoint's next offset (nil: the live views have none).
        public var live: Int64?
        /// The shadow's (nil: it has read nothing of it yet).
        public var shadow: Int64?

        /// Whether the shadow has reached the live position here.
        public var caughtUp: Bool {
            guard let live else { return true }
            return (shadow ?? 0) >= live
        }
    }

    /// Where the shadow stands against the live views, per partition.
    public struct Progress: Sendable, Equatable {
        /// One entry per partition with a live or a shadow checkpoint, by topic and partition.
        public var partitions: [PartitionProgress]

        /// Whether the shadow has reached the live position on every partition.
        public var caughtUp: Bool { partitions.allSatisfy(\.caughtUp) }
        /// Whether the shadow stands exactly where the live views do, on every partition.
        public var level: Bool { partitions.allSatisfy { $0.live == $0.shadow || ($0.live == nil && $0.shadow == 0) } }
        /// The events the shadow has read, summed over the partitions.
        public var shadowOffsets: Int64 { partitions.reduce(0) { $0 + ($1.shadow ?? 0) } }
        /// The live position, summed over the partitions.
        public var liveOffsets: Int64 { partitions.reduce(0) { $0 + ($1.live ?? 0) } }
    }

    /// Where the shadow stands against the live views.
    /// - Parameter connection: any connection.
    /// - Returns: the progress.
    /// - Throws: `PostgresError` (the shadow must exist).
    public func progress(on connection: PostgresConnection) async throws -> Progress {
        let rows = try await connection.query(
            """
            SELECT coalesce(l.topic, s.topic), coalesce(l.partition, s.partition), l.next_offset, s.next_offset
            FROM (SELECT topic, partition, next_offset FROM tongban.checkpoint WHERE view_group = \(viewGroup)) l
            FULL JOIN (SELECT topic, partition, next_offset FROM \(unescaped: Self.shadowSchema).checkpoint
                WHERE view_group = \(viewGroup)) s ON s.topic = l.topic AND s.partition = l.partition
            ORDER BY 1, 2
            """)
        return Progress(
            partitions: try rows.map {
                PartitionProgress(
                    topic: try $0.decode(String.self, at: 0), partition: try $0.decode(Int32.self, at: 1),
                    live: try $0.decode(Int64?.self, at: 2), shadow: try $0.decode(Int64?.self, at: 3))
            })
    }

    /// Builds the indexes the shadow was created without, and vacuums and analyzes its tables, so that readers find the
    /// views as fast as before from the first query after the swap. Stop the shadow's writers first (an index build
    /// and a batch lock the tables in different orders). Readers of the live views are not touched.
    /// - Parameter connection: a connection outside any transaction.
    /// - Returns: how many indexes were built now.
    /// - Throws: `PostgresError`.
    @discardableResult
    public func finishLoad(on connection: PostgresConnection) async throws -> Int {
        let shadow = Self.shadowSchema
        let built = try await connection.withTransaction { connection in
            let deferred = try await connection.query(
                "DELETE FROM \(unescaped: shadow).deferred_index RETURNING table_name, definition"
            ).map { (table: try $0.decode(String.self, at: 0), definition: try $0.decode(String.self, at: 1)) }
            guard !deferred.isEmpty else { return 0 }
            // Only definitions written by createShadow (pg_get_indexdef, moved to the shadow) may run.
            if let odd = deferred.first(where: { !Self.isShadowIndexDefinition($0.definition, table: $0.table) }) {
                throw Refusal(
                    "\(shadow).deferred_index holds a definition that is not one CREATE INDEX on the shadow, so "
                        + "nothing was built: \(odd.definition.prefix(120))")
            }
            _ = try await connection.executeScript(deferred.map(\.definition).joined(separator: ";\n"))
            return deferred.count
        }
        // Vacuumed and analyzed here, each table on its own (VACUUM runs outside a transaction): autovacuum stays off on
        // the shadow until the swap, which turns it back on; a vacuum holding one of these tables would otherwise make
        // every attempt of the swap to take them give way.
        for table in try await Self.viewTables(on: connection) {
            _ = try await connection.executeScript("VACUUM (ANALYZE) \(shadow).\(table)")
        }
        return built
    }

    /// Whether `sql` is one `CREATE INDEX` statement on the shadow's copy of `table`.
    static func isShadowIndexDefinition(_ sql: String, table: String) -> Bool {
        sql.hasPrefix("CREATE INDEX ") && !sql.contains(";") && sql.contains(" ON \(shadowSchema).\(table) ")
    }

    // MARK: - Swap

    /// How a swap went.
    public enum SwapOutcome: Sendable, Equatable {
        /// Swapped: readers were held for `readersHeld` (from the moment every lock was held to the commit), live
        /// writers for `writersHeld`.
        case swapped(readersHeld: Duration, writersHeld: Duration, progress: Progress)
        /// The shadow did not reach the live position within the time allowed; nothing changed (run it longer).
        case behind(Progress)
        /// Readers kept holding the views for every attempt to take them; nothing changed (try again).
        case busy(attempts: Int)
    }

    /// Swaps the caught-up shadow in, in one transaction, keeping the live copy in ``previousSchema``.
    ///
    /// 1. Takes ``swapLockKey`` exclusively: live projectors finish the batch in hand and wait before their next
    ///    (readers are not touched).
    /// 2. Waits up to `catchUpTimeout` for the shadow to reach the live position (its projector still runs).
    /// 3. Calls `stopWriters`, which must stop every writer of the shadow before it returns.
    /// 4. Takes, each attempt with a short `lock_timeout` (a reader holding one makes the attempt give way, never the
    ///    reader fail): the `views_generation` row (the certificate re-checker holds it through a round that reads
    ///    the ledger), then every view table (live and shadow), every view that reads them, the shadow's other tables
    ///    and the previous copy's (see ``take(_:vacuumable:attempts:on:)``: an autovacuum in the way is cancelled by
    ///    the server first, without holding anything a reader needs). From here readers wait.
    /// 5. Checks again the positions, the view groups and the migrations; drops the previous copy, moves the live
    ///    tables to ``previousSchema`` and the shadow's into `tongban`, points the views at them (with the options they
    ///    had), turns autovacuum back on, moves this view group's checkpoints to the shadow's (a live projector notices
    ///    within a second and goes on from there), merges the shadow's dead letters, records the views' version, and
    ///    asks the certificate re-checker to re-check every certificate against the new views.
    ///
    /// When it returns `.behind` or `.busy`, or throws, nothing changed, and the caller starts the shadow's writers
    /// again.
    /// - Parameters:
    ///   - connection: a connection outside any transaction.
    ///   - catchUpTimeout: how long the live projectors may be paused while the shadow catches up.
    ///   - lockAttempts: how many times to try to take the views from their readers.
    ///   - stopWriters: stops the shadow's projector (its last batch commits).
    ///   - newDeadLetters: called after the commit with the shadow's dead letters that the live views had not
    ///     recorded (events the rebuilt views refuse), to tell their departments.
    /// - Returns: the outcome.
    /// - Throws: `PostgresError`, ``Refusal``; nothing changes when it throws.
    public func swap(
        on connection: PostgresConnection, catchUpTimeout: Duration = .seconds(10), lockAttempts: Int = 50,
        stopWriters: @Sendable () async throws -> Void,
        newDeadLetters: @Sendable ([DeadLetter]) async -> Void = { _ in }
    ) async throws -> SwapOutcome {
        guard let shadow = try await Self.existing(on: connection), shadow.viewGroup == viewGroup else {
            throw Refusal("there is no shadow copy of view group \(viewGroup) to swap in")
        }
        return try await inSwapTransaction(lockAttempts: lockAttempts, on: connection) { writersPaused in
            var progress = try await self.progress(on: connection)
            let deadline = ContinuousClock.now + catchUpTimeout
            while !progress.caughtUp && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                progress = try await self.progress(on: connection)
            }
            guard progress.caughtUp else {
                await connection.rollbackQuietly()
                return .behind(progress)
            }
            try await stopWriters()
            let tables = try await Self.viewTables(on: connection)
            let live = tables.map { "tongban.\($0)" }
            let views = try await Self.dependentViews(of: live, on: connection)
            let previousTables = try await Self.tables(in: Self.previousSchema, on: connection)
            // Views first, as a reader's statement locks them (the view, then the views and tables under it): one that
            // has its view waits for nothing the swap holds, and one that has not waits before it holds anything.
            let relations =
                views.map(\.name) + live + tables.map { "\(Self.shadowSchema).\($0)" }
                + ["checkpoint", "rejected_offset", "dead_letter", "rebuild", "deferred_index"].map {
                    "\(Self.shadowSchema).\($0)"
                } + previousTables.map { "\(Self.previousSchema).\($0)" }
            let vacuumable = live + tables.map { "\(Self.shadowSchema).\($0)" }
            guard try await Self.take(relations, vacuumable: vacuumable, attempts: lockAttempts, on: connection)
            else {
                await connection.rollbackQuietly()
                return .busy(attempts: lockAttempts)
            }
            let readersHeld = ContinuousClock.now
            // A writer that skipped the advisory lock (an older binary) may have moved on before the tables were
            // taken; a view group or a migration may have come since the shadow was made.
            progress = try await self.progress(on: connection)
            guard progress.caughtUp else {
                await connection.rollbackQuietly()
                return .behind(progress)
            }
            try await refuseChangesSince(shadow, on: connection)
            var script = ["SET LOCAL search_path = pg_catalog"]
            if !previousTables.isEmpty {
                script.append(
                    "DROP TABLE " + previousTables.map { "\(Self.previousSchema).\($0)" }.joined(separator: ", "))
            }
            script.append("DROP SCHEMA IF EXISTS \(Self.previousSchema)")
            script.append("CREATE SCHEMA \(Self.previousSchema)")
            let options = try await Self.tableOptions(of: tables, on: connection)
            script += Self.exchange(
                tables: tables, out: Self.previousSchema, in: Self.shadowSchema, views: views)
            script += tables.map { "ALTER TABLE tongban.\($0) RESET (autovacuum_enabled)" } + options
            _ = try await connection.executeScript(script.joined(separator: ";\n"))
            try await keep(tablesOf: Self.previousSchema, on: connection)
            try await moveCheckpoints(from: Self.shadowSchema, on: connection)
            let letters = try await connection.query(
                """
                INSERT INTO tongban.dead_letter SELECT * FROM \(unescaped: Self.shadowSchema).dead_letter
                ON CONFLICT DO NOTHING
                RETURNING topic, partition, message_offset, key, value, reason, event_id::text, event_type
                """
            ).map {
                DeadLetter(
                    at: KafkaTopicPartition(try $0.decode(String.self, at: 0), try $0.decode(Int32.self, at: 1)),
                    offset: try $0.decode(Int64.self, at: 2), key: try $0.decode([UInt8]?.self, at: 3),
                    value: try $0.decode([UInt8].self, at: 4), reason: try $0.decode(String.self, at: 5),
                    eventID: try $0.decode(String?.self, at: 6), eventType: try $0.decode(String?.self, at: 7))
            }
            try await connection.execute(
                """
                INSERT INTO tongban.rejected_offset SELECT * FROM \(unescaped: Self.shadowSchema).rejected_offset
                ON CONFLICT DO NOTHING
                """)
            try await connection.execute(
                """
                UPDATE tongban.views_version SET version = \(Int32(shadow.version)), built_at = \(shadow.startedAt),
                    built_by = \(shadow.keepingLedger ? "shadow rebuild keeping the ledger" : "full shadow rebuild")
                """)
            try await connection.execute("UPDATE tongban.views_generation SET generation = generation + 1")
            _ = try await connection.executeScript("DROP SCHEMA \(Self.shadowSchema) CASCADE")
            try await connection.execute("COMMIT")
            let now = ContinuousClock.now
            if !letters.isEmpty { await newDeadLetters(letters) }
            return .swapped(readersHeld: now - readersHeld, writersHeld: now - writersPaused, progress: progress)
        }
    }

    /// Runs `body` in a transaction that first pauses the live writers (``swapLockKey``), handing it the moment they
    /// were paused; `body` commits, or returns without committing. Live batches that do not finish within 30 s give
    /// `.behind`; a lock timeout after the takeover (something held a table past the longer wait) gives way as
    /// `.busy`; both roll back, as does a throw.
    private func inSwapTransaction(
        lockAttempts: Int, on connection: PostgresConnection,
        _ body: (ContinuousClock.Instant) async throws -> SwapOutcome
    ) async throws -> SwapOutcome {
        try await connection.execute("BEGIN")
        do {
            guard try await Self.pauseLiveWriters(on: connection) else {
                await connection.rollbackQuietly()
                return .behind(Progress(partitions: []))
            }
            return try await body(ContinuousClock.now)
        } catch let error as PostgresError where error.sqlState == "55P03" {
            await connection.rollbackQuietly()
            return .busy(attempts: lockAttempts)
        } catch {
            await connection.rollbackQuietly()
            throw error
        }
    }

    /// Takes ``swapLockKey`` exclusively inside the caller's transaction (live batches in hand finish first), waiting
    /// up to 30 s for them. Returns false when they did not finish in time.
    private static func pauseLiveWriters(on connection: PostgresConnection) async throws -> Bool {
        try await connection.execute("SET LOCAL lock_timeout = '30s'")
        do {
            try await connection.execute("SELECT pg_advisory_xact_lock(\(swapLockKey))")
            return true
        } catch {
            guard error.sqlState == "55P03" else { throw error }
            return false
        }
    }

    /// Refuses the swap (``Refusal``) when another view group has checkpoints, or a migration was applied, since the
    /// shadow was made: its tables would miss facts, or columns.
    private func refuseChangesSince(_ shadow: Shadow, on connection: PostgresConnection) async throws {
        let others = try await ViewStore.otherViewGroups(than: viewGroup, on: connection)
        if !others.isEmpty {
            throw Refusal(
                "view groups \(others.joined(separator: ", ")) have had checkpoints since the shadow copy was made; "
                    + "their facts are not in it: discard it (--discard-shadow --yes)")
        }
        let migrations = try await connection.query(
            """
            SELECT (SELECT max(version) FROM tongban.schema_migrations)
                IS NOT DISTINCT FROM (SELECT migration FROM \(unescaped: Self.shadowSchema).rebuild)
            """)
        if try !migrations[0].decode(Bool.self, at: 0) {
            throw Refusal(
                "migrations were applied since the shadow copy was made, so its tables may lack what they added: "
                    + "discard it (--discard-shadow --yes) and rebuild again")
        }
    }

    /// The statements that move the view tables of `tongban` to `out` and those of `in` to `tongban`, and point the
    /// views at them again (with their options), inside the caller's transaction (search path `pg_catalog`).
    private static func exchange(
        tables: [String], out: String, in source: String, views: [(name: String, definition: String, options: String)]
    ) -> [String] {
        var script = tables.map { "ALTER TABLE tongban.\($0) SET SCHEMA \(out)" }
        script += tables.map { "ALTER TABLE \(source).\($0) SET SCHEMA tongban" }
        script += views.map { "CREATE OR REPLACE VIEW \($0.name)\($0.options) AS \($0.definition)" }
        return script
    }

    /// The statements that give the rebuilt `tongban` tables the storage options the live ones had (other than
    /// autovacuum, which the swap turns back on), written by the server (`%I` quotes every name).
    private static func tableOptions(of tables: [String], on connection: PostgresConnection) async throws -> [String] {
        try await connection.query(
            """
            SELECT format('ALTER TABLE tongban.%I SET (%s)', c.relname, string_agg(o, ', '))
            FROM pg_class c CROSS JOIN LATERAL unnest(c.reloptions) AS o
            WHERE c.relnamespace = 'tongban'::regnamespace AND c.relname = ANY(\(tables))
                AND o NOT LIKE 'autovacuum\\_enabled=%'
            GROUP BY c.relname
            """
        ).map { try $0.decode(String.self, at: 0) }
    }

    /// Records, in `schema`, this view group's checkpoints and the views' version as they stand (the views being
    /// swapped out), for a swap back.
    private func keep(tablesOf schema: String, on connection: PostgresConnection) async throws {
        try await connection.execute(
            """
            CREATE TABLE \(unescaped: schema).checkpoint AS
            SELECT * FROM tongban.checkpoint WHERE view_group = \(viewGroup)
            """)
        try await connection.execute(
            """
            CREATE TABLE \(unescaped: schema).views_version AS
            SELECT version, built_at, built_by, now() AS swapped_out_at FROM tongban.views_version
            """)
    }

    /// The tables of `schema` (none when it does not exist), refusing names that would need quoting.
    private static func tables(in schema: String, on connection: PostgresConnection) async throws -> [String] {
        let names = try await connection.query(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = \(schema) AND c.relkind = 'r' ORDER BY 1
            """
        ).map { try $0.decode(String.self, at: 0) }
        if let odd = names.first(where: { !ViewStore.isPlainIdentifier($0) }) {
            throw Refusal("\(schema) holds a table that is not Tongban's: \(PostgresQuery.quoteIdentifier(odd))")
        }
        return names
    }

    /// Takes `relations` in `ACCESS EXCLUSIVE` mode inside the caller's transaction, after the `views_generation`
    /// row, without ever making a reader fail:
    ///
    /// 1. First `tables` (those autovacuum may work on) in `SHARE UPDATE EXCLUSIVE` mode, waiting up to 10 s. That
    ///    mode conflicts with no reader and no writer, only with (auto)vacuum and DDL; waiting past
    ///    `deadlock_timeout` makes PostgreSQL cancel an autovacuum in the way, and holding it keeps another from
    ///    starting. An autovacuum otherwise holds a table for as long as it runs, and every short attempt below
    ///    would give way to it.
    /// 2. Then attempts of at most 300 ms each, taking `relations` in the order given (the caller puts the views
    ///    first, outer ones before inner ones, as a reader's statement locks them: a reader that already holds its
    ///    view needs nothing the attempt holds yet, and one that does not waits before it holds anything) (`statement_timeout`, all the statement's lock waits together): a
    ///    reader holding one of them makes the attempt give way (rolled back to a savepoint, keeping what was held
    ///    before). The whole attempt stays well below `deadlock_timeout` (1 s by default): a reader inside a function
    ///    that holds one table and then asks for one the attempt holds forms a cycle, and the attempt must end before
    ///    the reader's deadlock check runs (per-lock waits that added up past it made such readers fail with 40P01 in
    ///    `tongban bench rebuild`).
    ///
    /// Once taken, later waits in the transaction may last 5 s.
    /// - Returns: whether they were taken within `attempts` attempts.
    private static func take(
        _ relations: [String], vacuumable tables: [String], attempts: Int, on connection: PostgresConnection
    ) async throws -> Bool {
        do {
            try await connection.execute("SET LOCAL lock_timeout = '10s'")
            _ = try await connection.executeScript(
                "LOCK TABLE \(tables.joined(separator: ", ")) IN SHARE UPDATE EXCLUSIVE MODE")
        } catch {
            guard error.sqlState == "55P03" else { throw error }
            return false
        }
        try await connection.execute("SAVEPOINT take")
        for attempt in 1...max(1, attempts) {
            let timedOut: Bool
            do {
                try await connection.execute("SET LOCAL lock_timeout = '300ms'")
                try await connection.execute("SET LOCAL statement_timeout = '300ms'")
                _ = try await connection.executeScript(
                    """
                    SELECT 1 FROM tongban.views_generation FOR UPDATE;
                    LOCK TABLE \(relations.joined(separator: ", ")) IN ACCESS EXCLUSIVE MODE
                    """)
                timedOut = false
            } catch {
                // 55P03: a lock wait timed out; 57014: the attempt as a whole did.
                guard error.sqlState == "55P03" || error.sqlState == "57014" else { throw error }
                timedOut = true
            }
            if !timedOut {
                try await connection.execute("SET LOCAL statement_timeout = 0")
                try await connection.execute("SET LOCAL lock_timeout = '5s'")
                return true
            }
            try await connection.execute("ROLLBACK TO SAVEPOINT take")
            if attempt < attempts { try await Task.sleep(for: .milliseconds(50)) }
        }
        return false
    }

    /// Moves this view group's live checkpoints to those of `schema` (the shadow's, or the previous copy's).
    private func moveCheckpoints(from schema: String, on connection: PostgresConnection) async throws {
        try await connection.execute(
            """
            DELETE FROM tongban.checkpoint WHERE view_group = \(viewGroup)
            """)
        try await connection.execute(
            """
            INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through, verified_keys,
                verified_anchor, ledger_through, updated_at)
            SELECT view_group, topic, partition, next_offset, verified_through, verified_keys, verified_anchor, 0, now()
            FROM \(unescaped: schema).checkpoint WHERE view_group = \(viewGroup)
            """)
    }

    /// The views (in any schema) that read any of `tables` directly, with their definitions and options as they
    /// stand (every name schema-qualified: the caller's search path becomes `pg_catalog`).
    private static func dependentViews(of tables: [String], on connection: PostgresConnection) async throws
        -> [(name: String, definition: String, options: String)]
    {
        try await connection.execute("SET LOCAL search_path = pg_catalog")
        // Ordered as readers lock them: a view over others of the list before those.
        return try await connection.query(
            """
            WITH listed AS (
                SELECT DISTINCT r.ev_class AS oid
                FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
                WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
                    AND d.refobjid = ANY(\(tables)::regclass[]) AND v.relkind = 'v' AND v.oid <> d.refobjid)
            SELECT v.oid::regclass::text, pg_get_viewdef(v.oid),
                coalesce(' WITH (' || array_to_string(v.reloptions, ', ') || ')', '')
            FROM listed l JOIN pg_class v ON v.oid = l.oid
            ORDER BY (SELECT count(DISTINCT d.refobjid) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                WHERE r.ev_class = v.oid AND d.refobjid IN (SELECT oid FROM listed) AND d.refobjid <> v.oid) DESC, 1
            """
        ).map {
            (
                name: try $0.decode(String.self, at: 0), definition: try $0.decode(String.self, at: 1),
                options: try $0.decode(String.self, at: 2)
            )
        }
    }

    // MARK: - After a swap

    /// When the copy kept in ``previousSchema`` was swapped out, and the version of the views it holds.
    public struct Previous: Sendable, Equatable {
        /// When it was swapped out.
        public var swappedOutAt: Date
        /// The views' version it was built with.
        public var version: Int
        /// How it was built.
        public var builtBy: String
    }

    /// The copy kept after the last swap, if any.
    /// - Parameter connection: any connection.
    /// - Returns: it, or nil.
    /// - Throws: `PostgresError`.
    public static func previous(on connection: PostgresConnection) async throws -> Previous? {
        let exists = try await connection.query(
            "SELECT to_regclass(\(previousSchema + ".views_version")) IS NOT NULL")
        guard try exists[0].decode(Bool.self, at: 0) else { return nil }
        let rows = try await connection.query(
            "SELECT swapped_out_at, version, built_by FROM \(unescaped: previousSchema).views_version")
        guard let row = rows.first else { return nil }
        return Previous(
            swappedOutAt: try row.decode(Date.self, at: 0), version: Int(try row.decode(Int32.self, at: 1)),
            builtBy: try row.decode(String.self, at: 2))
    }

    /// Drops the copy kept after the last swap. Refused (nothing dropped) when something outside Tongban's views
    /// reads its tables. Does nothing when there is none.
    /// - Parameter connection: a connection outside any transaction.
    /// - Returns: whether there was one.
    /// - Throws: `PostgresError` naming what depends on it.
    @discardableResult
    public static func dropPrevious(on connection: PostgresConnection) async throws -> Bool {
        try await connection.withTransaction { connection in
            let exists = try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = \(previousSchema))")
            guard try exists[0].decode(Bool.self, at: 0) else { return false }
            let tables = try await Self.tables(in: previousSchema, on: connection)
            var script: [String] = []
            if !tables.isEmpty {
                script.append("DROP TABLE " + tables.map { "\(previousSchema).\($0)" }.joined(separator: ", "))
            }
            script.append("DROP SCHEMA \(previousSchema)")
            _ = try await connection.executeScript(script.joined(separator: ";\n"))
            return true
        }
    }

    /// Drops an unfinished shadow copy (`tongban rebuild --discard-shadow`). Stop the rebuild writing it first.
    /// - Parameter connection: a connection outside any transaction.
    /// - Returns: whether there was one.
    /// - Throws: `PostgresError`.
    @discardableResult
    public static func discardShadow(on connection: PostgresConnection) async throws -> Bool {
        let exists = try await connection.query(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = \(shadowSchema))")
        guard try exists[0].decode(Bool.self, at: 0) else { return false }
        _ = try await connection.executeScript("DROP SCHEMA \(shadowSchema) CASCADE")
        return true
    }

    /// Puts the copy kept by the last swap back in place of the live views (a rebuild that turned out wrong), in one
    /// transaction, keeping the views it replaces as the new previous copy. This view group's checkpoints go back to
    /// where that copy stood: the live projectors notice within a second and apply, from there, what arrived since.
    /// - Parameters:
    ///   - connection: a connection outside any transaction.
    ///   - lockAttempts: how many times to try to take the views from their readers.
    /// - Returns: the outcome (`.busy` when readers kept the views, `.behind` when live batches did not finish).
    /// - Throws: ``Refusal`` when there is no previous copy of this view group, or `PostgresError`.
    public func swapBack(on connection: PostgresConnection, lockAttempts: Int = 50) async throws -> SwapOutcome {
        guard let previous = try await Self.previous(on: connection) else {
            throw Refusal("there is no previous copy to swap back (none kept, or dropped with --drop-previous)")
        }
        let previousSchema = Self.previousSchema
        let parked = "tongban_swapping"
        return try await inSwapTransaction(lockAttempts: lockAttempts, on: connection) { writersPaused in
            let positions = try await connection.query(
                "SELECT count(*) FROM \(unescaped: previousSchema).checkpoint WHERE view_group = \(viewGroup)")
            guard try positions[0].decode(Int.self, at: 0) > 0 else {
                throw Refusal("the previous copy holds no checkpoints of view group \(viewGroup): it is another's")
            }
            let tables = try await Self.viewTables(on: connection)
            let kept = try await Self.tables(in: previousSchema, on: connection).filter { tables.contains($0) }
            guard kept == tables else {
                throw Refusal(
                    "the previous copy does not hold every view table (it has \(kept.count) of \(tables.count)): "
                        + "it cannot be swapped back")
            }
            let live = tables.map { "tongban.\($0)" }
            let views = try await Self.dependentViews(of: live, on: connection)
            let relations =
                views.map(\.name) + live + tables.map { "\(previousSchema).\($0)" }
                + ["checkpoint", "views_version"].map { "\(previousSchema).\($0)" }
            let vacuumable = live + tables.map { "\(previousSchema).\($0)" }
            guard try await Self.take(relations, vacuumable: vacuumable, attempts: lockAttempts, on: connection)
            else {
                await connection.rollbackQuietly()
                return .busy(attempts: lockAttempts)
            }
            let readersHeld = ContinuousClock.now
            var script = ["SET LOCAL search_path = pg_catalog", "CREATE SCHEMA \(parked)"]
            script += Self.exchange(tables: tables, out: parked, in: previousSchema, views: views)
            _ = try await connection.executeScript(script.joined(separator: ";\n"))
            try await keep(tablesOf: parked, on: connection)
            try await moveCheckpoints(from: previousSchema, on: connection)
            try await connection.execute(
                """
                UPDATE tongban.views_version SET version = \(Int32(previous.version)), built_at = now(),
                    built_by = \("swapped back: " + previous.builtBy)
                """)
            try await connection.execute("UPDATE tongban.views_generation SET generation = generation + 1")
            _ = try await connection.executeScript(
                """
                DROP TABLE \(previousSchema).checkpoint, \(previousSchema).views_version;
                DROP SCHEMA \(previousSchema);
                ALTER SCHEMA \(parked) RENAME TO \(previousSchema)
                """)
            try await connection.execute("COMMIT")
            let now = ContinuousClock.now
            return .swapped(
                readersHeld: now - readersHeld, writersHeld: now - writersPaused, progress: Progress(partitions: []))
        }
    }
}

extension PostgresConnection {
    /// Rolls back the transaction in hand, ignoring failures (a broken connection rolls back when it closes).
    func rollbackQuietly() async {
        _ = try? await execute("ROLLBACK")
    }
}
