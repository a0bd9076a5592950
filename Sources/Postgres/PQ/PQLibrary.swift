internal import CLibPQ

/// Facts about the linked PostgreSQL client library.
public enum PostgresLibrary {
    /// The version of the linked libpq, e.g. `15.18`.
    public static var version: String {
        let raw = Int(PQlibVersion())  // e.g. 150018
        return "\(raw / 10000).\(raw % 10000)"
    }
}
