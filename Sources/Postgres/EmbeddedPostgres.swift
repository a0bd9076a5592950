public import Foundation
public import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A private PostgreSQL cluster started from the system's server binaries, for tests and `tongban dev`.
///
/// `start` runs `initdb` into a new temporary directory, picks a free loopback port and starts the server with
/// `pg_ctl`, listening on 127.0.0.1 and a Unix socket in that directory. PostgreSQL refuses to run as root, so
/// when this process is root the server runs as the `postgres` OS user (`runuser -u postgres --`). `stop()`
/// shuts it down (`pg_ctl stop -m fast`) and removes the directory.
///
/// Every connection needs the superuser's password (`scram-sha-256`, over TCP and the socket alike): any local user
/// can reach a loopback port. Unless the configuration gives one, each cluster gets a random password (32 random
/// bytes, base64url). It reaches `initdb` through a file of mode 0600, deleted once `initdb` is done, never on a
/// command line, and it is never logged. `conninfo(database:)` includes it, for this process;
/// `writePasswordFile()` writes a libpq password file for people and other programs, to go with `url(database:)`.
public final class EmbeddedPostgres: Sendable {
    /// How to find, create and run the cluster.
    public struct Configuration: Sendable {
        /// The folder holding `initdb`, `pg_ctl` and `postgres`. `nil` searches: the `TONGBAN_PG_BINDIR`
        /// environment variable, then the newest `/usr/lib/postgresql/*/bin`, then `pg_config --bindir`.
        public var binDirectory: String?
        /// Whether the server syncs writes to disk. Default `false`: the cluster is disposable, and without fsync
        /// tests run much faster. `tongban dev` may turn it on to keep data through a machine crash.
        public var fsync: Bool
        /// The superuser's name. Default `tongban`.
        public var superuser: String
        /// The superuser's password, which every connection needs (`scram-sha-256`). `nil` (the default) generates a
        /// random one for the cluster (32 random bytes, base64url). The conninfo includes it.
        public var password: String?
        /// How long the server may take to accept connections before `start` fails. Default 30 s.
        public var startTimeout: Duration
        /// More server settings (`-c key=value`), such as `["max_connections": "200"]`.
        public var settings: [String: String]

        /// Creates a configuration.
        /// - Parameters:
        ///   - binDirectory: where the server binaries are, or `nil` to search.
        ///   - fsync: whether the server syncs writes to disk.
        ///   - superuser: the superuser's name.
        ///   - password: the superuser's password, or `nil` for a random one.
        ///   - startTimeout: the time limit for start-up.
        ///   - settings: more server settings.
        public init(
            binDirectory: String? = nil,
            fsync: Bool = false,
            superuser: String = "tongban",
            password: String? = nil,
            startTimeout: Duration = .seconds(30),
            settings: [String: String] = [:]
        ) {
            self.binDirectory = binDirectory
            self.fsync = fsync
            self.superuser = superuser
            self.password = password
            self.startTimeout = startTimeout
            self.settings = settings
        }
    }

    /// The folder with the cluster's data (`data/`), log (`server.log`) and socket.
    public let directory: URL
    /// The folder of the server binaries in use.
    public let binDirectory: String
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The configuration it was started with.
    public let configuration: Configuration
    private let runAs: RunAs
    private let stopped = Mutex(false)
    private let logger: Logger
    /// The superuser's password: the configuration's, or the one generated for this cluster.
    private let password: String

    private init(
        directory: URL, binDirectory: String, port: Int, configuration: Configuration, password: String, runAs: RunAs,
        logger: Logger
    ) {
        self.directory = directory
        self.binDirectory = binDirectory
        self.port = port
        self.configuration = configuration
        self.password = password
        self.runAs = runAs
        self.logger = logger
    }

    /// A key=value connection string for a database of this cluster (TCP on 127.0.0.1), with the password.
    ///
    /// - Important: it holds the password: use it in this process, or hand it to a child process through its
    ///   environment, never on a command line or in a log line.
    /// - Parameter database: the database name. Default `postgres`.
    /// - Returns: the connection string, including the password.
    public func conninfo(database: String = "postgres") -> String {
        [
            "host=127.0.0.1", "port=\(port)", "user=\(quote(configuration.superuser))", "dbname=\(quote(database))",
            "password=\(quote(password))",
        ].joined(separator: " ")
    }

