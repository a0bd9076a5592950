public import Logging
public import ServiceLifecycle
import Synchronization

/// A bounded pool of `PostgresConnection`s, and the way most code talks to PostgreSQL.
///
/// Connections open lazily, up to `maxConnections`; callers wait when all are busy. A broken connection, or one
/// handed back inside a transaction, is closed and replaced on demand. Run it in a `ServiceGroup` (its `run()`
/// returns on graceful shutdown and closes every connection), or, for short commands, use it directly and call
/// `shutdown()` at the end.
/// ```swift
/// let client = PostgresClient(configuration: .init(conninfo: url), logger: logger)
/// let count = try await client.query("SELECT count(*) FROM person").first?.decode(Int.self, at: 0)
/// await client.shutdown()
/// ```
public final class PostgresClient: Service, Sendable {
    /// How to reach the server and how large the pool may grow.
    public struct Configuration: Sendable {
        /// A libpq URL or key=value string; "" uses libpq's defaults and the `PG*` environment variables.
        public var conninfo: String
        /// The most connections open at once. Default 8.
        public var maxConnections: Int
        /// How long opening one connection may take (libpq `connect_timeout`, whole seconds). Default 10 s.
        public var connectTimeout: Duration

        /// Creates a configuration.
        /// - Parameters:
        ///   - conninfo: a libpq URL or key=value string; "" for libpq's defaults and `PG*` variables.
        ///   - maxConnections: the most connections open at once (at least 1).
        ///   - connectTimeout: how long opening one connection may take.
        public init(conninfo: String = "", maxConnections: Int = 8, connectTimeout: Duration = .seconds(10)) {
            self.conninfo = conninfo
            self.maxConnections = max(1, maxConnections)
            self.connectTimeout = connectTimeout
        }
    }

    private enum Lease: Sendable {
        case connection(PostgresConnection)
        case openSlot
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Lease, any Error>
    }

    private struct State {
        var idle: [PostgresConnection] = []
        var open = 0  // connections open or being opened
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var isShutDown = false
    }

    /// The pool's configuration.
    public let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates a pool; no connection opens until the first use.
    /// - Parameters:
    ///   - configuration: the server and the pool size.
    ///   - logger: for pool events; also handed to each connection.
    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Waits for graceful shutdown (ServiceLifecycle), then closes every connection.
    /// - Throws: nothing in practice; cancellation also leads to shutdown.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes idle connections, fails waiting callers, and closes busy connections when they come back.
    ///
    /// Afterwards every call fails with `PostgresError` `.poolShutdown`. Calling it twice is harmless.
    public func shutdown() async {
        let (idle, waiters) = state.withLock { state in
            state.isShutDown = true
            defer {
                state.open -= state.idle.count
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: Self.shutDownError()) }
        for connection in idle { await connection.close() }
        logger.debug("PostgreSQL pool shut down", metadata: ["postgres.closed": "\(idle.count)"])
    }

    private static func shutDownError() -> PostgresError {
        PostgresError(.poolShutdown, "the PostgreSQL pool has been shut down")
    }

    // MARK: - Leasing

