import Events
public import Foundation

/// Times as credentials, proofs and key files write them: XML Schema `dateTimeStamp` in UTC, whole seconds
/// (`2026-12-06T08:30:00Z`).
public enum Timestamp {
    /// The time written in UTC, whole seconds (any fraction is dropped).
    /// - Parameter date: the time.
    /// - Returns: e.g. `2026-12-06T08:30:00Z`.
    public static func format(_ date: Date) -> String {
        wholeSeconds(date).formatted(Date.ISO8601FormatStyle())
    }

    /// Reads a time with an explicit offset (`Z` or `±hh:mm`), with or without a fraction of a second: RFC 3339 as
    /// the event schemas read it (``RFC3339/parse(_:)``).
    /// - Parameter text: the text.
    /// - Returns: the time, or `nil` when the text is not such a time.
    public static func parse(_ text: String) -> Date? {
        RFC3339.parse(text)?.date
    }

    /// The time without its fraction of a second (so that a time written and read back is equal to itself).
    public static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }
}
