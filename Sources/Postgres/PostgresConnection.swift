public import Foundation
public import Logging
import TongbanConcurrency

/// One PostgreSQL connection, running every libpq call on a thread of its own.
///
/// The actor's executor is a `BlockingExecutor`, so blocking libpq calls never hold a thread of Swift's
/// cooperative pool (README, "Concurrency", shape 4). The public methods are `nonisolated async`: each hops onto the
/// connection's thread, runs synchronously there, and is cancelled on the server (`PQcancel`) when the calling
/// task is cancelled. Calls from several tasks run one after another.
///
/// ```swift
/// let connection = try await PostgresConnection.connect("postgresql://app@db/tongban", logger: logger)
/// let rows = try await connection.query("SELECT name FROM person WHERE id = \(id)")
/// await connection.close()
/// ```
/// Most code uses `PostgresClient`, a pool of these.
public actor PostgresConnection {
    private let executor: BlockingExecutor
    private var handle: PQConnectionHandle
    private nonisolated let cancellation: PQCancelHandle
    /// The logger this connection was given.
    public nonisolated let logger: Logger
    /// The server process id serving this connection (`pg_backend_pid()`), for logs and `pg_cancel_backend`.
    public nonisolated let backendPID: Int32

    /// The connection's own executor (a dedicated thread).
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private init(
        executor: BlockingExecutor,
        handle: PQConnectionHandle,
        cancellation: PQCancelHandle,
        backendPID: Int32,
        logger: Logger
    ) {
        self.executor = executor
        self.handle = handle
        self.cancellation = cancellation
        self.backendPID = backendPID
        self.logger = logger
    }

    /// Opens a connection.
    ///
    /// `conninfo` goes to libpq unchanged, so every libpq keyword and `PG*` environment variable works
    /// (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `~/.pgpass`, `sslmode`, …). When neither the string
    /// nor the environment sets them, `connect_timeout=10` (so an unreachable server fails in bounded time),
    /// `fallback_application_name=tongban`, `client_encoding=UTF8` and `options=-c DateStyle=ISO` are added.
    /// - Parameters:
    ///   - conninfo: a `postgresql://` URL, `key=value` pairs, or "" for libpq's defaults and `PG*` variables.
    ///   - connectTimeout: overrides any `connect_timeout` (rounded up to whole seconds, at least 1).
    ///   - logger: used for connection events and statement traces (SQL text only, never values).
    /// - Returns: the open connection.
    /// - Throws: `PostgresError` `.connect`, `.authentication` or `.timeout`, with a message naming what to fix.
    public static func connect(
        _ conninfo: String = "",
        connectTimeout: Duration? = nil,
        logger: Logger
    ) async throws(PostgresError) -> PostgresConnection {
        let executor = BlockingExecutor(label: "tongban.postgres.connection")
        let result = await executor.run { () -> Result<PQConnected, PostgresError> in
            PQConnectionHandle.connect(conninfo: conninfo, connectTimeout: connectTimeout, logger: logger).map(
                PQConnected.init)
        }
        let connected = try result.get()
        var logger = logger
        logger[metadataKey: "postgres.backend_pid"] = "\(connected.backendPID)"
        logger.debug("connected to PostgreSQL")
        return PostgresConnection(
            executor: executor,
            handle: connected.handle,
            cancellation: connected.cancel,
            backendPID: connected.backendPID,
            logger: logger
        )
    }

    /// Closes the connection. Later calls fail with `.connectionClosed`. Calling it twice is harmless.
    public func close() {
        handle.close()
    }

    /// Whether the connection is open and healthy.
    public var isUsable: Bool { handle.isUsable }

    /// Whether the connection is open, healthy and outside any transaction (safe to hand to someone else).
    var isReusable: Bool { handle.isIdleOutsideTransaction }

    // MARK: - Statements

    /// Runs one statement and returns its rows.
    /// - Parameter query: the statement; interpolated values are sent as parameters.
    /// - Returns: the rows (empty for statements that return none) and the affected-row count.
    /// - Throws: `PostgresError`: `.query` (see `sqlState`), `.serializationFailure`, `.cancelled` when the task was
    ///   cancelled, `.timeout`, `.connectionClosed`.
    public nonisolated func query(_ query: PostgresQuery) async throws(PostgresError) -> PostgresRows {
        try await cancellable { connection throws(PostgresError) in
            connection.logger.trace("query", metadata: ["postgres.sql": "\(query.sql)"])
            return try connection.handle.execute(query)
        }
    }

    /// Runs one statement and returns the number of rows it inserted, updated or deleted.
    /// - Parameter query: the statement; interpolated values are sent as parameters.
    /// - Returns: the affected-row count from the command tag (`PQcmdTuples`).
    /// - Throws: `PostgresError`, as `query(_:)`.
    @discardableResult
    public nonisolated func execute(_ query: PostgresQuery) async throws(PostgresError) -> Int {
        try await self.query(query).rowsAffected
    }

    /// Runs SQL text that may hold several statements, with the simple query protocol and no parameters.
    ///
    /// - Important: for SQL your program controls (migrations, fixtures); never build the text from input.
    /// - Parameter sql: the statements, separated by semicolons.
    /// - Returns: the last statement's rows.
    /// - Throws: `PostgresError`, as `query(_:)`.
    @discardableResult
    public nonisolated func executeScript(_ sql: String) async throws(PostgresError) -> PostgresRows {
        try await cancellable { connection throws(PostgresError) in try connection.handle.executeScript(sql) }
    }

    /// Sends all statements at once in libpq's pipeline mode, then reads every result.
    ///
    /// Outside an explicit transaction the statements form one implicit transaction: if any fails, none of them
    /// commits. Inside `BEGIN … COMMIT` a failure leaves the transaction aborted, as any failed statement does.
    /// - Parameter queries: the statements, in order.
    /// - Returns: one `PostgresRows` per statement.
    /// - Throws: `PostgresError` naming the index (from 0) of the first statement that failed, with its code and
    ///   SQLSTATE; `.cancelled` when the task was cancelled.
    public nonisolated func pipeline(_ queries: [PostgresQuery]) async throws(PostgresError) -> [PostgresRows] {
        try await cancellable { connection throws(PostgresError) in try connection.handle.pipeline(queries) }
    }

    /// Runs a block of synchronous work on the connection's own thread, with cancellation support.
    private nonisolated func cancellable<T: Sendable>(
        _ operation: @escaping @Sendable (isolated PostgresConnection) throws(PostgresError) -> T
    ) async throws(PostgresError) -> T {
        let id = cancellation.makeID()
        defer { cancellation.forget(id) }
        let result = await withTaskCancellationHandler {
            await self.run(id: id, operation)
        } onCancel: {
            self.cancellation.requestCancel(id)
        }
        return try result.get()
    }

    private func run<T>(
        id: UInt64,
        _ operation: (isolated PostgresConnection) throws(PostgresError) -> T
    ) -> Result<T, PostgresError> {
        guard cancellation.begin(id) else {
            return .failure(PostgresError(.cancelled, "the task was cancelled before the statement started"))
        }
        let result = Result { () throws(PostgresError) -> T in try operation(self) }
        if cancellation.end(id), case .failure(let error) = result, error.sqlState == "57014" {
            return .failure(PostgresError(.cancelled, "the statement was cancelled with its task", sqlState: "57014"))
        }
        return result
    }

    /// Runs one statement without cancellation support (ROLLBACK and other clean-up must not be cancelled).
    func executeUncancellable(_ sql: String) throws(PostgresError) {
        _ = try handle.executeScript(sql)
    }

    // MARK: - COPY

    /// Streams bytes into `COPY … FROM STDIN` exactly as given (text, CSV or binary, whatever `sql` says).
    /// - Parameters:
    ///   - sql: the COPY statement, for example `COPY person FROM STDIN (FORMAT csv)`.
    ///   - chunks: the data, in pieces of any size.
    /// - Returns: the number of rows copied.
    /// - Throws: `PostgresError` `.query` when the server rejects the statement or the data (the COPY then
    ///   copies nothing), `.cancelled`, `.connectionClosed`.
    public nonisolated func copyIn(
        _ sql: String,
        chunks: some Sequence<[UInt8]> & Sendable
    ) async throws(PostgresError) -> Int {
        try await cancellable { connection throws(PostgresError) in
            try connection.handle.copyIn(sql) { send throws(PostgresError) in
                for chunk in chunks {
                    try chunk.withUnsafeBytes { bytes in Result { () throws(PostgresError) in try send(bytes) } }.get()
                }
            }
        }
    }

    /// Streams a file into `COPY … FROM STDIN`, reading it in chunks on the connection's thread.
    /// - Parameters:
    ///   - sql: the COPY statement, for example `COPY person FROM STDIN`.
    ///   - file: the file to send as it is.
    ///   - chunkSize: how many bytes to read and send at a time.
    /// - Returns: the number of rows copied.
    /// - Throws: `PostgresError` `.query` when the file cannot be read or the server rejects the data (nothing is
    ///   copied then), `.cancelled`, `.connectionClosed`.
    public nonisolated func copyIn(
        _ sql: String,
        file: URL,
        chunkSize: Int = 1 << 20
    ) async throws(PostgresError) -> Int {
        try await cancellable { connection throws(PostgresError) in
            let handle: FileHandle
            do {
                handle = try FileHandle(forReadingFrom: file)
            } catch {
                throw PostgresError(.query, "cannot read \(file.path) for COPY: \(error.localizedDescription)")
            }
            defer { try? handle.close() }
            return try connection.handle.copyIn(sql) { send throws(PostgresError) in
                while true {
                    let data: Data?
                    do {
                        data = try handle.read(upToCount: chunkSize)
                    } catch {
                        throw PostgresError(
                            .query, "reading \(file.path) for COPY failed: \(error.localizedDescription)")
                    }
                    guard let data, !data.isEmpty else { return }
                    try data.withUnsafeBytes { bytes in Result { () throws(PostgresError) in try send(bytes) } }.get()
                }
            }
        }
    }

    /// Copies rows into a table with PostgreSQL's binary COPY format, the fastest way to load data.
    ///
    /// `body` runs on the connection's thread and appends rows to the writer; full chunks are sent as it goes.
    /// ```swift
    /// let copied = try await connection.copyInBinary(table: "person", columns: ["id", "name"]) { writer in
    ///     for person in people { writer.appendRow(person.id, person.name) }
    /// }
    /// ```
    /// - Important: binary COPY does not convert types: each value's Swift type must match its column exactly
    ///   (`Int64`/`Int` for `int8`, `Int32` for `int4`, `Int16` for `int2`, `Double` for `float8`, `String` for
    ///   `text`/`varchar`, `[UInt8]` for `bytea`, `Date` for `timestamptz`, `UUID`, `PostgresJSONB` for `jsonb`).
    /// - Parameters:
    ///   - table: the table, spliced as written (may be schema-qualified): only names your code controls.
    ///   - columns: the columns each row fills, in order (quoted).
    ///   - chunkSize: how many bytes to buffer before sending.
    ///   - body: appends the rows; if it throws, the COPY is aborted and nothing is copied.
    /// - Returns: the number of rows copied.
    /// - Throws: `PostgresError` `.query` when the server rejects the data, `.cancelled`, `.connectionClosed`, or
    ///   `.query` wrapping an error `body` threw.
    public nonisolated func copyInBinary(
        table: String,
        columns: [String],
        chunkSize: Int = 1 << 20,
        _ body: @escaping @Sendable (inout PostgresCopyWriter) throws -> Void
    ) async throws(PostgresError) -> Int {
        let sql =
            "COPY \(table) (\(columns.map(PostgresQuery.quoteIdentifier).joined(separator: ", "))) "
            + "FROM STDIN (FORMAT binary)"
        return try await cancellable { connection throws(PostgresError) in
            try connection.handle.copyIn(sql) { send throws(PostgresError) in
                let result = withoutActuallyEscaping(send) { send -> Result<Void, PostgresError> in
                    var writer = PostgresCopyWriter(chunkSize: chunkSize, sink: send)
                    do {
                        try body(&writer)
                    } catch let error as PostgresError {
                        return .failure(error)
                    } catch {
                        return .failure(PostgresError(.query, "the COPY rows could not be produced: \(error)"))
                    }
                    return Result { () throws(PostgresError) in try writer.finishStreaming() }
                }
                try result.get()
            }
        }
    }

    // MARK: - Transactions

    /// Runs `body` inside `BEGIN … COMMIT` on this connection; rolls back if `body` or the commit throws.
    ///
    /// No retries here: `PostgresClient.withTransaction` retries serialization failures and deadlocks.
    /// - Parameters:
    ///   - isolation: the isolation level, or `nil` for the server's default (normally read committed).
    ///   - body: the work; it gets this connection.
    /// - Returns: what `body` returned.
    /// - Throws: what `body` threw, or `PostgresError` from BEGIN/COMMIT.
    public nonisolated func withTransaction<T: Sendable>(
        isolation: PostgresIsolationLevel? = nil,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await execute(PostgresQuery(unsafeSQL: isolation.map { "BEGIN ISOLATION LEVEL \($0.sql)" } ?? "BEGIN"))
        let value: T
        do {
            value = try await body(self)
        } catch {
            await rollback()
            throw error
        }
        do {
            try await execute("COMMIT")
        } catch {
            await rollback()
            throw error
        }
        return value
    }

    /// Rolls back, ignoring failures: a broken connection rolls back by itself when it closes.
    func rollback() {
        do {
            try executeUncancellable("ROLLBACK")
        } catch {
            logger.debug("ROLLBACK failed", metadata: ["error": "\(error)"])
        }
    }
}

/// The values `PQConnectionHandle.connect` hands from the connecting thread to the actor.
private struct PQConnected: Sendable {
    let handle: PQConnectionHandle
    let cancel: PQCancelHandle
    let backendPID: Int32
    init(_ value: (PQConnectionHandle, PQCancelHandle, Int32)) {
        (handle, cancel, backendPID) = value
    }
}

/// A transaction isolation level.
public struct PostgresIsolationLevel: Hashable, Sendable {
    let sql: String
    /// `READ COMMITTED`, PostgreSQL's default.
    public static let readCommitted = PostgresIsolationLevel(sql: "READ COMMITTED")
    /// `REPEATABLE READ`: one snapshot for the whole transaction.
    public static let repeatableRead = PostgresIsolationLevel(sql: "REPEATABLE READ")
    /// `SERIALIZABLE`: as if transactions ran one at a time; may fail with 40001, which `withTransaction` retries.
    public static let serializable = PostgresIsolationLevel(sql: "SERIALIZABLE")
}
