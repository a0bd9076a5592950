public import Logging

/// Applies ordered SQL migrations, each exactly once, safely from several processes at a time.
///
/// The applied migrations are recorded in `<schema>.schema_migrations (version, name, checksum, applied_at)`
/// (schema `tongban` by default, created when missing; qualified, so the search path never matters). A run holds
/// a session advisory lock (`pg_advisory_lock`) on a fixed key, so processes starting together take turns: the
/// first applies what is missing, the others then find nothing to do. Each migration runs in its own transaction
/// together with its row, so a failing migration leaves no trace and stops the run.
public struct PostgresMigrator: Sendable {
    /// The advisory-lock key that serializes migration runs (`hashtext('tongban_migrations')`-like constant).
    public static let advisoryLockKey: Int64 = 0x746F_6E67_6261_6E00  // "tongban\0"

    /// The migrations, in version order.
    public let migrations: [PostgresMigration]
    /// The schema holding the bookkeeping table `schema_migrations`.
    public let schema: String
    private let logger: Logger

    /// Creates a migrator.
    /// - Parameters:
    ///   - migrations: the migrations, in any order (they are sorted by version).
    ///   - schema: the schema of the bookkeeping table (created if missing). Default `tongban`.
    ///   - logger: logs each applied migration at `info`.
    public init(migrations: [PostgresMigration], schema: String = "tongban", logger: Logger) {
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.schema = schema
        self.logger = logger
    }

    /// The bookkeeping table's qualified, quoted name.
    private var table: String { PostgresQuery.quoteIdentifier(schema) + ".schema_migrations" }

    /// Applies the missing migrations on a pooled connection.
    /// - Parameter client: the pool.
    /// - Returns: the versions applied by this call, in order (empty when the schema was up to date).
    /// - Throws: `PostgresError` `.migration` when versions repeat, an applied migration's checksum changed (the
    ///   message names the file), or a migration fails (naming the file; the server's message is in
    ///   `debugDescription`); or the pool's errors.
    @discardableResult
    public func migrate(_ client: PostgresClient) async throws -> [Int] {
        try await client.withConnection { connection in try await migrate(on: connection) }
    }

    /// Applies the missing migrations on one connection (which must not be inside a transaction).
    /// - Parameter connection: the connection; it holds the advisory lock for the duration of the run.
    /// - Returns: the versions applied by this call, in order.
    /// - Throws: `PostgresError`, as `migrate(_:)`.
    @discardableResult
    public func migrate(on connection: PostgresConnection) async throws(PostgresError) -> [Int] {
        var seen = Set<Int>()
        for migration in migrations where !seen.insert(migration.version).inserted {
            throw PostgresError(.migration, "two migrations have version \(migration.version): renumber one")
        }
        try await connection.execute("SELECT pg_advisory_lock(\(Self.advisoryLockKey))")
        do {
            let applied = try await applyMissing(on: connection)
            try await connection.execute("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))")
            return applied
        } catch {
            // Closing the session also releases the lock; try to release it now so the connection stays usable.
            _ = try? await connection.execute("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))")
            throw error
        }
    }

    /// The versions not applied yet, changing nothing (for commands that only read: they refuse instead of
    /// migrating).
    /// - Parameter connection: the connection.
    /// - Returns: the versions of the migrations the database has not recorded, in order.
    /// - Throws: `PostgresError`.
    public func pending(on connection: PostgresConnection) async throws(PostgresError) -> [Int] {
        let exists = try await connection.query("SELECT to_regclass(\(table)) IS NOT NULL")[0].decode(Bool.self, at: 0)
        var recorded = Set<Int>()
        if exists {
            for row in try await connection.query("SELECT version FROM \(unescaped: table)") {
                recorded.insert(try row.decode(Int.self, at: 0))
            }
        }
        return migrations.map(\.version).filter { !recorded.contains($0) }
    }

    private func applyMissing(on connection: PostgresConnection) async throws(PostgresError) -> [Int] {
        try await connection.executeScript(
            """
            CREATE SCHEMA IF NOT EXISTS \(PostgresQuery.quoteIdentifier(schema));
            CREATE TABLE IF NOT EXISTS \(table) (
                version bigint PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        var recorded: [Int: (name: String, checksum: String)] = [:]
        for row in try await connection.query("SELECT version, name, checksum FROM \(unescaped: table)") {
            recorded[try row.decode(Int.self, at: 0)] = (
                try row.decode(String.self, at: 1), try row.decode(String.self, at: 2)
            )
        }
        for migration in migrations {
            guard let (name, checksum) = recorded[migration.version] else { continue }
            if checksum != migration.checksum {
                throw PostgresError(
                    .migration,
                    "migration \(migration.fileName) was changed after it was applied (as \(name), checksum "
                        + "\(checksum), now \(migration.checksum)): restore the file and add a new migration instead"
                )
            }
        }
        let known = Set(migrations.map(\.version))
        for version in recorded.keys.sorted() where !known.contains(version) {
            logger.warning(
                "database has a migration this program does not know; is it older than the schema?",
                metadata: ["postgres.migration": "\(version)"]
            )
        }
        var applied: [Int] = []
        for migration in migrations where recorded[migration.version] == nil {
            do {
                try await connection.withTransaction { connection in
                    try await connection.executeScript(migration.sql)
                    try await connection.execute(
                        """
                        INSERT INTO \(unescaped: table) (version, name, checksum)
                        VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                        """
                    )
                }
            } catch let error as PostgresError {
                throw PostgresError(
                    .migration,
                    "migration \(migration.fileName) failed and was rolled back: \(error.message)",
                    sqlState: error.sqlState,
                    serverMessage: error.serverMessage
                )
            } catch {
                throw PostgresError(.migration, "migration \(migration.fileName) failed: \(error)")
            }
            logger.info("applied migration", metadata: ["postgres.migration": "\(migration.fileName)"])
            applied.append(migration.version)
        }
        return applied
    }
}
