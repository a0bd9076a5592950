public import Foundation

/// A Swift value that can be sent to PostgreSQL as a bind parameter.
///
/// Conforming types: `String`, `Substring`, `Int`, `Int64`, `Int32`, `Int16`, `Double`, `Bool`, `[UInt8]`
/// (`bytea`, sent in binary), `Date` (`timestamptz`), `UUID`, `[String]` (`text[]`), `[Int64]` and `[Int]`
/// (`int8[]`), `PostgresJSONB`, and `Optional` of any of them (`nil` is NULL).
public protocol PostgresEncodable: Sendable {
    /// The parameter type sent to the server; `.unknown` lets the server infer it from the statement.
    static var postgresType: PostgresDataType { get }

    /// Appends the value's bytes to `buffer`.
    /// - Parameter buffer: where to write; write nothing for NULL.
    /// - Returns: the format of what was written, or `.null`.
    func encode(into buffer: inout [UInt8]) -> PostgresFormat
}

extension String: PostgresEncodable {
    /// `.unknown`: the server infers `text`, `varchar`, `jsonb`, … from the statement.
    public static var postgresType: PostgresDataType { .unknown }
    /// Appends the UTF-8 bytes.
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: utf8)
        return .text
    }
}

extension Substring: PostgresEncodable {
    /// `.unknown`, as for `String`.
    public static var postgresType: PostgresDataType { .unknown }
    /// Appends the UTF-8 bytes.
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: utf8)
        return .text
    }
}

extension Int64: PostgresEncodable {
    /// `int8`
    public static var postgresType: PostgresDataType { .int8 }
    /// Appends the decimal text.
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: String(self).utf8)
        return .text
    }
}

extension Int: PostgresEncodable {
    /// `int8`
    public static var postgresType: PostgresDataType { .int8 }
    /// Appends the decimal text.
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: String(self).utf8)
        return .text
    }
}

extension Int32: PostgresEncodable {
    /// `int4`
    public static var postgresType: PostgresDataType { .int4 }
    /// Appends the decimal text.
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: String(self).utf8)
        return .text
    }
}

extension Int16: PostgresEncodable {
    /// `int2`
    public static var postgresType: PostgresDataType { .int2 }
    /// Appends the decimal text.
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: String(self).utf8)
        return .text
    }
}

extension Double: PostgresEncodable {
    /// `float8`
    public static var postgresType: PostgresDataType { .float8 }
    /// Appends the shortest text that reads back as the same `Double` (`NaN`, `Infinity` included).
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        let text: String
        if isNaN {
            text = "NaN"
        } else if isInfinite {
            text = self < 0 ? "-Infinity" : "Infinity"
        } else {
            text = description
        }
        buffer.append(contentsOf: text.utf8)
        return .text
    }
}

extension Bool: PostgresEncodable {
    /// `bool`
    public static var postgresType: PostgresDataType { .bool }
    /// Appends `t` or `f`.
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(self ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        return .text
    }
}

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    /// `bytea` for `[UInt8]`, `text[]` for `[String]`, `int8[]` for `[Int64]` and `[Int]`.
    public static var postgresType: PostgresDataType { Element.postgresArrayType }
    /// Appends the raw bytes (`[UInt8]`, binary format) or an array literal such as `{"a","b"}` (text format).
    /// - Parameter buffer: where to write.
    /// - Returns: `.binary` for `[UInt8]`, otherwise `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        Element.encodeArray(self, into: &buffer)
    }
}

/// An element type that makes `Array` a `PostgresEncodable`: `UInt8` (as `bytea`), `String`, `Int64` and `Int`.
public protocol PostgresArrayElement: Sendable {
    /// The type of an array of this element.
    static var postgresArrayType: PostgresDataType { get }
    /// Encodes an array of this element.
    /// - Parameters:
    ///   - array: the elements.
    ///   - buffer: where to write.
    /// - Returns: the format written.
    static func encodeArray(_ array: [Self], into buffer: inout [UInt8]) -> PostgresFormat
}

extension UInt8: PostgresArrayElement {
    /// `bytea`
    public static var postgresArrayType: PostgresDataType { .bytea }
    /// Appends the bytes as they are.
    /// - Parameters:
    ///   - array: the bytes.
    ///   - buffer: where to write.
    /// - Returns: `.binary`.
    public static func encodeArray(_ array: [UInt8], into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: array)
        return .binary
    }
}

