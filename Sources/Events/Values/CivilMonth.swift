/// A calendar month (`YYYY-MM`), e.g. the month a contribution is for.
public struct CivilMonth: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The year.
    public let year: Int
    /// The month, 1–12.
    public let month: Int

    /// Creates a month.
    /// - Parameters:
    ///   - year: the year (1–9999).
    ///   - month: 1–12.
    public init?(year: Int, month: Int) {
        guard (1...9999).contains(year), (1...12).contains(month) else { return nil }
        self.year = year
        self.month = month
    }

    /// Parses `YYYY-MM`.
    /// - Parameter text: the month text.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 7, bytes[4] == UInt8(ascii: "-"), let year = CivilDate.digits(bytes[0..<4]),
            let month = CivilDate.digits(bytes[5..<7])
        else { return nil }
        self.init(year: year, month: month)
    }

    /// The month a date falls in.
    /// - Parameter date: any day of the month.
    public init(_ date: CivilDate) {
        year = date.year
        month = date.month
    }

    /// `YYYY-MM`.
    public var description: String {
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + (month < 10 ? "-0" : "-") + String(month)
    }

    public static func < (a: CivilMonth, b: CivilMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }

    /// Decodes from a `YYYY-MM` string.
    /// - Throws: `DecodingError.dataCorrupted` for anything else.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let month = CivilMonth(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a month: \(text)")
        }
        self = month
    }

    /// Encodes as a `YYYY-MM` string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
