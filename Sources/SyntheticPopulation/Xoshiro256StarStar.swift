/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64: a small, fast, seedable generator.
///
/// The population generator never touches `SystemRandomNumberGenerator`: every choice comes from
/// one of these, so the same seed always gives the same population.
struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Seeds the four words of state from SplitMix64, so that any seed (even 0) gives good state.
    /// - Parameters:
    ///   - seed: the user's seed.
    ///   - stream: separates independent streams (families, insurance, anomalies…) of one seed.
    init(seed: UInt64, stream: UInt64 = 0) {
        var sm = seed ^ (stream &* 0x9E37_79B9_7F4A_7C15)
        s0 = Self.splitMix(&sm)
        s1 = Self.splitMix(&sm)
        s2 = Self.splitMix(&sm)
        s3 = Self.splitMix(&sm)
    }

    static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix(state)
    }

    /// The SplitMix64 output function: a good 64-bit hash of one word.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// A uniform integer in `range` (Lemire's method through the standard library).
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { p > 0 && Double(next() >> 11) * 0x1.0p-53 < p }

    /// A uniform element; `nil` only for an empty collection.
    mutating func pick<C: RandomAccessCollection>(_ c: C) -> C.Element? where C.Index == Int {
        c.isEmpty ? nil : c[c.startIndex + Int(next() % UInt64(c.count))]
    }

    /// An index chosen with the given weights (all non-negative, not all zero).
    mutating func weighted(_ weights: [Int]) -> Int {
        let total = weights.reduce(0, +)
        var r = int(0...max(0, total - 1))
        for (i, w) in weights.enumerated() {
            if r < w { return i }
            r -= w
        }
        return weights.count - 1
    }

    /// An approximately normal value (sum of uniforms), clamped to `range`.
    mutating func normal(mean: Double, deviation: Double, in range: ClosedRange<Double>) -> Double {
        var sum = 0.0
        for _ in 0..<4 { sum += Double(next() >> 11) * 0x1.0p-53 }
        let value = mean + (sum - 2) * deviation * 1.732
        return min(max(value, range.lowerBound), range.upperBound)
    }
}
