/// A reusable byte buffer for writing compact JSON envelopes by hand, without building `JSONValue`s.
///
/// Every string the generator writes is known to need no escaping (IDs, dates, names from fixed
/// tables, codes), so strings are copied as they are.
struct EventBuffer {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1024) }

    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// `"name":` preceded by a comma unless it opens the object (`first`).
    mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        raw(s)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func string(_ s: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(s)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func field(_ name: StaticString, _ value: String, first: Bool = false) {
        key(name, first: first)
        string(value)
    }

    mutating func field(_ name: StaticString, _ value: StaticString, first: Bool = false) {
        key(name, first: first)
        string(value)
    }

    mutating func field(_ name: StaticString, date: CivilDay, first: Bool = false) {
        key(name, first: first)
        bytes.append(UInt8(ascii: "\""))
        Self.appendDate(date, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func field(_ name: StaticString, month: Int) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        Self.appendMonth(month, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func field(_ name: StaticString, cents: Int) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        Self.appendMoney(cents, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `YYYY-MM-DDThh:mm:ss+08:00` for a day and a second of that day.
    mutating func dateTime(_ day: CivilDay, second: Int = 0) {
        bytes.append(UInt8(ascii: "\""))
        Self.appendDate(day, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        Self.appendDigits(second / 3600, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        Self.appendDigits(second / 60 % 60, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        Self.appendDigits(second % 60, count: 2, to: &bytes)
        raw("+08:00\"")
    }

    static func appendDigits(_ value: Int, count: Int, to bytes: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<count { divisor *= 10 }
        var v = value
        while divisor > 0 {
            bytes.append(UInt8(truncatingIfNeeded: 48 + v / divisor % 10))
            v %= divisor
            divisor /= 10
        }
    }

    static func appendDate(_ day: CivilDay, to bytes: inout [UInt8]) {
        let c = day.components
        appendDigits(c.year, count: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(c.month, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(c.day, count: 2, to: &bytes)
    }

    static func appendMonth(_ index: Int, to bytes: inout [UInt8]) {
        appendDigits(index / 12, count: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(index % 12 + 1, count: 2, to: &bytes)
    }

    /// Yuan with exactly two decimals, from a non-negative number of fen.
    static func appendMoney(_ cents: Int, to bytes: inout [UInt8]) {
        let yuan = cents / 100
        var digits = 1
        var limit = 10
        while yuan >= limit { digits += 1; limit *= 10 }
        appendDigits(yuan, count: digits, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        appendDigits(cents % 100, count: 2, to: &bytes)
    }

    static func money(_ cents: Int) -> String {
        var bytes: [UInt8] = []
        appendMoney(cents, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A lower-case UUID with the version-4 and RFC 4122 variant bits, from 128 bits.
    mutating func uuid(_ high: UInt64, _ low: UInt64) {
        let hex: StaticString = "0123456789abcdef"
        let h = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000
        let l = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        bytes.append(UInt8(ascii: "\""))
        hex.withUTF8Buffer { hex in
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 { bytes.append(UInt8(ascii: "-")) }
                let word = nibble < 16 ? h : l
                bytes.append(hex[Int((word >> UInt64(60 - (nibble % 16) * 4)) & 0xF)])
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
