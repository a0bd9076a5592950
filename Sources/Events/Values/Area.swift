/// An area in square metres with exactly two fraction digits (`"89.37"`), held exactly in hundredths.
public struct Area: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The area in hundredths of a square metre.
    public let hundredths: Int64

    /// Creates an area from hundredths of a square metre.
    /// - Parameter hundredths: hundredths of a square metre.
    public init(hundredths: Int64) { self.hundredths = hundredths }

    /// Parses a decimal string with exactly two fraction digits and an optional leading `-`.
    /// - Parameter text: e.g. `"89.37"`.
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
        hundredths = negative ? -value : value
    }

    /// `"89.37"`.
    public var description: String {
        let magnitude = hundredths.magnitude
        let cents = magnitude % 100
        return (hundredths < 0 ? "-" : "") + String(magnitude / 100) + (cents < 10 ? ".0" : ".") + String(cents)
    }

    public static func < (a: Area, b: Area) -> Bool { a.hundredths < b.hundredths }

    /// Decodes from a decimal string.
    /// - Throws: `DecodingError.dataCorrupted` for anything else.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Area(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an area: \(text)")
        }
        self = value
    }

    /// Encodes as a decimal string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
