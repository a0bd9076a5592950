internal import CLibPQ
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Owns one `PGconn*`. Used only on its `PostgresConnection`'s executor (one thread), except `deinit`.
final class PQConnectionHandle: @unchecked Sendable {
    // @unchecked Sendable: the handle is created on the connection's BlockingExecutor and handed once to the actor
    // that runs on that same executor; from then on only that actor touches `conn`.
    private var conn: OpaquePointer?
    /// The notice receiver's context. Declared after `conn`, and `deinit` finishes `conn` first, so it outlives
    /// every callback.
    private let notices: PQNoticeContext

    private init(conn: OpaquePointer, logger: Logger) {
        self.conn = conn
        self.notices = PQNoticeContext(logger: logger)
        PQsetNoticeReceiver(conn, pqNoticeReceiver, Unmanaged.passUnretained(notices).toOpaque())
    }

    deinit {
        if let conn { PQfinish(conn) }
    }

    /// Closes the connection (sends Terminate). Safe to call twice.
    func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    // MARK: - Connecting

    /// Connects with `PQconnectdbParams`, expanding `conninfo` (URL or key=value) and letting libpq apply the `PG*`
    /// environment variables. Adds `connect_timeout=10`, `fallback_application_name=tongban` and
    /// `client_encoding=UTF8` when neither the string nor the environment sets them.
    static func connect(
        conninfo: String,
        connectTimeout: Duration?,
        logger: Logger
    ) -> Result<(PQConnectionHandle, PQCancelHandle, Int32), PostgresError> {
        let given: [String: String]
        switch PQConnInfo.parse(conninfo) {
        case .success(let options): given = options
        case .failure(let error): return .failure(error)
        }
        let environment = PQConnInfo.defaults()
        var pairs: [(String, String)] = [("fallback_application_name", "tongban")]
        func isSet(_ key: String) -> Bool { given[key] != nil || !(environment[key] ?? "").isEmpty }
        if !isSet("connect_timeout") { pairs.append(("connect_timeout", "10")) }
        if !isSet("client_encoding") { pairs.append(("client_encoding", "UTF8")) }
        if !isSet("options") { pairs.append(("options", "-c DateStyle=ISO")) }
        pairs.append(("dbname", conninfo))  // expanded; its keys override the defaults above
        if let connectTimeout {
            let seconds = max(
                1,
                Int(
                    (Double(connectTimeout.components.seconds)
                        + Double(connectTimeout.components.attoseconds) / 1e18).rounded(.up)))
            pairs.append(("connect_timeout", String(seconds)))
        }

        let conn = withCStringArray(pairs.map(\.0)) { keys in
            withCStringArray(pairs.map(\.1)) { values in PQconnectdbParams(keys, values, 1) }
        }
        guard let conn else {
            return .failure(PostgresError(.connect, "could not allocate a libpq connection (out of memory)"))
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let error = connectError(conn, given: given)
            PQfinish(conn)
            return .failure(error)
        }
        guard let cancel = PQgetCancel(conn) else {
            PQfinish(conn)
            return .failure(PostgresError(.protocolViolation, "libpq returned no cancel handle"))
        }
        return .success(
            (PQConnectionHandle(conn: conn, logger: logger), PQCancelHandle(pointer: cancel), PQbackendPID(conn)))
    }

