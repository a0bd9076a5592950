/// A calendar date for a `date` column (PostgreSQL counts days from 2000-01-01).
public struct PostgresDate: Sendable, Hashable, PostgresCopyEncodable {
    /// Days since 2000-01-01 (negative before).
    public let daysSince2000: Int32

    /// Days from 1970-01-01 to 2000-01-01.
    static let unixEpochOffset = 10_957

    /// Creates a date from a day count.
    /// - Parameter daysSince1970: days since 1970-01-01 (the Unix epoch), negative before.
    public init(daysSince1970: Int) {
        daysSince2000 = Int32(daysSince1970 - Self.unixEpochOffset)
    }

    /// Writes a `date` field (4-byte day count).
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        PostgresCopyWriter.appendInteger(Int32(4), to: &buffer)
        PostgresCopyWriter.appendInteger(daysSince2000, to: &buffer)
    }
}
