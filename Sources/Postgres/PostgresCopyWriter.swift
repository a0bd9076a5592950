public import Foundation

/// Builds PostgreSQL's binary COPY format: a header, one tuple per row, and a trailer.
///
/// Used by `PostgresConnection.copyInBinary(table:columns:chunkSize:_:)`, which streams full chunks to the server
/// while rows are appended. It can also build a whole COPY file in memory: `init()`, `appendRow`, `finish()`.
public struct PostgresCopyWriter {
    @usableFromInline var buffer: [UInt8] = []
    @usableFromInline let chunkSize: Int
    private let sink: ((UnsafeRawBufferPointer) throws(PostgresError) -> Void)?
    private var failure: PostgresError?
    /// The number of rows appended so far.
    public var rowCount: Int { rows }
    @usableFromInline var rows = 0

    private static let signature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]

    /// Creates a writer that keeps everything in memory; `finish()` returns the COPY data.
    public init() {
        self.init(chunkSize: .max, sink: nil)
    }

    init(chunkSize: Int, sink: ((UnsafeRawBufferPointer) throws(PostgresError) -> Void)?) {
        self.chunkSize = chunkSize
        self.sink = sink
        buffer.reserveCapacity(min(chunkSize, 1 << 20) + 4096)
        buffer.append(contentsOf: Self.signature)
        buffer.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])  // flags, header extension length
    }

    /// Appends one row.
    /// - Parameter values: the row's values, one per column, in column order; `nil` optionals are NULL.
    @inlinable
    public mutating func appendRow<each Value: PostgresCopyEncodable>(_ values: repeat each Value) {
        var count: Int16 = 0
        for _ in repeat each values { count += 1 }
        PostgresCopyWriter.appendInteger(count, to: &buffer)
        for value in repeat each values { value.encodeCopyField(into: &buffer) }
        endRow()
    }

    /// Appends one row whose column count is known only at run time.
    /// - Parameter values: the row's values, one per column, in column order.
    public mutating func appendRow(_ values: [any PostgresCopyEncodable]) {
        PostgresCopyWriter.appendInteger(Int16(values.count), to: &buffer)
        for value in values { value.encodeCopyField(into: &buffer) }
        endRow()
    }

    /// Appends a row whose leading fields were encoded ahead of time (``encodeFields(_:into:)``), followed by
    /// `values`: rows can be built where the work runs in parallel and gathered into one COPY later.
    /// - Parameters:
    ///   - fields: the encoded leading fields.
    ///   - count: how many fields `fields` holds.
    ///   - values: the row's remaining values, in column order.
    @inlinable
    public mutating func appendRow<each Value: PostgresCopyEncodable>(
        encoded fields: ArraySlice<UInt8>, count: Int16, _ values: repeat each Value
    ) {
        var total = count
        for _ in repeat each values { total += 1 }
        PostgresCopyWriter.appendInteger(total, to: &buffer)
        buffer.append(contentsOf: fields)
        for value in repeat each values { value.encodeCopyField(into: &buffer) }
        endRow()
    }

    /// Encodes fields for ``appendRow(encoded:count:_:)`` at the end of `buffer`, without a field count.
    /// - Parameters:
    ///   - values: the values, in column order.
    ///   - buffer: where to write.
    /// - Returns: how many fields were written.
    @inlinable
    @discardableResult
    public static func encodeFields<each Value: PostgresCopyEncodable>(
        _ values: repeat each Value, into buffer: inout [UInt8]
    ) -> Int16 {
        var count: Int16 = 0
        for value in repeat each values {
            value.encodeCopyField(into: &buffer)
            count += 1
        }
        return count
    }

    /// Finds one field in fields as ``encodeFields(_:into:)`` wrote them (each a 4-byte big-endian length, -1 for
    /// NULL, then the value).
    /// - Parameters:
    ///   - index: the field, from 0.
    ///   - fields: the encoded fields, starting with field 0.
    /// - Returns: where the field's value starts (an index of `fields`) and its length (-1 for NULL).
    public static func field(_ index: Int, in fields: ArraySlice<UInt8>) -> (start: Int, length: Int32) {
        var position = fields.startIndex
        for field in 0...index {
            let length = fields[position..<position + 4].reduce(Int32(0)) { $0 << 8 | Int32($1) }
            if field == index { return (position + 4, length) }
            position += 4 + max(0, Int(length))
        }
        preconditionFailure("unreachable")
    }

    @inlinable
    mutating func endRow() {
        rows += 1
        if buffer.count >= chunkSize { flush() }
    }

    @usableFromInline
    mutating func flush() {
        guard let sink, failure == nil, !buffer.isEmpty else { return }
        let result = buffer.withUnsafeBytes { bytes -> Result<Void, PostgresError> in
            Result { () throws(PostgresError) in try sink(bytes) }
        }
        if case .failure(let error) = result { failure = error }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the trailer and returns all the COPY data (for a writer made with `init()`).
    /// - Returns: the complete binary COPY file.
    public mutating func finish() -> [UInt8] {
        PostgresCopyWriter.appendInteger(Int16(-1), to: &buffer)
        defer { buffer = [] }
        return buffer
    }

    /// Writes the trailer and sends the rest; reports a failed send.
    mutating func finishStreaming() throws(PostgresError) {
        PostgresCopyWriter.appendInteger(Int16(-1), to: &buffer)
        flush()
        if let failure { throw failure }
    }

    /// Appends a big-endian integer.
    /// - Parameters:
    ///   - value: the integer.
    ///   - buffer: where to write.
    @inlinable
    public static func appendInteger<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }
}

