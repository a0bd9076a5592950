public import Foundation

/// One value of a result row, in PostgreSQL's text format, as handed to `PostgresDecodable`.
public struct PostgresCell: Sendable {
    /// The value's bytes (text format), or `nil` for NULL.
    public let bytes: ArraySlice<UInt8>?
    /// The column's type.
    public let type: PostgresDataType
    /// The column's name.
    public let columnName: String

    /// The bytes of a non-NULL value.
    /// - Parameter swiftType: the type being decoded, for the error message.
    /// - Returns: the bytes.
    /// - Throws: `PostgresError` `.decoding` when the value is NULL.
    public func requireBytes(for swiftType: Any.Type) throws(PostgresError) -> ArraySlice<UInt8> {
        guard let bytes else {
            throw PostgresError(.decoding, "column \"\(columnName)\" is NULL; decode it as \(swiftType)? instead")
        }
        return bytes
    }

    /// An error saying the value could not be decoded as `swiftType`; the value itself is not included.
    /// - Parameter swiftType: the type being decoded.
    /// - Returns: the error.
    public func decodingError(_ swiftType: Any.Type) -> PostgresError {
        PostgresError(.decoding, "column \"\(columnName)\" (\(type)) cannot be decoded as \(swiftType)")
    }
}

/// A Swift value that can be read from a result column (text format).
///
/// Conforming types: `String`, `Int`, `Int64`, `Int32`, `Int16`, `Double`, `Bool`, `[UInt8]` (`bytea`), `Date`
/// (`timestamptz`, `timestamp` read as UTC, `date`), `UUID`, `[String]`, `[Int64]`, `PostgresJSONB`, and
/// `Optional` of any of them (NULL is `nil`).
public protocol PostgresDecodable: Sendable {
    /// Decodes a value.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` when the value is NULL or malformed.
    init(postgresCell cell: PostgresCell) throws(PostgresError)
}

extension String: PostgresDecodable {
    /// Reads any column as its text representation.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        self = String(decoding: try cell.requireBytes(for: String.self), as: UTF8.self)
    }
}

/// Parses a decimal integer from ASCII bytes, with overflow checks.
func parseInteger<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, as: T.Type) -> T? {
    var index = bytes.startIndex
    guard index < bytes.endIndex else { return nil }
    let negative = bytes[index] == UInt8(ascii: "-")
    if negative || bytes[index] == UInt8(ascii: "+") { index += 1 }
    guard index < bytes.endIndex else { return nil }
    var value: T = 0
    while index < bytes.endIndex {
        let digit = bytes[index] &- 48
        guard digit < 10 else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (r, o2) = negative ? m.subtractingReportingOverflow(T(digit)) : m.addingReportingOverflow(T(digit))
        guard !o1, !o2 else { return nil }
        value = r
        index += 1
    }
    return value
}

extension Int64: PostgresDecodable {
    /// Reads an integer column.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL, non-integers and overflow.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        guard let v = parseInteger(try cell.requireBytes(for: Int64.self), as: Int64.self) else {
            throw cell.decodingError(Int64.self)
        }
        self = v
    }
}

extension Int: PostgresDecodable {
    /// Reads an integer column.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL, non-integers and overflow.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        guard let v = parseInteger(try cell.requireBytes(for: Int.self), as: Int.self) else {
            throw cell.decodingError(Int.self)
        }
        self = v
    }
}

extension Int32: PostgresDecodable {
    /// Reads an integer column.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL, non-integers and overflow.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        guard let v = parseInteger(try cell.requireBytes(for: Int32.self), as: Int32.self) else {
            throw cell.decodingError(Int32.self)
        }
        self = v
    }
}

extension Int16: PostgresDecodable {
    /// Reads an integer column.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL, non-integers and overflow.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        guard let v = parseInteger(try cell.requireBytes(for: Int16.self), as: Int16.self) else {
            throw cell.decodingError(Int16.self)
        }
        self = v
    }
}

extension Double: PostgresDecodable {
    /// Reads a `float8`, `float4`, `numeric` or integer column (`NaN`, `Infinity` included).
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL and non-numbers.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let text = String(decoding: try cell.requireBytes(for: Double.self), as: UTF8.self)
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let v = Double(text) else { throw cell.decodingError(Double.self) }
            self = v
        }
    }
}

