/// An error from the Postgres module: a connection, query, COPY, pipeline, migration or embedded-server failure.
///
/// `description` is redacted: it holds the error code and a message written by this module, never a server message
/// or a parameter value (those may contain personal data). `debugDescription` adds the server's own message, its
/// detail and hint, and the source location; parameter values are never included in either.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added in minor releases, so `switch` with a
    /// `default` case.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String {
            case connect, authentication, connectionClosed, query, serializationFailure, decoding
            case protocolViolation, cancelled, timeout, checkpointConflict, migration, embeddedServer, poolShutdown
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server could not be reached or refused the connection (not an authentication problem).
        public static let connect = Code(.connect)
        /// The server rejected the credentials (wrong or missing password, unknown role, pg_hba.conf rule).
        public static let authentication = Code(.authentication)
        /// The connection was lost (server shut down, network failure) or was already closed.
        public static let connectionClosed = Code(.connectionClosed)
        /// The server rejected a statement (syntax, constraint violation, …); see `sqlState`.
        public static let query = Code(.query)
        /// Serialization failure (40001) or deadlock (40P01): the transaction may succeed if run again.
        public static let serializationFailure = Code(.serializationFailure)
        /// A result value could not be decoded into the requested Swift type.
        public static let decoding = Code(.decoding)
        /// libpq or the server did something this module did not expect (an unexpected result status).
        public static let protocolViolation = Code(.protocolViolation)
        /// The calling task was cancelled and the statement was cancelled on the server.
        public static let cancelled = Code(.cancelled)
        /// A time limit ran out (statement_timeout, lock_timeout, connect_timeout).
        public static let timeout = Code(.timeout)
        /// An optimistic update found the row changed by someone else (for example a projector checkpoint).
        public static let checkpointConflict = Code(.checkpointConflict)
        /// Loading, checking or applying schema migrations failed.
        public static let migration = Code(.migration)
        /// The embedded PostgreSQL server could not be found, initialised, started or stopped.
        public static let embeddedServer = Code(.embeddedServer)
        /// The connection pool was shut down.
        public static let poolShutdown = Code(.poolShutdown)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The five-character SQLSTATE the server reported, if any (for example `23505` for a unique violation).
    public let sqlState: String?
    /// Whether running the same work again may succeed: serialization failure (40001), deadlock (40P01),
    /// connection loss (08xxx), administrator shutdown (57P01…57P03), lock/statement timeouts.
    public let isRetriable: Bool
    /// A message written by this module; safe to log (no server text, no values).
    public let message: String
    /// The server's or libpq's own message, with detail and hint; may contain data, so only in `debugDescription`.
    let serverMessage: String?
    let file: String
    let line: UInt

    /// Creates an error.
    /// - Parameters:
    ///   - code: the kind of failure.
    ///   - message: a message for operators that contains no data values.
    ///   - sqlState: the SQLSTATE, if the server gave one.
    ///   - serverMessage: the server's or libpq's message, shown only in `debugDescription`.
    ///   - isRetriable: overrides the retriability derived from `code` and `sqlState`.
    public init(
        _ code: Code,
        _ message: String,
        sqlState: String? = nil,
        serverMessage: String? = nil,
        isRetriable: Bool? = nil,
        file: String = #fileID,
        line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.serverMessage = serverMessage
        self.isRetriable = isRetriable ?? Self.retriable(code: code, sqlState: sqlState)
        self.file = file
        self.line = line
    }

    static func retriable(code: Code, sqlState: String?) -> Bool {
        if code == .serializationFailure || code == .connectionClosed { return true }
        guard let sqlState else { return false }
        switch sqlState {
        case "40001", "40P01", "55P03", "57P01", "57P02", "57P03": return true
        default: return sqlState.hasPrefix("08")
        }
    }

    /// Whether the server reported this SQLSTATE.
    /// - Parameter sqlState: a five-character code such as `23505`.
    /// - Returns: `true` when `self.sqlState == sqlState`.
    public func hasSQLState(_ sqlState: String) -> Bool { self.sqlState == sqlState }

    public var description: String {
        var text = "PostgresError.\(code): \(message)"
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        return text
    }

    public var debugDescription: String {
        var text = description
        if let serverMessage { text += " — server: \(serverMessage)" }
        return text + " [\(file):\(line)]"
    }
}
