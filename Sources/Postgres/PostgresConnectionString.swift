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

    /// Returns a key=value connection string whose sessions start with `settings` (server parameters such as
    /// `jit`), added as `-c name=value` to the connection's `options`, after whatever options it already had (from
    /// the string, else from `PGOPTIONS`).
    /// - Parameters:
    ///   - settings: server parameters and their values (names and values of ASCII letters, digits, `_` and `.`).
    ///   - conninfo: a URL, key=value string, or "".
    ///   - environment: where `PGOPTIONS` is read (`nil`: the process's environment).
    /// - Returns: the merged string, in key=value form.
    /// - Throws: `PostgresError` `.connect` when `conninfo` cannot be parsed or a setting is not a plain word.
    public static func withServerSettings(
        _ settings: [String: String], in conninfo: String,
        environment: [String: String]? = nil
    ) throws(PostgresError) -> String {
        func isPlain(_ text: String) -> Bool {
            !text.isEmpty
                && text.utf8.allSatisfy { byte in
                    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                        || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                }
        }
        var options =
            try PQConnInfo.parse(conninfo).get()["options"]
            ?? (environment ?? ProcessInfo.processInfo.environment)["PGOPTIONS"] ?? ""
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            guard isPlain(name), isPlain(value) else {
                throw PostgresError(.connect, "a server setting must be a plain word: \(name)=\(value)")
            }
            options += (options.isEmpty ? "" : " ") + "-c \(name)=\(value)"
        }
        return try setting(["options": options], in: conninfo)
    }

    /// The libpq environment variables that say what a connection string says: `PGHOST`, `PGPORT`, `PGUSER`,
    /// `PGDATABASE`, `PGPASSWORD` when it holds a password, `PGSSLMODE`, … (libpq's own keyword-to-variable table).
    ///
    /// This is how a connection goes to a child process (`psql`, another `tongban`): in its environment, which only
    /// its user and root can read, never on its command line, which every user of the machine can read (`ps`).
    /// Keys the string does not set are not in the result; a child given only these variables connects exactly
    /// where the string points (clear the `PG*` variables it would inherit first).
    /// - Parameter conninfo: a `postgresql://` URL or key=value string, with or without a password.
    /// - Returns: the variables and their values.
    /// - Throws: `PostgresError` `.connect` when libpq cannot parse `conninfo`, or when it sets a key libpq reads from
    ///   no environment variable (e.g. `keepalives`, `replication`), which a child would not see.
    public static func environment(for conninfo: String) throws(PostgresError) -> [String: String] {
        let (variables, unmapped) = try PQConnInfo.environment(conninfo).get()
        guard unmapped.isEmpty else {
            throw PostgresError(
                .connect,
                "the connection string sets \(unmapped.joined(separator: ", ")), which libpq reads from no environment "
                    + "variable: it cannot be handed to a child process")
        }
        return variables
    }
}
