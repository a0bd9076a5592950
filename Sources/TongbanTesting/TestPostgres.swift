import Foundation
public import Logging
public import Postgres
import Synchronization

/// A database made for one test: its name, a connection string for it, and a pool connected to it.
public struct TestDatabase: Sendable {
    /// The database's name (unique per test).
    public let name: String
    /// A key=value connection string for the database. For the embedded server it holds the server's password:
    /// give it to a child process through its environment (`DATABASE_URL`), never on its command line.
    public let conninfo: String
    /// A pool connected to the database; shut down when the test's closure returns.
    public let client: PostgresClient

    /// Describes a database set up elsewhere (e.g. on a test's own `EmbeddedPostgres`).
    /// - Parameters:
    ///   - name: the database's name.
    ///   - conninfo: a connection string for it.
    ///   - client: a pool connected to it.
    public init(name: String, conninfo: String, client: PostgresClient) {
        self.name = name
        self.conninfo = conninfo
        self.client = client
    }
}

/// The shared PostgreSQL server of a test process, and a fresh database for each test.
///
/// The server is `TONGBAN_TEST_DATABASE_URL` when set (a superuser URL or key=value string); otherwise one
/// `EmbeddedPostgres` cluster, started on first use and stopped when the process exits, whose random password the
/// connection strings carry. If the server binaries are
/// missing, every test that asks for a database fails with the message saying what to install.
public enum TestPostgres {
    /// A logger for tests: `notice` and above, so passing tests stay quiet.
    public static var logger: Logger {
        var logger = Logger(label: "tongban.test.postgres")
        logger.logLevel = .notice
        return logger
    }

    /// The connection string of the shared server's `postgres` database, starting the server if needed.
    /// - Returns: the connection string.
    /// - Throws: `PostgresError` `.embeddedServer` when the embedded server cannot start.
    public static func serverConninfo() async throws -> String {
        try await SharedServer.shared.conninfo()
    }

    /// Creates a database, runs `body` with it, then drops it (also when `body` throws).
    /// - Parameters:
    ///   - maxConnections: the size of the database's pool.
    ///   - body: the test.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw, or `PostgresError` when the server or the database cannot be set up.
    public static func withTestDatabase<T: Sendable>(
        maxConnections: Int = 8,
        _ body: (TestDatabase) async throws -> T
    ) async throws -> T {
        let server = try await serverConninfo()
        let name = "tb_test_" + UUID().uuidString.prefix(12).lowercased()
        try await admin(server) { try await $0.execute("CREATE DATABASE \(identifier: name)") }
        let conninfo = try PostgresConnectionString.setting(["dbname": name], in: server)
        let client = PostgresClient(
            configuration: .init(conninfo: conninfo, maxConnections: maxConnections),
            logger: logger
        )
        let result: Result<T, any Error>
        do {
            result = .success(try await body(TestDatabase(name: name, conninfo: conninfo, client: client)))
        } catch {
            result = .failure(error)
        }
        await client.shutdown()
        try await admin(server) { try await $0.execute("DROP DATABASE IF EXISTS \(identifier: name) WITH (FORCE)") }
        return try result.get()
    }

    private static func admin(_ conninfo: String, _ body: (PostgresConnection) async throws -> Void) async throws {
        let connection = try await PostgresConnection.connect(conninfo, logger: logger)
        do {
            try await body(connection)
            await connection.close()
        } catch {
            await connection.close()
            throw error
        }
    }
}

/// Runs `body` with a fresh database on the shared test server; see `TestPostgres.withTestDatabase`.
/// - Parameters:
///   - maxConnections: the size of the database's pool.
///   - body: the test.
/// - Returns: what `body` returned.
/// - Throws: what `body` threw, or `PostgresError` when the server or the database cannot be set up.
public func withTestDatabase<T: Sendable>(
    maxConnections: Int = 8,
    _ body: (TestDatabase) async throws -> T
) async throws -> T {
    try await TestPostgres.withTestDatabase(maxConnections: maxConnections, body)
}

/// Starts the shared server once; every caller waits for the same start and sees the same failure.
private actor SharedServer {
    static let shared = SharedServer()
    /// The embedded cluster, for the `atexit` handler.
    static let embedded = Mutex<EmbeddedPostgres?>(nil)

    private enum State {
        case idle
        case starting([CheckedContinuation<String, any Error>])
        case ready(String)
        case failed(any Error)
    }
    private var state = State.idle

    func conninfo() async throws -> String {
        switch state {
        case .ready(let conninfo): return conninfo
        case .failed(let error): throw error
        case .starting:
            return try await withCheckedThrowingContinuation { continuation in
                guard case .starting(var waiters) = state else {
                    preconditionFailure("no suspension between the check and here")
                }
                waiters.append(continuation)
                state = .starting(waiters)
            }
        case .idle:
            state = .starting([])
            let outcome: Result<String, any Error>
            do {
                outcome = .success(try await start())
            } catch {
                outcome = .failure(error)
            }
            guard case .starting(let waiters) = state else { preconditionFailure("only this call leaves .starting") }
            switch outcome {
            case .success(let conninfo): state = .ready(conninfo)
            case .failure(let error): state = .failed(error)
            }
            for waiter in waiters { waiter.resume(with: outcome) }
            return try outcome.get()
        }
    }

    private func start() async throws -> String {
        if let url = ProcessInfo.processInfo.environment["TONGBAN_TEST_DATABASE_URL"], !url.isEmpty { return url }
        let server = try await EmbeddedPostgres.start(
            .init(settings: ["max_connections": "300"]),
            logger: TestPostgres.logger
        )
        Self.embedded.withLock { $0 = server }
        atexit {
            SharedServer.embedded.withLock { server in
                server?.stopBlocking()
                server = nil
            }
        }
        return server.conninfo()
    }
}
