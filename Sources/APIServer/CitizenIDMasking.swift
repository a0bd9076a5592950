/// Citizen ID numbers as a public page may show them: the region (first 6) and the last 4 characters, the birth date
/// and sequence hidden.
///
/// `mask` is for an ID the page knows it shows; `maskAll` is the net under every other text the page prints (names,
/// statements, reasons worded elsewhere), so that an ID that slipped into one of them never appears whole.
public enum CitizenIDMasking {
    /// How many characters of an 18-character ID stay visible at the start (the region code).
    static let visiblePrefix = 6
    /// How many stay visible at the end (the last of the sequence and the check character).
    static let visibleSuffix = 4

    /// Masks one citizen ID: `"110105197501200313"` becomes `"110105********0313"`.
    ///
    /// Anything that is not 18 characters long is not an ID whose parts are known, and is starred whole (one star a
    /// character, at least one).
    /// - Parameter id: the citizen ID.
    /// - Returns: the first 6 characters, eight `*`, and the last 4.
    public static func mask(_ id: String) -> String {
        let characters = Array(id)
        guard characters.count == 18 else { return String(repeating: "*", count: max(1, characters.count)) }
        return String(characters.prefix(visiblePrefix))
            + String(repeating: "*", count: 18 - visiblePrefix - visibleSuffix)
            + String(characters.suffix(visibleSuffix))
    }

    /// Masks every ID-like run in free text: each maximal run of digits (ASCII or full-width), with an `X` or `x`
    /// right after it counted in, at least 15 characters long (an 18-character ID, an old 15-digit one, or anything as long) goes
    /// through ``mask(_:)``.
    /// - Parameter text: any text.
    /// - Returns: the text with every such run masked; shorter numbers (dates, years, counts) are left as they are.
    public static func maskAll(in text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var result = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            guard isDigit(scalars[index]) else {
                result.append(scalars[index])
                index += 1
                continue
            }
            var end = index
            while end < scalars.count, isDigit(scalars[end]) { end += 1 }
            if end < scalars.count, ["X", "x", "Ｘ", "ｘ"].contains(scalars[end]) { end += 1 }
            let run = String(String.UnicodeScalarView(scalars[index..<end]))
            if end - index >= 15 {
                result.append(contentsOf: mask(run).unicodeScalars)
            } else {
                result.append(contentsOf: run.unicodeScalars)
            }
            index = end
        }
        return String(result)
    }

    /// ASCII digits, and the full-width ones an ID typed in a Chinese input method may have.
    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(scalar) || ("０"..."９").contains(scalar)
    }
}
