import Foundation

/// Conversions between `Date` and PostgreSQL timestamps, without `DateFormatter` (slow, locale-dependent).
enum Timestamp {
    /// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's binary epoch.
    static let postgresEpochMicros: Int64 = 946_684_800_000_000

    /// Microseconds since 1970 (rounded to the nearest microsecond, as PostgreSQL stores them).
    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(micros: Int64) -> Date {
        let seconds = micros.quotientAndRemainder(dividingBy: 1_000_000)
        return Date(timeIntervalSince1970: Double(seconds.quotient) + Double(seconds.remainder) / 1_000_000)
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`, PostgreSQL's ISO output style, in UTC.
    static func text(_ date: Date) -> String {
        if date == .distantFuture { return "infinity" }
        if date == .distantPast { return "-infinity" }
        let total = micros(date)
        var (days, rem) = total.quotientAndRemainder(dividingBy: 86_400_000_000)
        if rem < 0 { rem += 86_400_000_000; days -= 1 }
        let (y, m, d) = civil(fromDays: days)
        let secs = rem / 1_000_000, frac = rem % 1_000_000
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):"
            + "\(pad(secs % 60, 2)).\(pad(frac, 6))+00"
    }

    /// Parses `YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM[:SS]]]` (ISO DateStyle); no offset means UTC.
    static func parse(_ bytes: ArraySlice<UInt8>) -> Date? {
        var s = Scanner(bytes)
        if bytes.elementsEqual("infinity".utf8) { return .distantFuture }
        if bytes.elementsEqual("-infinity".utf8) { return .distantPast }
        guard let y = s.number(), s.take(UInt8(ascii: "-")), let mo = s.number(), s.take(UInt8(ascii: "-")),
            let d = s.number()
        else { return nil }
        var micros = days(fromCivil: y, mo, d) * 86_400_000_000
        if s.take(UInt8(ascii: " ")) || s.take(UInt8(ascii: "T")) {
            guard let h = s.number(), s.take(UInt8(ascii: ":")), let mi = s.number(), s.take(UInt8(ascii: ":")),
                let sec = s.number()
            else { return nil }
            micros += ((h * 60 + mi) * 60 + sec) * 1_000_000
            if s.take(UInt8(ascii: ".")) {
                let start = s.index
                guard var frac = s.number() else { return nil }
                var digits = s.index - start
                while digits < 6 { frac *= 10; digits += 1 }
                while digits > 6 { frac /= 10; digits -= 1 }
                micros += frac
            }
        }
        if let sign = s.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            _ = s.take(sign)
            guard let oh = s.number() else { return nil }
            var offset = oh * 3600
            if s.take(UInt8(ascii: ":")), let om = s.number() { offset += om * 60 }
            if s.take(UInt8(ascii: ":")), let os = s.number() { offset += os }
            micros -= (sign == UInt8(ascii: "+") ? offset : -offset) * 1_000_000
        }
        guard s.atEnd else { return nil }  // " BC" and other styles are not supported
        return date(micros: micros)
    }

    // Howard Hinnant's civil-date algorithms (days since 1970-01-01, proleptic Gregorian).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private struct Scanner {
        let bytes: ArraySlice<UInt8>
        var index: Int
        init(_ bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            self.index = bytes.startIndex
        }
        var atEnd: Bool { index == bytes.endIndex }
        func peek() -> UInt8? { atEnd ? nil : bytes[index] }
        mutating func take(_ byte: UInt8) -> Bool {
            guard peek() == byte else { return false }
            index += 1
            return true
        }
        mutating func number() -> Int64? {
            var value: Int64 = 0
            let start = index
            while let b = peek(), b >= 48, b <= 57, index - start < 18 {
                value = value * 10 + Int64(b - 48)
                index += 1
            }
            return index == start ? nil : value
        }
    }
}
