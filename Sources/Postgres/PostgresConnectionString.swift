import Foundation

/// Helpers for libpq connection strings (`postgresql://…` URLs or `key=value` pairs), parsed by libpq itself.
public enum PostgresConnectionString {
    /// Returns a key=value connection string with `overrides` applied to `conninfo`.
    ///
    /// Useful to point the same server settings at another database:
    /// `PostgresConnectionString.setting(["dbname": "test_1"], in: url)`.
    /// - Parameters:
    ///   - overrides: libpq keywords (`dbname`, `user`, `password`, `host`, `port`, …) and their values.
    ///   - conninfo: a URL, key=value string, or "" (libpq defaults and `PG*` variables apply when connecting).
    /// - Returns: the merged string, in key=value form with every value quoted.
    /// - Throws: `PostgresError` `.connect` when `conninfo` cannot be parsed.
    public static func setting(_ overrides: [String: String], in conninfo: String) throws(PostgresError) -> String {
        var options = try PQConnInfo.parse(conninfo).get()
        for (key, value) in overrides { options[key] = value }
        return options.sorted { $0.key < $1.key }.map { key, value in
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            return "\(key)='\(escaped)'"
        }.joined(separator: " ")
    }
}
