import Foundation

/// An SQL statement with its parameters, written as a string literal with `\(value)` interpolations.
///
/// Every interpolated value becomes a bind parameter (`$1`, `$2`, …) sent separately from the SQL text, so values
/// can never change the statement:
/// ```swift
/// let rows = try await client.query("SELECT name FROM person WHERE id = \(id) AND born < \(date)")
/// ```
/// Use `\(unescaped: name)` only for identifiers that your own code controls (a table name from a constant);
/// never for input.
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation {
    /// The SQL text, with `$n` placeholders.
    public var sql: String
    /// The parameter values, in placeholder order.
    public var binds: PostgresBindings

    /// Creates a query from SQL text that already holds `$n` placeholders.
    /// - Parameters:
    ///   - sql: the statement; it is sent as written.
    ///   - binds: the values for `$1…$n`.
    public init(unsafeSQL sql: String, binds: PostgresBindings = PostgresBindings()) {
        self.sql = sql
        self.binds = binds
    }

    /// Creates a query without parameters from a string literal.
    /// - Parameter value: the SQL text.
    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    /// Creates a query from an interpolated string literal.
    /// - Parameter interpolation: the literal's parts.
    public init(stringInterpolation interpolation: StringInterpolation) {
        self.init(unsafeSQL: interpolation.sql, binds: interpolation.binds)
    }

    /// Builds the SQL text and binds of a `PostgresQuery` literal.
    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var sql: String
        var binds: PostgresBindings

        /// Reserves space for a literal.
        /// - Parameters:
        ///   - literalCapacity: the characters of literal text.
        ///   - interpolationCount: the number of interpolations.
        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = PostgresBindings()
        }

        /// Appends literal SQL text.
        /// - Parameter literal: the text.
        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Appends a bind parameter (`$n`) holding `value`.
        /// - Parameter value: the value.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(value)
            sql += "$\(binds.count)"
        }

        /// Appends a bind parameter (`$n`) holding `value`, or NULL.
        /// - Parameter value: the value; `nil` binds NULL (typed as `T`).
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T?) {
            binds.append(value)
            sql += "$\(binds.count)"
        }

        /// Appends text to the SQL as written, without quoting.
        ///
        /// - Important: only for identifiers and fragments that your own code controls, such as a table name from a
        ///   constant. Never pass input from outside the program: it would allow SQL injection.
        /// - Parameter unescaped: the SQL fragment.
        public mutating func appendInterpolation(unescaped: String) {
            sql += unescaped
        }

        /// Appends a double-quoted SQL identifier (`"na""me"`), safe for any name.
        /// - Parameter identifier: the table, column or schema name.
        public mutating func appendInterpolation(identifier: String) {
            sql += PostgresQuery.quoteIdentifier(identifier)
        }
    }

    /// Quotes an SQL identifier: wraps it in double quotes and doubles any double quote inside.
    /// - Parameter name: the identifier.
    /// - Returns: the quoted identifier.
    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension PostgresQuery: CustomStringConvertible {
    /// The SQL text and the number of binds; values are never shown.
    public var description: String { "\(sql) [\(binds.count) binds]" }
}

/// The parameter values of a query, stored contiguously in the layout libpq's `PQexecParams` wants.
public struct PostgresBindings: Sendable, Hashable {
    /// The type OID of each parameter (0 lets the server infer it).
    var types: [UInt32] = []
    /// 0 for text, 1 for binary.
    var formats: [Int32] = []
    /// The byte length of each value, -1 for NULL.
    var lengths: [Int32] = []
    /// Where each value starts in `bytes`.
    var offsets: [Int] = []
    /// All values, text ones NUL-terminated as libpq requires.
    var bytes: [UInt8] = []
    /// The first parameter (1-based) that cannot be sent, with the reason.
    var invalid: (index: Int, reason: String)?

    /// Creates an empty list.
    public init() {}

    /// The number of parameters.
    public var count: Int { types.count }

    /// Appends a value as the next parameter.
    /// - Parameter value: the value; an `Optional` that is `nil` binds NULL.
    public mutating func append(_ value: some PostgresEncodable) {
        let start = bytes.count
        let format = value.encode(into: &bytes)
        types.append(type(of: value).postgresType.oid)
        offsets.append(start)
        switch format {
        case .null:
            formats.append(0)
            lengths.append(-1)
            bytes.removeSubrange(start...)
        case .text:
            let length = bytes.count - start
            if invalid == nil, bytes[start...].contains(0) {
                invalid = (
                    types.count, "text parameter $\(types.count) contains a NUL byte, which PostgreSQL cannot store"
                )
            }
            bytes.append(0)
            formats.append(0)
            lengths.append(Int32(clamping: length))
        case .binary:
            formats.append(1)
            lengths.append(Int32(clamping: bytes.count - start))
        }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.types == rhs.types && lhs.formats == rhs.formats && lhs.lengths == rhs.lengths && lhs.bytes == rhs.bytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(types)
        hasher.combine(bytes)
    }
}
