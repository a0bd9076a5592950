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

    /// The base-10000 digits (most significant first, no leading or trailing zero digits) and the weight of the first.
    var digits: (digits: [Int16], weight: Int16) {
        var power: UInt64 = 1
        for _ in 0..<scale { power *= 10 }
        let magnitude = scaled.magnitude
        var whole = magnitude / power
        // The fraction, padded on the right to whole groups of four digits.
        let groups = (scale + 3) / 4
        var fraction = magnitude % power
        for _ in scale..<(groups * 4) { fraction *= 10 }
        var integerDigits: [Int16] = []
        while whole > 0 {
            integerDigits.append(Int16(whole % 10_000))
            whole /= 10_000
        }
        var fractionDigits = [Int16](repeating: 0, count: groups)
        for index in stride(from: groups - 1, through: 0, by: -1) {
            fractionDigits[index] = Int16(fraction % 10_000)
            fraction /= 10_000
        }
        var all = Array(integerDigits.reversed()) + fractionDigits
        var weight = Int16(integerDigits.count) - 1
        while let first = all.first, first == 0 {
            all.removeFirst()
            weight -= 1
        }
        while let last = all.last, last == 0 { all.removeLast() }
        return all.isEmpty ? ([], 0) : (all, weight)
    }

    /// Writes a `numeric` field.
    /// - Parameter buffer: where to write.
    public func encodeCopyField(into buffer: inout [UInt8]) {
        let (digits, weight) = self.digits
        PostgresCopyWriter.appendInteger(Int32(8 + 2 * digits.count), to: &buffer)
        PostgresCopyWriter.appendInteger(Int16(digits.count), to: &buffer)
        PostgresCopyWriter.appendInteger(weight, to: &buffer)
        PostgresCopyWriter.appendInteger(UInt16(scaled < 0 ? 0x4000 : 0x0000), to: &buffer)
        PostgresCopyWriter.appendInteger(Int16(scale), to: &buffer)
        for digit in digits { PostgresCopyWriter.appendInteger(digit, to: &buffer) }
    }
}
