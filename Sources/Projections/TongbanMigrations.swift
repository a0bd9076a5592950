public import Postgres
import TongbanSchemas

/// The schema of Tongban's views: the migrations in `schemas/migrations/`, as embedded in the binary.
///
/// ```swift
/// try await PostgresMigrator(migrations: try TongbanMigrations.all(), logger: logger).migrate(client)
/// ```
public enum TongbanMigrations {
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
