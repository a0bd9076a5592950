/// An amount in yuan with exactly two fraction digits (`"1234.50"`), held exactly as fen.
public struct Money: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The amount in fen (1/100 yuan).
    public let fen: Int64

    /// Creates an amount from fen.
    /// - Parameter fen: hundredths of a yuan.
    public init(fen: Int64) { self.fen = fen }

    /// Parses a decimal string with exactly two fraction digits and an optional leading `-`.
    /// - Parameter text: e.g. `"1234.50"`.
    public init?(_ text: String) {
        var bytes = Substring(text).utf8[...]
        var negative = false
        if bytes.first == UInt8(ascii: "-") {
            negative = true
            bytes = bytes.dropFirst()
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1].count == 2, (1...16).contains(parts[0].count),
            let whole = CivilDate.digits(ArraySlice(parts[0])), let cents = CivilDate.digits(ArraySlice(parts[1]))
        else { return nil }
        let value = Int64(whole) * 100 + Int64(cents)
        fen = negative ? -value : value
    }

    /// `"1234.50"`.
    public var description: String {
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        return (fen < 0 ? "-" : "") + String(magnitude / 100) + (cents < 10 ? ".0" : ".") + String(cents)
    }

    public static func < (a: Money, b: Money) -> Bool { a.fen < b.fen }

    /// Decodes from a decimal string.
    /// - Throws: `DecodingError.dataCorrupted` for anything else.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Money(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an amount: \(text)")
        }
        self = value
    }

    /// Encodes as a decimal string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
