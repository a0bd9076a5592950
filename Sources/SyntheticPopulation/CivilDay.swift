/// A calendar day as a count of days since 1970-01-01 (proleptic Gregorian), with the conversions
/// the generator needs (Howard Hinnant's `days_from_civil` / `civil_from_days`).
struct CivilDay: Hashable, Comparable, Sendable {
    var value: Int

    init(_ value: Int) { self.value = value }

    init(year: Int, month: Int, day: Int) {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        value = era * 146_097 + doe - 719_468
    }

    /// Parses `YYYY-MM-DD` (a real calendar date), or returns `nil`.
    init?(parsing text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), (1...Self.daysIn(year: y, month: m)).contains(d)
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    var components: (year: Int, month: Int, day: Int) {
        let z = value + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Months since year 0 (`year * 12 + month - 1`), the unit of contribution months.
    var monthIndex: Int {
        let c = components
        return c.year * 12 + c.month - 1
    }

    /// The first day of a month index.
    static func firstDay(ofMonth index: Int) -> CivilDay { CivilDay(year: index / 12, month: index % 12 + 1, day: 1) }

    /// The same day of the month `years` later (29 February becomes 28 February).
    func adding(years: Int) -> CivilDay {
        let c = components
        return CivilDay(
            year: c.year + years, month: c.month, day: min(c.day, Self.daysIn(year: c.year + years, month: c.month)))
    }

    static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func + (day: CivilDay, days: Int) -> CivilDay { CivilDay(day.value + days) }
    static func - (day: CivilDay, days: Int) -> CivilDay { CivilDay(day.value - days) }
    static func - (a: CivilDay, b: CivilDay) -> Int { a.value - b.value }
    static func < (a: CivilDay, b: CivilDay) -> Bool { a.value < b.value }

    /// `YYYY-MM-DD`.
    var text: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(10)
        EventBuffer.appendDate(self, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `YYYY-MM` of a month index.
    static func monthText(_ index: Int) -> String {
        var bytes: [UInt8] = []
        EventBuffer.appendMonth(index, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