/// A value that can be written as one field of a binary COPY row (length, then PostgreSQL's binary format).
public protocol PostgresCopyEncodable: Sendable {
    /// Appends the field: a 4-byte big-endian length (-1 for NULL), then the value in binary format.
    /// - Parameter buffer: where to write.
    func encodeCopyField(into buffer: inout [UInt8])
}

extension Int16: PostgresCopyEncodable {
    /// Writes an `int2` field.
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        PostgresCopyWriter.appendInteger(Int32(2), to: &buffer)
        PostgresCopyWriter.appendInteger(self, to: &buffer)
    }
}

extension Int32: PostgresCopyEncodable {
    /// Writes an `int4` field.
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        PostgresCopyWriter.appendInteger(Int32(4), to: &buffer)
        PostgresCopyWriter.appendInteger(self, to: &buffer)
    }
}

extension Int64: PostgresCopyEncodable {
    /// Writes an `int8` field.
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        PostgresCopyWriter.appendInteger(Int32(8), to: &buffer)
        PostgresCopyWriter.appendInteger(self, to: &buffer)
    }
}

extension Int: PostgresCopyEncodable {
    /// Writes an `int8` field.
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        Int64(self).encodeCopyField(into: &buffer)
    }
}

extension Double: PostgresCopyEncodable {
    /// Writes a `float8` field.
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        PostgresCopyWriter.appendInteger(Int32(8), to: &buffer)
        PostgresCopyWriter.appendInteger(bitPattern, to: &buffer)
    }
}

extension Bool: PostgresCopyEncodable {
    /// Writes a `bool` field.
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        PostgresCopyWriter.appendInteger(Int32(1), to: &buffer)
        buffer.append(self ? 1 : 0)
    }
}

extension String: PostgresCopyEncodable {
    /// Writes a `text`/`varchar` field (UTF-8).
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        var string = self
        string.withUTF8 { utf8 in
            PostgresCopyWriter.appendInteger(Int32(utf8.count), to: &buffer)
            buffer.append(contentsOf: utf8)
        }
    }
}

extension Array: PostgresCopyEncodable where Element == UInt8 {
    /// Writes a `bytea` field.
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        PostgresCopyWriter.appendInteger(Int32(count), to: &buffer)
        buffer.append(contentsOf: self)
    }
}

extension Date: PostgresCopyEncodable {
    /// Writes a `timestamptz` field (microseconds since 2000-01-01 UTC).
    /// - Parameter buffer: where to write.
    public func encodeCopyField(into buffer: inout [UInt8]) {
        PostgresCopyWriter.appendInteger(Int32(8), to: &buffer)
        PostgresCopyWriter.appendInteger(Timestamp.micros(self) - Timestamp.postgresEpochMicros, to: &buffer)
    }
}

extension UUID: PostgresCopyEncodable {
    /// Writes a `uuid` field (16 bytes).
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        PostgresCopyWriter.appendInteger(Int32(16), to: &buffer)
        withUnsafeBytes(of: uuid) { buffer.append(contentsOf: $0) }
    }
}

extension PostgresJSONB: PostgresCopyEncodable {
    /// Writes a `jsonb` field (version byte 1, then the JSON text).
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        var json = self.json
        json.withUTF8 { utf8 in
            PostgresCopyWriter.appendInteger(Int32(utf8.count + 1), to: &buffer)
            buffer.append(1)
            buffer.append(contentsOf: utf8)
        }
    }
}

extension Optional: PostgresCopyEncodable where Wrapped: PostgresCopyEncodable {
    /// Writes the wrapped value, or a NULL field (length -1).
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        switch self {
        case .none: PostgresCopyWriter.appendInteger(Int32(-1), to: &buffer)
        case .some(let value): value.encodeCopyField(into: &buffer)
        }
    }
}
