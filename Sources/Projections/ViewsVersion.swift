public import Foundation
public import Postgres

/// Which version of the views' projectors built the views in a database (`tongban.views_version`), against the
/// version this code writes (``ViewStore/version``).
///
/// A projector that finds its views built by an older version says so, and what to run: the views hold what the
/// older projectors wrote, and only a rebuild (into a shadow copy, while they keep serving) brings them to what this
/// code would write. One that finds a newer version is older code than the views: it would write facts the way the
/// views no longer hold them.
public struct ViewsVersion: Sendable, Equatable {
    /// The version recorded in the database.
    public var version: Int
    /// When that build started.
    public var builtAt: Date
    /// How it was built (`migration`, `full shadow rebuild`, `in-place rebuild`, …).
    public var builtBy: String

    /// Creates a record.
    /// - Parameters:
    ///   - version: the version.
    ///   - builtAt: when.
    ///   - builtBy: how.
    public init(version: Int, builtAt: Date, builtBy: String) {
        self.version = version
        self.builtAt = builtAt
        self.builtBy = builtBy
    }

    /// Reads the record, or nil when the database predates it (migration 0016 not applied).
    /// - Parameter connection: any connection.
    /// - Returns: the record.
    /// - Throws: `PostgresError`.
    public static func read(on connection: PostgresConnection) async throws -> ViewsVersion? {
        let exists = try await connection.query("SELECT to_regclass('tongban.views_version') IS NOT NULL")
        guard try exists[0].decode(Bool.self, at: 0) else { return nil }
        return try await connection.query("SELECT version, built_at, built_by FROM tongban.views_version").first.map {
            ViewsVersion(
                version: Int(try $0.decode(Int32.self, at: 0)), builtAt: try $0.decode(Date.self, at: 1),
                builtBy: try $0.decode(String.self, at: 2))
        }
    }

    /// What the operator should do about this record, given the version `code` writes; nil when they agree.
    /// - Parameter code: the views' version of the running code (default ``ViewStore/version``).
    /// - Returns: a sentence naming both versions and what to run, or nil.
    public func advice(code: Int = ViewStore.version) -> String? {
        if version < code {
            return "the views were built by version \(version) of the view projectors (\(builtBy)); this binary "
                + "writes version \(code): rebuild them with `tongban rebuild --keep-ledger --yes` (into a shadow copy, "
                + "while these views keep serving), or start `tongban project --rebuild-outdated-views` to have it done"
        }
        if version > code {
            return "the views were built by version \(version) of the view projectors (\(builtBy)), newer than this "
                + "binary's version \(code): it would write facts the way the views no longer hold them; run the "
                + "newer binary"
        }
        return nil
    }
}