extension String: PostgresArrayElement {
    /// `text[]`
    public static var postgresArrayType: PostgresDataType { .textArray }
    /// Appends a quoted array literal, `{"a","b\"c"}`.
    /// - Parameters:
    ///   - array: the strings.
    ///   - buffer: where to write.
    /// - Returns: `.text`.
    public static func encodeArray(_ array: [String], into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(UInt8(ascii: "{"))
        for (i, element) in array.enumerated() {
            if i > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { buffer.append(UInt8(ascii: "\\")) }
                buffer.append(byte)
            }
            buffer.append(UInt8(ascii: "\""))
        }
        buffer.append(UInt8(ascii: "}"))
        return .text
    }
}

extension Int64: PostgresArrayElement {
    /// `int8[]`
    public static var postgresArrayType: PostgresDataType { .int8Array }
    /// Appends an array literal, `{1,2,3}`.
    /// - Parameters:
    ///   - array: the numbers.
    ///   - buffer: where to write.
    /// - Returns: `.text`.
    public static func encodeArray(_ array: [Int64], into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: ("{" + array.map(String.init).joined(separator: ",") + "}").utf8)
        return .text
    }
}

extension Int: PostgresArrayElement {
    /// `int8[]`
    public static var postgresArrayType: PostgresDataType { .int8Array }
    /// Appends an array literal, `{1,2,3}`.
    /// - Parameters:
    ///   - array: the numbers.
    ///   - buffer: where to write.
    /// - Returns: `.text`.
    public static func encodeArray(_ array: [Int], into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: ("{" + array.map(String.init).joined(separator: ",") + "}").utf8)
        return .text
    }
}

extension Date: PostgresEncodable {
    /// `timestamptz`
    public static var postgresType: PostgresDataType { .timestamptz }
    /// Appends the instant in UTC with microseconds, `2024-05-01 08:00:00.000000+00`.
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: Timestamp.text(self).utf8)
        return .text
    }
}

extension UUID: PostgresEncodable {
    /// `uuid`
    public static var postgresType: PostgresDataType { .uuid }
    /// Appends the canonical text form.
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: lowercasedText.utf8)
        return .text
    }
}

extension UUID: PostgresArrayElement {
    /// `uuid[]`
    public static var postgresArrayType: PostgresDataType { .uuidArray }
    /// Appends an array literal, `{0193a5c2-…,…}`.
    /// - Parameters:
    ///   - array: the UUIDs.
    ///   - buffer: where to write.
    /// - Returns: `.text`.
    public static func encodeArray(_ array: [UUID], into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.reserveCapacity(buffer.count + array.count * 37 + 2)
        buffer.append(UInt8(ascii: "{"))
        for (i, element) in array.enumerated() {
            if i > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(contentsOf: element.lowercasedText.utf8)
        }
        buffer.append(UInt8(ascii: "}"))
        return .text
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    /// The wrapped type's type.
    public static var postgresType: PostgresDataType { Wrapped.postgresType }
    /// Appends the wrapped value, or nothing for `nil`.
    /// - Parameter buffer: where to write.
    /// - Returns: the wrapped value's format, or `.null`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        switch self {
        case .none: .null
        case .some(let value): value.encode(into: &buffer)
        }
    }
}

/// A JSON document to store in a `jsonb` column (as a bind parameter or in binary COPY).
public struct PostgresJSONB: Sendable, Hashable, PostgresEncodable, PostgresDecodable {
    /// The JSON text.
    public var json: String

    /// Wraps JSON text; it is validated by the server.
    /// - Parameter json: the JSON document.
    public init(_ json: String) { self.json = json }

    /// `jsonb`
    public static var postgresType: PostgresDataType { .jsonb }

    /// Appends the JSON text.
    /// - Parameter buffer: where to write.
    /// - Returns: `.text`.
    public func encode(into buffer: inout [UInt8]) -> PostgresFormat {
        buffer.append(contentsOf: json.utf8)
        return .text
    }

    /// Reads a `json`/`jsonb` (or text) column.
    /// - Parameter cell: the column value.
    /// - Throws: `PostgresError` `.decoding` for NULL.
    public init(postgresCell cell: PostgresCell) throws(PostgresError) {
        self.init(try String(postgresCell: cell))
    }
}
