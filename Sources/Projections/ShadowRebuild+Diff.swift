import Foundation
public import Postgres

extension ShadowRebuild {
    /// How a finished shadow differs from the live views: per contract view (`tongban.v_*`), the rows only one side
    /// has, and the certificates still valid that name something in those rows.
    public struct Difference: Sendable {
        /// One contract view that differs.
        public struct View: Sendable, Equatable {
            /// The view, e.g. `v_marriage`.
            public var name: String
            /// Rows the live view has and the rebuilt one has not (they would go).
            public var onlyLive: Int
            /// Rows the rebuilt view has and the live one has not (they would come).
            public var onlyShadow: Int
            /// Some of the rows that would go, as JSON objects.
            public var goingSamples: [String]
            /// Some of the rows that would come, as JSON objects.
            public var comingSamples: [String]
        }

        /// The views that differ, by name (none: the rebuild changes nothing a reader sees).
        public var views: [View]
        /// The number of contract views compared.
        public var compared: Int
        /// Certificates not revoked that name (in `watch`: a citizen ID, a title number, a filing id) a value found in
        /// a differing row, by id: the re-check after a swap would look at them first.
        public var certificates: [String]
        /// Where both stood when compared (the same position on every partition).
        public var progress: Progress
    }

    /// Compares the shadow with the live views at one position: pauses the live projectors (``swapLockKey``), and, if
    /// the shadow stands exactly where they do, exports that snapshot to a second connection and lets them go on;
    /// the comparison then runs on the snapshot while everything else proceeds. The shadow's writers must be stopped.
    ///
    /// The comparison creates each `tongban` view over the shadow's tables (its definition with the view tables and
    /// views renamed into the shadow schema) inside a transaction that is rolled back, and compares the rows of each
    /// contract view as `jsonb`, counting duplicates. A view that reads the tables only through a function (rather
    /// than in its own definition) is compared as the function reads them: on the live tables.
    /// - Parameters:
    ///   - database: the pool (two connections are used).
    ///   - samples: how many differing rows to keep per view and side.
    /// - Returns: the difference, or nil when the live views did not stand where the shadow does (call it again
    ///   once they do, or once the shadow has caught up again).
    /// - Throws: `PostgresError`.
    public func diff(database: PostgresClient, samples: Int = 5) async throws -> Difference? {
        try await database.withConnection { pausing in
            try await pausing.execute("BEGIN")
            do {
                try await pausing.execute("SET LOCAL lock_timeout = '30s'")
                try await pausing.execute("SELECT pg_advisory_xact_lock(\(Self.swapLockKey))")
                let progress = try await self.progress(on: pausing)
                guard progress.level else {
                    await pausing.rollbackQuietly()
                    return nil
                }
                let exported = try await pausing.query("SELECT pg_export_snapshot()")
                let snapshot = try exported[0].decode(String.self, at: 0)
                // Server-made, of hex digits and dashes; checked before it is written into SQL text.
                guard !snapshot.isEmpty, snapshot.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || isHexDigit($0) })
                else { throw Refusal("PostgreSQL exported an unexpected snapshot id") }
                return try await database.withConnection { comparing in
                    try await comparing.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                    do {
                        try await comparing.execute(PostgresQuery(unsafeSQL: "SET TRANSACTION SNAPSHOT '\(snapshot)'"))
                        try await pausing.execute("COMMIT")
                        let difference = try await compare(progress: progress, samples: samples, on: comparing)
                        await comparing.rollbackQuietly()
                        return difference
                    } catch {
                        await comparing.rollbackQuietly()
                        throw error
                    }
                }
            } catch {
                await pausing.rollbackQuietly()
                throw error
            }
        }
    }

    private func compare(progress: Progress, samples: Int, on connection: PostgresConnection) async throws
        -> Difference
    {
        try await connection.execute("SET LOCAL search_path = pg_catalog")
        let tables = try await Self.viewTables(on: connection)
        let views = try await connection.query(
            """
            SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c
            WHERE c.relnamespace = 'tongban'::regnamespace AND c.relkind = 'v' ORDER BY c.relname
            """
        ).map { (name: try $0.decode(String.self, at: 0), definition: try $0.decode(String.self, at: 1)) }
            .filter { ViewStore.isPlainIdentifier($0.name) }
        let renamed = Set(tables).union(views.map(\.name))
        var pending = views.map { (name: $0.name, definition: Self.intoShadow($0.definition, names: renamed)) }
        // In dependency order, found by trying: a view over another waits for it.
        while !pending.isEmpty {
            var failed: [(name: String, definition: String)] = []
            var lastError: PostgresError?
            for view in pending {
                try await connection.execute("SAVEPOINT view")
                do {
                    _ = try await connection.executeScript(
                        "CREATE VIEW \(Self.shadowSchema).\(view.name) AS \(view.definition)")
                    try await connection.execute("RELEASE SAVEPOINT view")
                } catch {
                    try await connection.execute("ROLLBACK TO SAVEPOINT view")
                    failed.append(view)
                    lastError = error
                }
            }
            if failed.count == pending.count, let lastError { throw lastError }
            pending = failed
        }
        // Written into SQL text below: only Tongban's own, plainly named views.
        let contract = views.map(\.name).filter { $0.hasPrefix("v_") && ViewStore.isPlainIdentifier($0) }
        try await connection.execute("CREATE TEMP TABLE shadow_difference (view text, side text, r jsonb)")
        for view in contract {
            try await connection.execute(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO shadow_difference
                        SELECT '\(view)', 'shadow', r FROM (
                            SELECT to_jsonb(s) AS r FROM \(Self.shadowSchema).\(view) s
                            EXCEPT ALL SELECT to_jsonb(l) FROM tongban.\(view) l) x
                        UNION ALL
                        SELECT '\(view)', 'live', r FROM (
                            SELECT to_jsonb(l) AS r FROM tongban.\(view) l
                            EXCEPT ALL SELECT to_jsonb(s) FROM \(Self.shadowSchema).\(view) s) y
                        """))
        }
        var differing: [Difference.View] = []
        for row in try await connection.query(
            """
            SELECT view, count(*) FILTER (WHERE side = 'live'), count(*) FILTER (WHERE side = 'shadow'),
                (array_agg(r::text ORDER BY r::text) FILTER (WHERE side = 'live'))[1:\(samples)],
                (array_agg(r::text ORDER BY r::text) FILTER (WHERE side = 'shadow'))[1:\(samples)]
            FROM shadow_difference GROUP BY view ORDER BY view
            """)
        {
            differing.append(
                Difference.View(
                    name: try row.decode(String.self, at: 0), onlyLive: try row.decode(Int.self, at: 1),
                    onlyShadow: try row.decode(Int.self, at: 2),
                    goingSamples: try row.decode([String]?.self, at: 3) ?? [],
                    comingSamples: try row.decode([String]?.self, at: 4) ?? []))
        }
        let certificates = try await connection.query(
            """
            WITH named AS (
                SELECT DISTINCT v #>> '{}' AS value
                FROM shadow_difference, jsonb_path_query(r, 'strict $.**') AS v WHERE jsonb_typeof(v) = 'string')
            SELECT c.certificate_id::text FROM tongban.certificate c
            WHERE c.revoked_at IS NULL AND c.watch && (SELECT coalesce(array_agg(value), '{}') FROM named)
            ORDER BY c.issued_at, c.certificate_id
            """
        ).map { try $0.decode(String.self, at: 0) }
        return Difference(views: differing, compared: contract.count, certificates: certificates, progress: progress)
    }

    /// `definition` with every `tongban.<name>` of `names` moved into the shadow schema.
    static func intoShadow(_ definition: String, names: Set<String>) -> String {
        var result = ""
        var rest = Substring(definition)
        while let range = rest.range(of: "tongban.") {
            result += rest[..<range.lowerBound]
            let after = rest[range.upperBound...]
            let name = after.prefix { $0 == "_" || $0.isLetter || $0.isNumber }
            let before = rest[..<range.lowerBound].last
            let standsAlone = before.map { !($0 == "_" || $0.isLetter || $0.isNumber || $0 == ".") } ?? true
            let next = after.dropFirst(name.count).first
            let whole = next.map { !($0 == "_" || $0.isLetter || $0.isNumber || $0 == "(") } ?? true
            if standsAlone && whole && names.contains(String(name)) {
                result += shadowSchema + "." + name
            } else {
                result += "tongban." + name
            }
            rest = after.dropFirst(name.count)
        }
        return result + rest
    }
}

private func isHexDigit(_ byte: UInt8) -> Bool {
    (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
}