extension Bool: PostgresDecodable {
    /// Reads a `bool` column (`t`/`f`).
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL and other values.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes(for: Bool.self)
        switch bytes.first {
        case UInt8(ascii: "t") where bytes.count == 1 || bytes.elementsEqual("true".utf8): self = true
        case UInt8(ascii: "f") where bytes.count == 1 || bytes.elementsEqual("false".utf8): self = false
        default: throw cell.decodingError(Bool.self)
        }
    }
}

extension Array: PostgresDecodable where Element: PostgresArrayElement & PostgresDecodable {
    /// Reads `bytea` (hex output) into `[UInt8]`, or a one-dimensional array column into `[String]`/`[Int64]`.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL, malformed values and NULL elements.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        let bytes = try cell.requireBytes(for: [Element].self)
        if Element.self == UInt8.self {
            let raw: [UInt8]
            if cell.type == .bytea {
                guard let decoded = Self.hexBytea(bytes) else { throw cell.decodingError([UInt8].self) }
                raw = decoded
            } else {
                raw = [UInt8](bytes)
            }
            guard let typed = raw as? [Element] else { throw cell.decodingError([Element].self) }
            self = typed
            return
        }
        guard let texts = Self.arrayElements(bytes) else { throw cell.decodingError([Element].self) }
        var result: [Element] = []
        result.reserveCapacity(texts.count)
        for text in texts {
            let element = try Element(
                postgresCell: PostgresCell(
                    bytes: text.map { ArraySlice($0.utf8) }, type: .text, columnName: cell.columnName)
            )
            result.append(element)
        }
        self = result
    }

    /// Decodes bytea hex output, `\x0aff…`.
    static func hexBytea(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        guard bytes.count >= 2, bytes.first == UInt8(ascii: "\\"), bytes[bytes.startIndex + 1] == UInt8(ascii: "x")
        else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity((bytes.count - 2) / 2)
        var i = bytes.startIndex + 2
        while i + 1 < bytes.endIndex {
            guard let hi = nibble(bytes[i]), let lo = nibble(bytes[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return i == bytes.endIndex ? out : nil
    }

    /// Splits a one-dimensional array literal, `{a,"b c",NULL}`, into its elements (`nil` for NULL).
    static func arrayElements(_ bytes: ArraySlice<UInt8>) -> [String?]? {
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else { return nil }
        var elements: [String?] = []
        var current: [UInt8] = []
        var quoted = false, inQuotes = false, escaped = false, any = false
        for byte in bytes.dropFirst().dropLast() {
            if escaped {
                current.append(byte)
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inQuotes.toggle()
                quoted = true
            } else if byte == UInt8(ascii: ","), !inQuotes {
                let text = String(decoding: current, as: UTF8.self)
                elements.append(!quoted && text == "NULL" ? nil : text)
                current = []
                quoted = false
            } else if byte == UInt8(ascii: "{") && !inQuotes {
                return nil  // multi-dimensional arrays are not supported
            } else {
                current.append(byte)
            }
            any = true
        }
        if any {
            let text = String(decoding: current, as: UTF8.self)
            elements.append(!quoted && text == "NULL" ? nil : text)
        }
        return elements
    }
}

extension UInt8: PostgresDecodable {
    /// Reads a small integer column into a byte.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL and values outside 0…255.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        guard let v = parseInteger(try cell.requireBytes(for: UInt8.self), as: UInt8.self) else {
            throw cell.decodingError(UInt8.self)
        }
        self = v
    }
}

extension Date: PostgresDecodable {
    /// Reads `timestamptz` (ISO DateStyle, any offset), `timestamp` (as UTC) or `date` (midnight UTC).
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL and unsupported text (for example BC dates).
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        guard let date = Timestamp.parse(try cell.requireBytes(for: Date.self)) else {
            throw cell.decodingError(Date.self)
        }
        self = date
    }
}

extension UUID: PostgresDecodable {
    /// Reads a `uuid` column.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL and malformed text.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        guard let uuid = try cell.requireBytes(for: UUID.self).withUnsafeBytes({ UUID(utf8: $0) }) else {
            throw cell.decodingError(UUID.self)
        }
        self = uuid
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    /// Reads NULL as `nil`, anything else as `Wrapped`.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` when the value is not a valid `Wrapped`.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        self = cell.bytes == nil ? nil : try Wrapped(postgresCell: cell)
    }
}