    /// Lends a connection to `body`, and takes it back afterwards.
    ///
    /// - Important: don't keep the connection after `body` returns. If `body` leaves a transaction open, the
    ///   connection is closed rather than reused.
    /// - Parameter body: the work.
    /// - Returns: what `body` returned.
    /// - Throws: `PostgresError` when no connection can be opened (`.connect`, `.authentication`, `.timeout`) or
    ///   the pool is shut down (`.poolShutdown`), `CancellationError` when cancelled while waiting, or what `body`
    ///   threw.
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await lease()
        do {
            let value = try await body(connection)
            await release(connection)
            return value
        } catch {
            await release(connection)
            throw error
        }
    }

    private func lease() async throws -> PostgresConnection {
        enum Action { case use(PostgresConnection), connect, wait, fail }
        let action: Action = state.withLock { state in
            if state.isShutDown { return .fail }
            if let connection = state.idle.popLast() { return .use(connection) }
            if state.open < configuration.maxConnections {
                state.open += 1
                return .connect
            }
            return .wait
        }
        switch action {
        case .use(let connection): return connection
        case .connect: return try await openConnection()
        case .fail: throw Self.shutDownError()
        case .wait:
            switch try await waitForLease() {
            case .connection(let connection): return connection
            case .openSlot: return try await openConnection()
            }
        }
    }

    /// Opens a connection for a slot already counted in `open`; gives the slot back on failure.
    private func openConnection() async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(
                configuration.conninfo,
                connectTimeout: configuration.connectTimeout,
                logger: logger
            )
        } catch {
            freeSlot()
            throw error
        }
    }

    private func waitForLease() async throws -> Lease {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                let immediate: (any Error)? = state.withLock { state in
                    if state.isShutDown { return Self.shutDownError() }
                    if Task.isCancelled { return CancellationError() }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(throwing: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// A slot opened up (a connection closed or failed to open): let the first waiter open one.
    private func freeSlot() {
        let waiter = state.withLock { state -> Waiter? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.open -= 1
            return nil
        }
        waiter?.continuation.resume(returning: .openSlot)
    }

    private func release(_ connection: PostgresConnection) async {
        guard await connection.isReusable else {
            logger.debug("discarding a broken connection or one left inside a transaction")
            await connection.close()
            freeSlot()
            return
        }
        enum Action { case handOver(Waiter), keep, close }
        let action: Action = state.withLock { state in
            if state.isShutDown {
                state.open -= 1
                return .close
            }
            if !state.waiters.isEmpty { return .handOver(state.waiters.removeFirst()) }
            state.idle.append(connection)
            return .keep
        }
        switch action {
        case .handOver(let waiter): waiter.continuation.resume(returning: .connection(connection))
        case .close: await connection.close()
        case .keep: break
        }
    }

    // MARK: - Convenience

    /// Runs one statement on a pooled connection.
    /// - Parameter query: the statement; interpolated values are sent as parameters.
    /// - Returns: the rows.
    /// - Throws: `PostgresError`, as `PostgresConnection.query(_:)` and `withConnection(_:)`.
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { try await $0.query(query) }
    }

    /// Runs one statement on a pooled connection and returns the affected-row count.
    /// - Parameter query: the statement; interpolated values are sent as parameters.
    /// - Returns: the number of rows inserted, updated or deleted.
    /// - Throws: `PostgresError`, as `PostgresConnection.query(_:)` and `withConnection(_:)`.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await withConnection { try await $0.execute(query) }
    }

    /// Runs `body` in a transaction, retrying the whole transaction on serialization failure (40001) or
    /// deadlock (40P01).
    ///
    /// Each attempt takes a connection, runs `BEGIN`, `body` and `COMMIT`; any error rolls back. Between attempts
    /// it waits a little (5 ms, 10 ms, 20 ms … up to 200 ms, with jitter). `body` may run more than once, so it must
    /// not have effects outside the transaction.
    /// - Parameters:
    ///   - isolation: the isolation level, or `nil` for the server's default.
    ///   - maxAttempts: how many times to try in all (at least 1). Default 5.
    ///   - body: the transaction's work.
    /// - Returns: what `body` returned in the attempt that committed.
    /// - Throws: the last attempt's error: `PostgresError` (`.serializationFailure` when retries ran out) or what
    ///   `body` threw.
    public func withTransaction<T: Sendable>(
        isolation: PostgresIsolationLevel? = nil,
        maxAttempts: Int = 5,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection { connection in
                    try await connection.withTransaction(isolation: isolation, body)
                }
            } catch let error as PostgresError where error.code == .serializationFailure && attempt < maxAttempts {
                let base = min(200, 5 << min(attempt - 1, 6))
                logger.debug(
                    "retrying transaction",
                    metadata: ["postgres.attempt": "\(attempt)", "postgres.sqlstate": "\(error.sqlState ?? "-")"]
                )
                try await Task.sleep(for: .milliseconds(Int.random(in: base / 2...base)))
                attempt += 1
            }
        }
    }
}
