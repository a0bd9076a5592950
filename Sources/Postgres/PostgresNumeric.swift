/// An exact decimal for a `numeric` column, from a scaled integer: `PostgresNumeric(123450, scale: 2)` is 1234.50.
///
/// Written in PostgreSQL's binary format (base-10000 digits, weight, sign, display scale); a column with a type
/// modifier such as `numeric(14, 2)` checks the precision as it would for text input.
public struct PostgresNumeric: Sendable, Hashable, PostgresCopyEncodable {
    /// The value times 10^scale.
    public let scaled: Int64
    /// Digits after the decimal point (0…16).
    public let scale: Int

    /// Creates a decimal.
    /// - Parameters:
    ///   - scaled: the value times 10^`scale` (e.g. an amount in fen for yuan with `scale` 2).
    ///   - scale: digits after the decimal point, 0…16.
    public init(_ scaled: Int64, scale: Int) {
        precondition((0...16).contains(scale), "PostgresNumeric: scale must be 0…16")
        self.scaled = scaled
        self.scale = scale
    }

    /// Writes a `numeric` field: base-10000 digits (most significant first, no leading or trailing zero digits), the
    /// weight of the first, the sign and the display scale.
    /// - Parameter buffer: where to write.
    @inlinable
    public func encodeCopyField(into buffer: inout [UInt8]) {
        var power: UInt64 = 1
        for _ in 0..<scale { power *= 10 }
        let magnitude = scaled.magnitude
        var whole = magnitude / power
        // The fraction, padded on the right to whole groups of four digits (at most 16 digits: it fits).
        let fractionGroups = (scale + 3) / 4
        var fraction = magnitude % power
        for _ in scale..<(fractionGroups * 4) { fraction *= 10 }
        withUnsafeTemporaryAllocation(of: Int16.self, capacity: 16) { digits in
            // Integer groups, least significant first, then reversed in place.
            var count = 0
            while whole > 0 {
                digits[count] = Int16(whole % 10_000)
                whole /= 10_000
                count += 1
            }
            let integerGroups = count
            var low = 0
            var high = count - 1
            while low < high {
                digits.swapAt(low, high)
                low += 1
                high -= 1
            }
            for index in stride(from: fractionGroups - 1, through: 0, by: -1) {
                digits[integerGroups + index] = Int16(fraction % 10_000)
                fraction /= 10_000
            }
            count += fractionGroups
            var first = 0
            var weight = integerGroups - 1
            while first < count && digits[first] == 0 {
                first += 1
                weight -= 1
            }
            while count > first && digits[count - 1] == 0 { count -= 1 }
            let used = count - first
            if used == 0 { weight = 0 }
            PostgresCopyWriter.appendInteger(Int32(8 + 2 * used), to: &buffer)
            PostgresCopyWriter.appendInteger(Int16(used), to: &buffer)
            PostgresCopyWriter.appendInteger(Int16(weight), to: &buffer)
            PostgresCopyWriter.appendInteger(UInt16(scaled < 0 ? 0x4000 : 0x0000), to: &buffer)
            PostgresCopyWriter.appendInteger(Int16(scale), to: &buffer)
            for index in first..<count { PostgresCopyWriter.appendInteger(digits[index], to: &buffer) }
        }
    }
}
