/// A quantity written with exactly two fraction digits (`"1234.50"`, `"89.37"`) and held exactly
/// in hundredths, so that equal values are equal strings and sums never round. ``Money`` and
/// ``Area`` are the two kinds; they share this one parser and printer.
public protocol Hundredths: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The value in hundredths of its unit.
    var hundredths: Int64 { get }
    /// Creates a value from hundredths of its unit.
    init(hundredths: Int64)
}

extension Hundredths {
    /// Parses a decimal string with exactly two fraction digits and an optional leading `-`.
    /// - Parameter text: e.g. `"89.37"`.
    public init?(_ text: String) {
        // One pass over the bytes: [-]digits "." two digits, 1 to 16 whole digits.
        var whole: Int64 = 0
        var wholeDigits = 0
        var cents: Int64 = 0
        var centDigits = 0
        var negative = false
        var seenPoint = false
        for (index, byte) in text.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "-") where index == 0:
                negative = true
            case UInt8(ascii: "."):
                guard !seenPoint else { return nil }
                seenPoint = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if seenPoint {
                    centDigits += 1
                    cents = cents * 10 + Int64(byte - UInt8(ascii: "0"))
                } else {
                    wholeDigits += 1
                    guard wholeDigits <= 16 else { return nil }
                    whole = whole * 10 + Int64(byte - UInt8(ascii: "0"))
                }
            default:
                return nil
            }
        }
        guard seenPoint, centDigits == 2, wholeDigits >= 1 else { return nil }
        let value = whole * 100 + cents
        self.init(hundredths: negative ? -value : value)
    }

    /// The decimal string, e.g. `"89.37"`.
    public var description: String {
        let magnitude = hundredths.magnitude
        let cents = magnitude % 100
        return (hundredths < 0 ? "-" : "") + String(magnitude / 100) + (cents < 10 ? ".0" : ".") + String(cents)
    }

    public static func < (a: Self, b: Self) -> Bool { a.hundredths < b.hundredths }

    /// Decodes from a decimal string.
    /// - Throws: `DecodingError.dataCorrupted` for anything else.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a decimal with two fraction digits: \(text)")
        }
        self = value
    }

    /// Encodes as a decimal string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An amount of money in yuan with exactly two fraction digits (`"1234.50"`), held exactly in fen.
public struct Money: Hundredths {
    /// The amount in fen (1/100 yuan).
    public let hundredths: Int64
    /// The amount in fen (1/100 yuan).
    public var fen: Int64 { hundredths }

    /// Creates an amount from fen.
    /// - Parameter hundredths: hundredths of a yuan.
    public init(hundredths: Int64) { self.hundredths = hundredths }

    /// Creates an amount from fen.
    /// - Parameter fen: hundredths of a yuan.
    public init(fen: Int64) { self.hundredths = fen }
}

/// An area in square metres with exactly two fraction digits (`"89.37"`), held exactly in hundredths.
public struct Area: Hundredths {
    /// The area in hundredths of a square metre.
    public let hundredths: Int64

    /// Creates an area from hundredths of a square metre.
    /// - Parameter hundredths: hundredths of a square metre.
    public init(hundredths: Int64) { self.hundredths = hundredths }
}
