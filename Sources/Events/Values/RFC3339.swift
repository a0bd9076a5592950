public import Foundation

/// Parsing of RFC 3339 date-times as the schemas allow them (`YYYY-MM-DDTHH:MM:SS[.f]Z|±hh:mm`).
public enum RFC3339 {
    /// The instant and its calendar date as written, or `nil` if the text is not a real date-time.
    public static func parse(_ text: String) -> (date: Date, localDate: CivilDate)? {
        let b = Array(text.utf8)
        guard b.count >= 20, b[4] == 0x2D, b[7] == 0x2D, b[10] == UInt8(ascii: "T"), b[13] == 0x3A, b[16] == 0x3A,
            let year = CivilDate.digits(b[0..<4]), let month = CivilDate.digits(b[5..<7]),
            let day = CivilDate.digits(b[8..<10]), let hour = CivilDate.digits(b[11..<13]),
            let minute = CivilDate.digits(b[14..<16]), let second = CivilDate.digits(b[17..<19]),
            let civil = CivilDate(year: year, month: month, day: day), hour < 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if b[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < b.count, b[index] >= 0x30, b[index] <= 0x39 {
                fraction += Double(b[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < b.count else { return nil }
        var offsetSeconds = 0
        if b[index] == UInt8(ascii: "Z") {
            guard index + 1 == b.count else { return nil }
        } else {
            guard b[index] == 0x2B || b[index] == 0x2D, index + 6 == b.count, b[index + 3] == 0x3A,
                let oh = CivilDate.digits(b[(index + 1)..<(index + 3)]),
                let om = CivilDate.digits(b[(index + 4)..<(index + 6)]),
                oh < 24, om < 60
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[index] == 0x2D ? -1 : 1)
        }
        let seconds = civil.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return (Date(timeIntervalSince1970: Double(seconds) + fraction), civil)
    }

    /// Today's date in Beijing time (UTC+8) at `now`.
    public static func beijingDate(_ now: Date) -> CivilDate {
        let seconds = Int((now.timeIntervalSince1970 + 8 * 3600).rounded(.down))
        return CivilDate(daysSinceEpoch: seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
    }
}