    /// Turns libpq's connection failure into an error that says what to fix.
    private static func connectError(_ conn: OpaquePointer, given: [String: String]) -> PostgresError {
        let raw = string(PQerrorMessage(conn)) ?? ""
        let host = string(PQhost(conn)) ?? "localhost"
        let port = string(PQport(conn)) ?? "5432"
        let user = string(PQuser(conn)) ?? "?"
        let database = string(PQdb(conn)) ?? "?"
        let target = host.hasPrefix("/") ? "the socket in \(host) (port \(port))" : "\(host):\(port)"
        let text = raw.lowercased()
        let server = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.contains("password authentication failed") || text.contains("no password supplied")
            || text.contains("scram") || text.contains("authentication failed")
        {
            return PostgresError(
                .authentication,
                "authentication failed for user \"\(user)\" at \(target): check PGPASSWORD / the password in the "
                    + "connection string (or ~/.pgpass)",
                sqlState: "28P01",
                serverMessage: server
            )
        }
        if text.contains("no pg_hba.conf entry") {
            return PostgresError(
                .authentication,
                "the server at \(target) does not accept user \"\(user)\" from this host (pg_hba.conf): ask its "
                    + "administrator for access or connect as another user",
                sqlState: "28000",
                serverMessage: server
            )
        }
        if text.contains("role") && text.contains("does not exist") {
            return PostgresError(
                .authentication,
                "user \"\(user)\" does not exist on \(target): set PGUSER or the user in the connection string",
                sqlState: "28000",
                serverMessage: server
            )
        }
        if text.contains("database") && text.contains("does not exist") {
            return PostgresError(
                .connect,
                "database \"\(database)\" does not exist on \(target): create it or fix PGDATABASE / the database "
                    + "in the connection string",
                sqlState: "3D000",
                serverMessage: server
            )
        }
        if text.contains("timeout expired") {
            return PostgresError(
                .timeout,
                "could not connect to \(target) within connect_timeout: is the host reachable and PostgreSQL running? "
                    + "set PGHOST/PGPORT or --database-url",
                serverMessage: server,
                isRetriable: true
            )
        }
        return PostgresError(
            .connect,
            "could not connect to \(target): is PostgreSQL running? set PGHOST/PGPORT or --database-url",
            serverMessage: server,
            isRetriable: true
        )
    }

    // MARK: - State

    var isUsable: Bool {
        guard let conn else { return false }
        return PQstatus(conn) == CONNECTION_OK
    }

    /// Whether the connection is idle outside a transaction (the only state a pool may reuse).
    var isIdleOutsideTransaction: Bool {
        guard let conn, PQstatus(conn) == CONNECTION_OK else { return false }
        return PQtransactionStatus(conn) == PQTRANS_IDLE
    }

    private func connection() throws(PostgresError) -> OpaquePointer {
        guard let conn else { throw PostgresError(.connectionClosed, "the connection is closed") }
        return conn
    }

    // MARK: - Statements

    /// Runs one statement with `PQexecParams` (text results) and copies the result out.
    func execute(_ query: PostgresQuery) throws(PostgresError) -> PostgresRows {
        let conn = try connection()
        try Self.check(query.binds)
        let result = withParameters(query.binds) { types, values, lengths, formats in
            PQexecParams(conn, query.sql, Int32(query.binds.count), types, values, lengths, formats, 0)
        }
        return try consume(result, expectCopy: false)
    }

    /// Runs SQL text with `PQexec` (simple protocol: several statements allowed, no parameters).
    func executeScript(_ sql: String) throws(PostgresError) -> PostgresRows {
        let conn = try connection()
        return try consume(PQexec(conn, sql), expectCopy: false)
    }

    private static func check(_ binds: PostgresBindings) throws(PostgresError) {
        if let invalid = binds.invalid { throw PostgresError(.query, invalid.reason) }
        if binds.count > 65_535 {
            throw PostgresError(.query, "\(binds.count) parameters: PostgreSQL accepts at most 65,535 in a statement")
        }
    }

    /// Lends libpq the parameter arrays; the pointers are valid only inside `body`.
    private func withParameters<R>(
        _ binds: PostgresBindings,
        _ body: (
            UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?
        ) -> R
    ) -> R {
        binds.bytes.withUnsafeBytes { raw in
            var values = [UnsafePointer<CChar>?](repeating: nil, count: binds.count)
            if let base = raw.baseAddress {
                for i in 0..<binds.count where binds.lengths[i] >= 0 {
                    values[i] = (base + binds.offsets[i]).assumingMemoryBound(to: CChar.self)
                }
            }
            return binds.types.withUnsafeBufferPointer { types in
                values.withUnsafeBufferPointer { values in
                    binds.lengths.withUnsafeBufferPointer { lengths in
                        binds.formats.withUnsafeBufferPointer { formats in
                            body(types.baseAddress, values.baseAddress, lengths.baseAddress, formats.baseAddress)
                        }
                    }
                }
            }
        }
    }

