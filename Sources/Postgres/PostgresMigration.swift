public import Foundation

/// One schema change: SQL that runs once, in version order, recorded in `tongban.schema_migrations`.
public struct PostgresMigration: Sendable, Hashable {
    /// The version; migrations apply in increasing order, each exactly once.
    public let version: Int
    /// A short description, from the file name after the version (`0003_add_kinship` → `add_kinship`).
    public let name: String
    /// The SQL; may hold several statements. It runs in one transaction together with its bookkeeping row.
    public let sql: String

    /// Creates a migration.
    /// - Parameters:
    ///   - version: the order key, unique among migrations.
    ///   - name: a short description.
    ///   - sql: the statements to run.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The file name this migration comes from, `NNNN_name.sql`.
    public var fileName: String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + name + ".sql"
    }

    /// A stable fingerprint of `sql`: `fnv1a64:<16 hex digits>:<byte length>`. Detects an applied migration
    /// that was edited afterwards (not a security measure).
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var length = 0
        for byte in sql.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            length += 1
        }
        let hex = String(hash, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex + ":\(length)"
    }

    /// Reads every `NNNN_description.sql` file in a directory, sorted by version.
    ///
    /// Files not ending in `.sql` are ignored.
    /// - Parameter directory: the folder, for example `schemas/migrations`.
    /// - Returns: the migrations in version order.
    /// - Throws: `PostgresError` `.migration` when the directory cannot be read, a `.sql` file is not named
    ///   `NNNN_description.sql`, or two files share a version.
    public static func load(from directory: URL) throws(PostgresError) -> [PostgresMigration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw PostgresError(
                .migration, "cannot read the migrations directory \(directory.path): \(error.localizedDescription)")
        }
        var migrations: [PostgresMigration] = []
        for fileName in names.sorted() where fileName.hasSuffix(".sql") {
            let stem = fileName.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version >= 0,
                stem[..<underscore].allSatisfy(\.isASCII), underscore < stem.index(before: stem.endIndex)
            else {
                throw PostgresError(
                    .migration,
                    "migration file \(fileName) in \(directory.path) is not named NNNN_description.sql"
                )
            }
            let sql: String
            do {
                sql = try String(contentsOf: directory.appendingPathComponent(fileName), encoding: .utf8)
            } catch {
                throw PostgresError(.migration, "cannot read migration \(fileName): \(error.localizedDescription)")
            }
            if let other = migrations.first(where: { $0.version == version }) {
                throw PostgresError(
                    .migration,
                    "migrations \(other.fileName) and \(fileName) share version \(version): renumber one"
                )
            }
            migrations.append(
                PostgresMigration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        return migrations.sorted { $0.version < $1.version }
    }
}
