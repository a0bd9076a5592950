internal import CLibPQ

/// Copies values and errors out of a `PGresult*`; the caller clears it.
enum PQResult {
    static func rows(_ result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var columns: [String] = []
        var types: [PostgresDataType] = []
        for column in 0..<columnCount {
            columns.append(PQfname(result, Int32(column)).map { String(cString: $0) } ?? "?column?")
            types.append(PostgresDataType(oid: PQftype(result, Int32(column))))
        }
        var total = 0
        for row in 0..<rowCount {
            for column in 0..<columnCount { total += Int(PQgetlength(result, Int32(row), Int32(column))) }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(total)
        var starts: [Int] = []
        var lengths: [Int32] = []
        starts.reserveCapacity(rowCount * columnCount)
        lengths.reserveCapacity(rowCount * columnCount)
        for row in 0..<rowCount {
            for column in 0..<columnCount {
                starts.append(bytes.count)
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    lengths.append(-1)
                    continue
                }
                let length = PQgetlength(result, Int32(row), Int32(column))
                if let value = PQgetvalue(result, Int32(row), Int32(column)), length > 0 {
                    bytes.append(contentsOf: UnsafeRawBufferPointer(start: value, count: Int(length)))
                }
                lengths.append(length)
            }
        }
        let storage = PostgresRows.Storage(
            columns: columns, types: types, rowCount: rowCount, bytes: bytes, starts: starts, lengths: lengths
        )
        let tag = PQcmdStatus(result).map { String(cString: $0) } ?? ""
        return PostgresRows(storage: storage, rowsAffected: rowsAffected(result), commandTag: tag)
    }

    static func rowsAffected(_ result: OpaquePointer) -> Int {
        PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
    }

    private static func field(_ result: OpaquePointer, _ code: Character) -> String? {
        guard let ascii = code.asciiValue else { return nil }
        return PQresultErrorField(result, Int32(ascii)).map { String(cString: $0) }
    }

    /// The error a failed result describes, with a code derived from its SQLSTATE.
    static func error(_ result: OpaquePointer, connectionBad: Bool) -> PostgresError {
        let sqlState = field(result, "C")
        var server = field(result, "M") ?? PQresultErrorMessage(result).map { String(cString: $0) } ?? ""
        if let detail = field(result, "D") { server += " DETAIL: \(detail)" }
        if let hint = field(result, "H") { server += " HINT: \(hint)" }
        let code: PostgresError.Code
        switch sqlState {
        case "40001", "40P01": code = .serializationFailure
        case "57014", "55P03": code = .timeout
        case .some(let state) where state.hasPrefix("08") || state.hasPrefix("57P"): code = .connectionClosed
        case .some(let state) where state.hasPrefix("28"): code = .authentication
        case .none where connectionBad: code = .connectionClosed
        default: code = .query
        }
        let name = sqlState.flatMap { conditionNames[$0] }
        let message: String
        if code == .connectionClosed {
            message = "the connection to the server was lost"
        } else if let name {
            message = "statement failed: \(name)"
        } else {
            message = "statement failed"
        }
        return PostgresError(code, message, sqlState: sqlState, serverMessage: server)
    }

    private static let conditionNames: [String: String] = [
        "23505": "unique violation", "23503": "foreign key violation", "23502": "not-null violation",
        "23514": "check violation", "23P01": "exclusion violation", "42P01": "undefined table",
        "42703": "undefined column", "42601": "syntax error", "42883": "undefined function",
        "22P02": "invalid text representation", "22001": "string too long", "22003": "numeric value out of range",
        "22021": "invalid byte sequence for the encoding", "22P04": "bad COPY file format",
        "40001": "serialization failure", "40P01": "deadlock detected", "57014": "statement cancelled or timed out",
        "55P03": "lock not available", "25P02": "the transaction is aborted; roll it back",
        "57P01": "the server is shutting down", "3D000": "database does not exist",
    ]
}