    /// Copies a result out, clears it, and drains any further results of the same call.
    private func consume(_ result: OpaquePointer?, expectCopy: Bool) throws(PostgresError) -> PostgresRows {
        guard let result else { throw lostOrFailed() }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        switch status {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_SINGLE_TUPLE, PGRES_EMPTY_QUERY:
            return PQResult.rows(result)
        case PGRES_COPY_IN where expectCopy:
            return .empty()
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            abortCopy()
            throw PostgresError(.protocolViolation, "COPY needs copyIn(_:chunks:) or copyInBinary(table:columns:_:)")
        default:
            throw PQResult.error(result, connectionBad: !isUsable)
        }
    }

    /// The error for a call that returned no result at all: a lost connection or out of memory.
    private func lostOrFailed() -> PostgresError {
        let message = conn.flatMap { Self.string(PQerrorMessage($0)) }
        if !isUsable {
            return PostgresError(.connectionClosed, "the connection to the server was lost", serverMessage: message)
        }
        return PostgresError(.protocolViolation, "libpq returned no result", serverMessage: message)
    }

    private func abortCopy() {
        guard let conn else { return }
        _ = PQputCopyEnd(conn, "COPY is not supported through this call")
        while let next = PQgetResult(conn) { PQclear(next) }
    }

    // MARK: - COPY FROM STDIN

    /// Starts `sql` (a `COPY … FROM STDIN`), lets `produce` send data through `send`, ends the copy and returns
    /// the number of rows copied. If `produce` throws, the copy is aborted on the server and the error rethrown.
    func copyIn(
        _ sql: String,
        _ produce: (_ send: (UnsafeRawBufferPointer) throws(PostgresError) -> Void) throws(PostgresError) -> Void
    ) throws(PostgresError) -> Int {
        let conn = try connection()
        _ = try consume(PQexec(conn, sql), expectCopy: true)
        var sendFailure: PostgresError?
        var produceError: PostgresError?
        do {
            try produce { (bytes: UnsafeRawBufferPointer) throws(PostgresError) in
                var offset = 0
                while offset < bytes.count {
                    let count = min(bytes.count - offset, 1 << 26)
                    let pointer = bytes.baseAddress.map { ($0 + offset).assumingMemoryBound(to: CChar.self) }
                    guard PQputCopyData(conn, pointer, Int32(count)) == 1 else {
                        let error = PostgresError(
                            .connectionClosed,
                            "sending COPY data failed",
                            serverMessage: Self.string(PQerrorMessage(conn))
                        )
                        sendFailure = error
                        throw error
                    }
                    offset += count
                }
            }
        } catch {
            produceError = error
        }
        if sendFailure == nil {
            _ = PQputCopyEnd(conn, produceError == nil ? nil : "aborted by the client")
        }
        var copied = 0
        var serverError: PostgresError?
        while let result = PQgetResult(conn) {
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK: copied = PQResult.rowsAffected(result)
            case PGRES_COPY_IN: _ = PQputCopyEnd(conn, "unexpected COPY state")
            default: serverError = serverError ?? PQResult.error(result, connectionBad: !isUsable)
            }
            PQclear(result)
        }
        if let produceError { throw produceError }
        if let serverError { throw serverError }
        if let sendFailure { throw sendFailure }
        return copied
    }

    // MARK: - Pipeline

    /// Sends every query in pipeline mode followed by one sync, then reads all results. Non-blocking sends and
    /// `poll` on the socket avoid the deadlock where both sides wait for the other to read.
    func pipeline(_ queries: [PostgresQuery]) throws(PostgresError) -> [PostgresRows] {
        let conn = try connection()
        for query in queries { try Self.check(query.binds) }
        guard PQenterPipelineMode(conn) == 1 else {
            throw PostgresError(
                .protocolViolation, "could not enter pipeline mode", serverMessage: Self.string(PQerrorMessage(conn)))
        }
        _ = PQsetnonblocking(conn, 1)
        var results: [PostgresRows] = []
        results.reserveCapacity(queries.count)
        var current: PostgresRows?
        var firstError: (index: Int, error: PostgresError)?
        var sent = 0, read = 0
        var syncSent = false, syncRead = false
        defer {
            var exited = false
            if syncRead {
                for _ in 0..<3 {
                    if PQexitPipelineMode(conn) == 1 {
                        exited = true
                        break
                    }
                    if let stray = PQgetResult(conn) { PQclear(stray) }
                }
            }
            if exited {
                _ = PQsetnonblocking(conn, 0)
            } else {
                close()  // results still in flight: the connection cannot be reused, so the pool drops it
            }
        }

        func fail(_ message: String) -> PostgresError {
            let server = Self.string(PQerrorMessage(conn))
            return isUsable
                ? PostgresError(.protocolViolation, message, serverMessage: server)
                : PostgresError(.connectionClosed, "the connection to the server was lost", serverMessage: server)
        }

        while !syncRead {
            // 1. Queue up to 64 more statements (or the sync).
            var batch = 0
            while sent < queries.count && batch < 64 {
                let binds = queries[sent].binds
                let ok = withParameters(binds) { types, values, lengths, formats in
                    PQsendQueryParams(conn, queries[sent].sql, Int32(binds.count), types, values, lengths, formats, 0)
                }
                guard ok == 1 else { throw fail("could not send pipeline statement \(sent)") }
                sent += 1
                batch += 1
            }
            if sent == queries.count && !syncSent {
                guard PQpipelineSync(conn) == 1 else { throw fail("could not send the pipeline sync") }
                syncSent = true
            }
            // 2. Push out what we can; read what has arrived.
            let flush = PQflush(conn)
            guard flush >= 0 else { throw fail("sending the pipeline failed") }
            guard PQconsumeInput(conn) == 1 else { throw fail("reading pipeline results failed") }
            var progressed = false
            while (read < sent || (syncSent && !syncRead)) && PQisBusy(conn) == 0 {
                progressed = true
                guard let result = PQgetResult(conn) else {
                    // The end of statement `read`'s results.
                    results.append(current ?? .empty())
                    current = nil
                    read += 1
                    continue
                }
                defer { PQclear(result) }
                switch PQresultStatus(result) {
                case PGRES_PIPELINE_SYNC:
                    syncRead = true
                case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                    current = PQResult.rows(result)
                case PGRES_PIPELINE_ABORTED:
                    current = .empty()
                default:
                    current = .empty()
                    if firstError == nil { firstError = (read, PQResult.error(result, connectionBad: !isUsable)) }
                }
                if syncRead { break }
            }
            // 3. Wait for the socket when nothing moved and nothing is left to queue.
            if !syncRead && !progressed && (sent == queries.count || flush == 1) {
                var descriptor = pollfd(
                    fd: PQsocket(conn),
                    events: Int16(POLLIN) | (flush == 1 ? Int16(POLLOUT) : 0),
                    revents: 0
                )
                _ = poll(&descriptor, 1, 1000)
            }
        }
        if let (index, error) = firstError {
            throw PostgresError(
                error.code,
                "pipeline statement \(index) (of \(queries.count), counting from 0) failed; nothing was committed: "
                    + error.message,
                sqlState: error.sqlState,
                serverMessage: error.serverMessage,
                isRetriable: error.isRetriable
            )
        }
        return results
    }

    // MARK: - Helpers

    static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}

