extension ECMARegex {
    /// The pattern in ICU syntax (for `NSRegularExpression`) with ECMA-262 meanings kept.
    ///
    /// Every literal is written as `\x{…}`, so no character is special by accident (ICU treats `[`
    /// inside a class, `&&`, `--` and `#`-comments differently from ECMA-262); `$` becomes `\z`
    /// (ICU's `$` also matches before a final line terminator); `\d`, `\w`, `\s`, `.` and `\b`
    /// are spelled out with ECMA-262's code point sets.
    var icuPattern: String { Self.icu(root) }

    private static func hex(_ value: UInt32) -> String { "\\x{" + String(value, radix: 16) + "}" }

    private static func icu(_ set: ScalarSet) -> String {
        if set.ranges.isEmpty, set.icuItems.isEmpty { return set.negated ? "[\\x{0}-\\x{10ffff}]" : "(?!)" }
        var text = set.negated ? "[^" : "["
        for range in set.ranges {
            text += hex(range.lowerBound)
            if range.upperBound != range.lowerBound { text += "-" + hex(range.upperBound) }
        }
        text += set.icuItems.joined()
        return text + "]"
    }

    private static func icu(_ node: Node) -> String {
        switch node {
        case .set(let set):
            return icu(set)
        case .sequence(let nodes):
            return nodes.map(icu).joined()
        case .alternation(let nodes):
            return "(?:" + nodes.map(icu).joined(separator: "|") + ")"
        case .group(let inner, let capturing, let name):
            if let name { return "(?<\(name)>" + icu(inner) + ")" }
            return (capturing ? "(" : "(?:") + icu(inner) + ")"
        case .repetition(let inner, let min, let max, let greedy):
            let bound =
                switch (min, max) {
                case (0, nil): "*"
                case (1, nil): "+"
                case (0, 1): "?"
                case (let min, nil): "{\(min),}"
                case (let min, let max?) where min == max: "{\(min)}"
                case (let min, let max?): "{\(min),\(max)}"
                }
            return "(?:" + icu(inner) + ")" + bound + (greedy ? "" : "?")
        case .start:
            return "^"
        case .end:
            return "\\z"
        case .wordBoundary(let negated):
            let word = icu(ScalarSet(ranges: wordCharacters))
            return negated
                ? "(?:(?<=\(word))(?=\(word))|(?<!\(word))(?!\(word)))"
                : "(?:(?<=\(word))(?!\(word))|(?<!\(word))(?=\(word)))"
        case .lookaround(let inner, let behind, let negated):
            return "(?" + (behind ? "<" : "") + (negated ? "!" : "=") + icu(inner) + ")"
        case .backreference(let name):
            return name.allSatisfy(\.isNumber) ? "\\" + name : "\\k<\(name)>"
        }
    }
}
