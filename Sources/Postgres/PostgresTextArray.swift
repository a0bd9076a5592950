/// A one-dimensional `text[]` value for binary COPY (`[UInt8]` already means `bytea` there).
public struct PostgresTextArray: Sendable, Hashable, PostgresCopyEncodable {
    /// The elements, in order.
    public var elements: [String]

    /// Creates an array.
    /// - Parameter elements: the elements (an empty array is `'{}'`).
    public init(_ elements: [String]) { self.elements = elements }

    /// Writes a `text[]` field: dimensions, flags, element type, bounds, then each element with its length.
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        let lengthAt = buffer.count
        PostgresCopyWriter.appendInteger(Int32(0), to: &buffer)  // patched below
        let start = buffer.count
        if elements.isEmpty {
            PostgresCopyWriter.appendInteger(Int32(0), to: &buffer)  // no dimensions
            PostgresCopyWriter.appendInteger(Int32(0), to: &buffer)  // no NULLs
            PostgresCopyWriter.appendInteger(PostgresDataType.text.oid, to: &buffer)
        } else {
            PostgresCopyWriter.appendInteger(Int32(1), to: &buffer)
            PostgresCopyWriter.appendInteger(Int32(0), to: &buffer)
            PostgresCopyWriter.appendInteger(PostgresDataType.text.oid, to: &buffer)
            PostgresCopyWriter.appendInteger(Int32(elements.count), to: &buffer)
            PostgresCopyWriter.appendInteger(Int32(1), to: &buffer)  // lower bound
            for element in elements { element.encodeCopyField(into: &buffer) }
        }
        let length = Int32(buffer.count - start).bigEndian
        withUnsafeBytes(of: length) { bytes in
            for (i, byte) in bytes.enumerated() { buffer[lengthAt + i] = byte }
        }
    }
}