/// Lends C an array of NUL-terminated strings, ending with NULL; valid only inside `body`.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    var bytes: [CChar] = []
    var offsets: [Int] = []
    for string in strings {
        offsets.append(bytes.count)
        bytes.append(contentsOf: string.utf8CString)
    }
    return bytes.withUnsafeBufferPointer { buffer in
        var pointers: [UnsafePointer<CChar>?] = offsets.map { offset in buffer.baseAddress.map { $0 + offset } }
        pointers.append(nil)
        return pointers.withUnsafeBufferPointer { array in
            guard let base = array.baseAddress else { preconditionFailure("a non-empty array has storage") }
            return body(base)
        }
    }
}

/// Where server notices (`NOTICE: relation already exists, skipping`) go instead of stderr: the logger, at debug.
final class PQNoticeContext {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
}

/// libpq's notice callback: a free C function that gets its context through `arg` (README, "Concurrency").
private func pqNoticeReceiver(_ arg: UnsafeMutableRawPointer?, _ result: OpaquePointer?) {
    guard let arg, let result else { return }
    let context = Unmanaged<PQNoticeContext>.fromOpaque(arg).takeUnretainedValue()
    let message = PQresultErrorMessage(result).map { String(cString: $0) } ?? ""
    context.logger.debug(
        "server notice", metadata: ["postgres.notice": "\(message.trimmingCharacters(in: .whitespacesAndNewlines))"])
}
