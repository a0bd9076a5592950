/// An exact, non-negative fraction in lowest terms: a co-owner's share of a title.
struct Fraction: Hashable, Sendable, CustomStringConvertible {
    let numerator: Int
    let denominator: Int

    init(_ numerator: Int, _ denominator: Int) {
        let divisor = Self.gcd(numerator, denominator)
        self.numerator = numerator / divisor
        self.denominator = denominator / divisor
    }

    static let one = Fraction(1, 1)

    static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? max(a, 1) : gcd(b, a % b) }

    static func + (a: Fraction, b: Fraction) -> Fraction {
        Fraction(a.numerator * b.denominator + b.numerator * a.denominator, a.denominator * b.denominator)
    }

    static func / (a: Fraction, n: Int) -> Fraction { Fraction(a.numerator, a.denominator * n) }

    /// `numerator/denominator`, as the schema's `share` pattern wants it.
    var description: String { "\(numerator)/\(denominator)" }
}