    /// A `postgresql://` URL for a database of this cluster, without the password: safe to print. Connecting with it
    /// needs the password from elsewhere, such as the file `writePasswordFile()` writes (`PGPASSFILE`).
    /// - Parameter database: the database name. Default `postgres`.
    /// - Returns: the URL.
    public func url(database: String = "postgres") -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let user =
            configuration.superuser.addingPercentEncoding(withAllowedCharacters: allowed) ?? configuration.superuser
        let db = database.addingPercentEncoding(withAllowedCharacters: allowed) ?? database
        return "postgresql://\(user)@127.0.0.1:\(port)/\(db)"
    }

    private func quote(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
    }

    /// Where `writePasswordFile()` writes: `pgpass` in the cluster's directory (removed with it by `stop()`).
    public var passwordFile: URL { directory.appendingPathComponent("pgpass") }

    /// Writes a libpq password file (mode 0600) with the superuser's password for this cluster, at `passwordFile`.
    ///
    /// With `PGPASSFILE` set to its path and `DATABASE_URL` to `url(database:)`, `psql "$DATABASE_URL"` and every other
    /// libpq program connect without the password appearing on their command line or in their environment. It matches connections to 127.0.0.1 and to the
    /// cluster's socket directory, on the cluster's port, to any database. Writing it again replaces it.
    /// - Returns: the file's URL.
    /// - Throws: `PostgresError` `.embeddedServer` when the file cannot be written.
    @discardableResult
    public func writePasswordFile() throws(PostgresError) -> URL {
        func field(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ":", with: "\\:")
        }
        let lines = ["127.0.0.1", directory.path].map { host in
            "\(field(host)):\(port):*:\(field(configuration.superuser)):\(field(password))\n"
        }
        try Self.writeSecret(lines.joined(), to: passwordFile)
        return passwordFile
    }

    /// Writes `text` to a new file that only this user can read (created with mode 0600, never wider), replacing
    /// any file there.
    private static func writeSecret(_ text: String, to file: URL) throws(PostgresError) {
        unlink(file.path)
        let fd = open(file.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw PostgresError(.embeddedServer, "cannot create \(file.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                throw PostgresError(.embeddedServer, "cannot write \(file.path): \(String(cString: strerror(errno)))")
            }
            written += count
        }
    }

    /// A new random password: 32 bytes from the system's secure generator, base64url without padding (43 characters).
    static func randomPassword() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private var dataDirectory: URL { directory.appendingPathComponent("data") }
    private var logFile: URL { directory.appendingPathComponent("server.log") }

    // MARK: - Starting

    /// Creates and starts a cluster.
    /// - Parameters:
    ///   - configuration: binaries, authentication and settings.
    ///   - logger: logs the start and stop at `info`.
    /// - Returns: the running cluster; call `stop()` when done.
    /// - Throws: `PostgresError` `.embeddedServer` when the binaries are missing (naming the package to install),
    ///   this process is root and there is no `postgres` user, `initdb` fails, or the server does not accept
    ///   connections within `startTimeout` (with the end of the server log).
    public static func start(
        _ configuration: Configuration = Configuration(),
        logger: Logger
    ) async throws(PostgresError) -> EmbeddedPostgres {
        let binDirectory = try await findBinaries(configuration.binDirectory)
        let runAs = try RunAs.current()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tongban-pg-\(UUID().uuidString.prefix(8).lowercased())")
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw PostgresError(.embeddedServer, "cannot create \(directory.path): \(error.localizedDescription)")
        }
        let password = configuration.password ?? randomPassword()
        do throws(PostgresError) {
            try runAs.giveAway(directory.path)
            // The password goes to initdb in a file (a command line is visible to every user), deleted at once.
            let passwordFile = directory.appendingPathComponent("pwfile")
            try writeSecret(password + "\n", to: passwordFile)
            let outcome: ChildProcess.Outcome
            do throws(PostgresError) {
                try runAs.giveAway(passwordFile.path)
                var initdb = [
                    "-D", directory.appendingPathComponent("data").path, "-U", configuration.superuser,
                    "--encoding=UTF8", "--locale=C", "--auth=scram-sha-256", "--pwfile=\(passwordFile.path)",
                ]
                if !configuration.fsync { initdb.append("--no-sync") }
                outcome = try await runAs.run("\(binDirectory)/initdb", initdb, timeout: .seconds(120))
            } catch {
                unlink(passwordFile.path)
                throw error
            }
            unlink(passwordFile.path)
            guard outcome.status == 0 else {
                throw PostgresError(
                    .embeddedServer,
                    "initdb failed (status \(outcome.status.map(String.init) ?? "killed after 120 s")): "
                        + tail(outcome.output)
                )
            }
            var lastError: PostgresError?
            for _ in 0..<3 {
                let port = try freePort()
                let server = EmbeddedPostgres(
                    directory: directory, binDirectory: binDirectory, port: port, configuration: configuration,
                    password: password, runAs: runAs, logger: logger
                )
                do {
                    try await server.startServer()
                    logger.info(
                        "embedded PostgreSQL started",
                        metadata: ["postgres.port": "\(port)", "postgres.dir": "\(directory.path)"])
                    return server
                } catch {
                    lastError = error
                    let log = (try? String(contentsOf: server.logFile, encoding: .utf8)) ?? ""
                    guard log.contains("could not bind") || log.contains("already in use") else { break }
                }
            }
            throw lastError ?? PostgresError(.embeddedServer, "the server did not start")
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private func startServer() async throws(PostgresError) {
        var options = ["-p \(port)", "-k \(directory.path)", "-c listen_addresses=127.0.0.1"]
        if !configuration.fsync { options += ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"] }
        for (key, value) in configuration.settings.sorted(by: { $0.key < $1.key }) {
            options.append("-c \(key)=\(value)")
        }
        let seconds = max(1, Int(configuration.startTimeout.components.seconds))
        let outcome = try await runAs.run(
            "\(binDirectory)/pg_ctl",
            [
                "-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "\(seconds)", "-o",
                options.joined(separator: " "), "start",
            ],
            timeout: configuration.startTimeout + .seconds(10)
        )
        guard outcome.status == 0 else {
            _ = try? await runAs.run(
                "\(binDirectory)/pg_ctl", ["-D", dataDirectory.path, "-m", "immediate", "-w", "stop"],
                timeout: .seconds(30))
            let log = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            throw PostgresError(
                .embeddedServer,
                "PostgreSQL did not start within \(seconds) s on port \(port): "
                    + Self.tail(outcome.output) + " — server log: " + Self.tail(log)
            )
        }
    }

    /// The last lines of a log, for error messages.
    static func tail(_ text: String, lines: Int = 15) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: true).suffix(lines).joined(separator: " | ")
    }

    /// Finds the server binaries.
    /// - Parameter configured: a folder to use, or `nil` to search (`TONGBAN_PG_BINDIR`, `/usr/lib/postgresql/*/bin`,
    ///   `pg_config --bindir`).
    /// - Returns: a folder holding `initdb` and `pg_ctl`.
    /// - Throws: `PostgresError` `.embeddedServer` naming the package to install.
    public static func findBinaries(_ configured: String? = nil) async throws(PostgresError) -> String {
        let fileManager = FileManager.default
        func usable(_ directory: String) -> Bool {
            fileManager.isExecutableFile(atPath: "\(directory)/initdb")
                && fileManager.isExecutableFile(atPath: "\(directory)/pg_ctl")
        }
        let missing =
            "PostgreSQL server binaries not found: install the Debian package `postgresql` "
            + "(apt-get install postgresql)"
        if let explicit = configured ?? ProcessInfo.processInfo.environment["TONGBAN_PG_BINDIR"] {
            guard usable(explicit) else {
                throw PostgresError(.embeddedServer, "\(missing); \(explicit) has no initdb and pg_ctl")
            }
            return explicit
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fileManager.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { name in Int(name).map { ($0, "\(root)/\(name)/bin") } }
            .sorted { $0.0 > $1.0 }
        if let found = versions.first(where: { usable($0.1) }) { return found.1 }
        for pgConfig in ["/usr/bin/pg_config", "/usr/local/bin/pg_config"]
        where fileManager.isExecutableFile(atPath: pgConfig) {
            let outcome = try? await ChildProcess.run(pgConfig, ["--bindir"], timeout: .seconds(10))
            if let outcome, outcome.status == 0 {
                let directory = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
                if usable(directory) { return directory }
            }
        }
        throw PostgresError(.embeddedServer, missing)
    }

    /// A TCP port on 127.0.0.1 that nobody listens on right now.
    private static func freePort() throws(PostgresError) -> Int {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw PostgresError(.embeddedServer, "cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw PostgresError(.embeddedServer, "cannot bind a loopback socket to find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    // MARK: - Stopping

    /// Stops the server (`pg_ctl stop -m fast`: open connections are ended) and removes its directory.
    /// Calling it twice is harmless.
    /// - Throws: `PostgresError` `.embeddedServer` when `pg_ctl stop` fails (the directory is removed anyway).
    public func stop() async throws(PostgresError) {
        guard stopped.withLock({ stopped in !stopped ? (stopped = true, true).1 : false }) else { return }
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try await runAs.run(
            "\(binDirectory)/pg_ctl", ["-D", dataDirectory.path, "-m", "fast", "-w", "-t", "30", "stop"],
            timeout: .seconds(40)
        )
        guard outcome.status == 0 else {
            throw PostgresError(.embeddedServer, "pg_ctl stop failed: " + Self.tail(outcome.output))
        }
        logger.info("embedded PostgreSQL stopped", metadata: ["postgres.port": "\(port)"])
    }

    /// Restarts the server on the same port and data (`pg_ctl stop -m fast`, then start): every open connection
    /// is ended, committed data stays. For tests of what clients do when the server goes away and comes back.
    /// - Parameter downtime: how long the server stays down before it starts again.
    /// - Throws: `PostgresError` `.embeddedServer` when stopping or starting fails.
    public func restart(downtime: Duration = .zero) async throws(PostgresError) {
        let outcome = try await runAs.run(
            "\(binDirectory)/pg_ctl", ["-D", dataDirectory.path, "-m", "fast", "-w", "-t", "30", "stop"],
            timeout: .seconds(40)
        )
        guard outcome.status == 0 else {
            throw PostgresError(.embeddedServer, "pg_ctl stop failed: " + Self.tail(outcome.output))
        }
        if downtime > .zero { try? await Task.sleep(for: downtime) }
        try await startServer()
        logger.info("embedded PostgreSQL restarted", metadata: ["postgres.port": "\(port)"])
    }

    /// Stops the server without `async`, for `atexit` handlers: signals the postmaster (SIGINT, fast shutdown),
    /// waits up to 10 s for it to exit, and removes the directory.
    ///
    /// - Important: this blocks the calling thread. Call it only where no task can be waiting for the thread
    ///   (process exit); everywhere else use `stop()`.
    public func stopBlocking() {
        guard stopped.withLock({ stopped in !stopped ? (stopped = true, true).1 : false }) else { return }
        let pidFile = dataDirectory.appendingPathComponent("postmaster.pid")
        if let text = try? String(contentsOf: pidFile, encoding: .utf8),
            let line = text.split(separator: "\n").first, let pid = pid_t(line.trimmingCharacters(in: .whitespaces))
        {
            kill(pid, SIGINT)
            for _ in 0..<200 where kill(pid, 0) == 0 { usleep(50_000) }
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Who runs the server binaries: this process's user, or `postgres` through `runuser` when this process is root.
private struct RunAs: Sendable {
    let user: (name: String, uid: uid_t, gid: gid_t)?
    let runuser: String?

    static func current() throws(PostgresError) -> RunAs {
        guard getuid() == 0 else { return RunAs(user: nil, runuser: nil) }
        guard let entry = getpwnam("postgres") else {
            throw PostgresError(
                .embeddedServer,
                "running as root, and PostgreSQL refuses to run as root, but there is no `postgres` OS user to run "
                    + "it as: install the Debian package `postgresql` (it creates the user) or run as another user"
            )
        }
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let runuser else {
            throw PostgresError(
                .embeddedServer,
                "running as root needs `runuser` (Debian package util-linux) to start PostgreSQL as `postgres`")
        }
        return RunAs(user: ("postgres", entry.pointee.pw_uid, entry.pointee.pw_gid), runuser: runuser)
    }

    func giveAway(_ path: String) throws(PostgresError) {
        guard let user else { return }
        guard chown(path, user.uid, user.gid) == 0 else {
            throw PostgresError(.embeddedServer, "cannot hand \(path) to the postgres user (chown failed)")
        }
    }

    func run(_ executable: String, _ arguments: [String], timeout: Duration) async throws(PostgresError)
        -> ChildProcess.Outcome
    {
        if let user, let runuser {
            return try await ChildProcess.run(
                runuser, ["-u", user.name, "--", executable] + arguments, timeout: timeout)
        }
        return try await ChildProcess.run(executable, arguments, timeout: timeout)
    }
}
