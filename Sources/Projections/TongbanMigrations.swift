public import Logging
public import Postgres
import TongbanSchemas

/// The schema of Tongban's views: the migrations in `schemas/migrations/`, as embedded in the binary.
///
/// ```swift
/// try await TongbanMigrations.migrate(client, logger: logger)
/// ```
public enum TongbanMigrations {
    /// Applies the missing migrations (bookkeeping in `tongban.schema_migrations`).
    /// - Parameters:
    ///   - client: the pool.
    ///   - logger: logs each applied migration.
    /// - Returns: the versions applied by this call, in order (empty when the schema was up to date).
    /// - Throws: `PostgresError` `.migration` (see `PostgresMigrator.migrate(on:)`), or the pool's errors.
    @discardableResult
    public static func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await PostgresMigrator(migrations: try all(), logger: logger).migrate(client)
    }

    /// The migrations the database has not applied, changing nothing.
    /// - Parameter client: the pool.
    /// - Returns: their versions, in order (empty when the schema is up to date).
    /// - Throws: `PostgresError`, or the pool's errors.
    public static func pending(_ client: PostgresClient) async throws -> [Int] {
        let migrator = PostgresMigrator(migrations: try all(), logger: Logger(label: "tongban.migrations"))
        return try await client.withConnection { connection in try await migrator.pending(on: connection) }
    }

    /// Every embedded `migrations/NNNN_description.sql`, in version order.
    /// - Returns: the migrations.
    /// - Throws: `PostgresError` `.migration` when a file is not named `NNNN_description.sql` or two share a version.
    public static func all() throws(PostgresError) -> [PostgresMigration] {
        var migrations: [PostgresMigration] = []
        for path in TongbanSchemaFiles.paths where path.hasPrefix("migrations/") && path.hasSuffix(".sql") {
            let file = path.dropFirst("migrations/".count).dropLast(4)
            let digits = file.prefix { $0.isASCII && $0.isNumber }
            guard let version = Int(digits), file.dropFirst(digits.count).first == "_", file.count > digits.count + 1
            else {
                throw PostgresError(.migration, "migration \(path) must be named NNNN_description.sql")
            }
            if migrations.contains(where: { $0.version == version }) {
                throw PostgresError(.migration, "two migrations have version \(version): renumber one")
            }
            migrations.append(
                PostgresMigration(
                    version: version, name: String(file.dropFirst(digits.count + 1)),
                    sql: TongbanSchemaFiles.text(path) ?? ""))
        }
        return migrations.sorted { $0.version < $1.version }
    }
}
