import Foundation
import Postgres

/// The environment of a child process that connects to PostgreSQL (`psql`, `tongban project`).
///
/// Connection parameters reach a child only through its environment, never as arguments: every user of the machine
/// can read a process's arguments (`ps`, `/proc/PID/cmdline`), while its environment is readable only by its own user
/// and root. The password, when the connection string holds one, goes as `PGPASSWORD`.
enum ChildEnvironment {
    /// The environment for a child that must connect where `conninfo` points and nowhere else: `inherited` without
    /// `DATABASE_URL` and without any `PG*` variable (libpq would combine them with ours, e.g. an inherited
    /// `PGPASSWORD` or `PGSSLMODE`), plus the libpq variables that say what `conninfo` says.
    /// - Parameters:
    ///   - conninfo: a URL or key=value string, with or without a password.
    ///   - inherited: the environment the child would otherwise inherit.
    /// - Returns: the child's whole environment.
    /// - Throws: `PostgresError` `.connect` when `conninfo` cannot be parsed or handed over in the environment.
    static func connecting(
        to conninfo: String, inheriting inherited: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [String: String] {
        var environment = inherited.filter { !$0.key.hasPrefix("PG") && $0.key != "DATABASE_URL" }
        environment.merge(try PostgresConnectionString.environment(for: conninfo)) { _, ours in ours }
        return environment
    }
}
