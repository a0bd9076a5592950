/// A co-owner's share of a title, an exact fraction such as `1/3`.
public struct Share: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The numerator, ≥ 1.
    public let numerator: Int
    /// The denominator, ≥ 1.
    public let denominator: Int

    /// Creates a share as written (not reduced).
    /// - Parameters:
    ///   - numerator: positive numerator.
    ///   - denominator: positive denominator.
    public init?(numerator: Int, denominator: Int) {
        guard numerator > 0, denominator > 0 else { return nil }
        self.numerator = numerator
        self.denominator = denominator
    }

    /// Parses `"numerator/denominator"` (positive integers of up to 9 digits).
    /// - Parameter text: e.g. `"1/2"`.
    public init?(_ text: String) {
        let parts = text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard parts.count == 2, (1...9).contains(parts[0].count), (1...9).contains(parts[1].count),
            let numerator = CivilDate.digits(ArraySlice(parts[0])),
            let denominator = CivilDate.digits(ArraySlice(parts[1]))
        else { return nil }
        self.init(numerator: numerator, denominator: denominator)
    }

    /// Whether numerator and denominator have no common factor.
    public var isInLowestTerms: Bool { Share.gcd(numerator, denominator) == 1 }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }

    /// Adds fractions exactly, in lowest terms; `nil` on overflow.
    static func sum(_ shares: [Share]) -> (numerator: Int, denominator: Int)? {
        var total = (numerator: 0, denominator: 1)
        for share in shares {
            let (n1, o1) = total.numerator.multipliedReportingOverflow(by: share.denominator)
            let (n2, o2) = share.numerator.multipliedReportingOverflow(by: total.denominator)
            let (n, o3) = n1.addingReportingOverflow(n2)
            let (d, o4) = total.denominator.multipliedReportingOverflow(by: share.denominator)
            guard !(o1 || o2 || o3 || o4) else { return nil }
            let g = gcd(n, d)
            total = (n / g, d / g)
        }
        return total
    }

    /// `"numerator/denominator"`.
    public var description: String { "\(numerator)/\(denominator)" }

    /// Decodes from `"n/d"`.
    /// - Throws: `DecodingError.dataCorrupted` for anything else.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Share(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a share: \(text)")
        }
        self = value
    }

    /// Encodes as `"n/d"`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
