/// A JSON Schema `pattern`: an ECMA-262 regular expression read over Unicode code points (the `u` flag).
///
/// The parser produces a small syntax tree. Patterns made only of characters, classes, groups,
/// alternation, quantifiers and `^`/`$` run on ``ScalarNFA`` (linear time, no Foundation);
/// the rest (look-around, back-references, `\b`, `\p{…}`) is translated to ICU syntax and run by
/// `NSRegularExpression`. Both follow ECMA-262 meanings: `\d` is `[0-9]` only, `\w` is ASCII,
/// `.` excludes only line terminators, `$` matches only at the very end, and a pattern is
/// unanchored unless it says otherwise.
struct ECMARegex: Sendable {
    indirect enum Node: Sendable {
        case set(ScalarSet)
        case sequence([Node])
        case alternation([Node])
        case group(Node, capturing: Bool, name: String?)
        case repetition(Node, min: Int, max: Int?, greedy: Bool)
        case start
        case end
        case wordBoundary(negated: Bool)
        case lookaround(Node, behind: Bool, negated: Bool)
        case backreference(String)
    }

    /// A set of code points, as sorted ranges, possibly negated, plus ICU-only items (`\p{…}`).
    struct ScalarSet: Sendable {
        var ranges: [ClosedRange<UInt32>] = []
        var negated = false
        var icuItems: [String] = []
    }

    struct SyntaxError: Error, Sendable {
        let reason: String
    }

    let source: String
    let root: Node

    init(_ source: String) throws(SyntaxError) {
        self.source = source
        var parser = Parser(scalars: Array(source.unicodeScalars))
        root = try parser.parseAlternation()
        if parser.position < parser.scalars.count {
            throw SyntaxError(reason: "unbalanced ')' at \(parser.position)")
        }
    }

    /// Whether every construct can run on ``ScalarNFA``.
    var isNative: Bool { Self.isNative(root) }

    private static func isNative(_ node: Node) -> Bool {
        switch node {
        case .set(let set): set.icuItems.isEmpty
        case .sequence(let nodes), .alternation(let nodes): nodes.allSatisfy(isNative)
        case .group(let inner, _, _): isNative(inner)
        case .repetition(let inner, _, _, _): isNative(inner)
        case .start, .end: true
        case .wordBoundary, .lookaround, .backreference: false
        }
    }
}

extension ECMARegex {
    static let digits: [ClosedRange<UInt32>] = [0x30...0x39]
    static let wordCharacters: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
    /// ECMA-262 WhiteSpace and LineTerminator.
    static let whitespace: [ClosedRange<UInt32>] = [
        0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A, 0x2028...0x2029,
        0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF,
    ]
    static let lineTerminators: [ClosedRange<UInt32>] = [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029]

    /// Sorts and merges ranges.
    static func normalized(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, range.lowerBound <= last.upperBound &+ 1 {
                result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }

    /// The code points not in `ranges`.
    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in normalized(ranges) {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            next = range.upperBound + 1
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return result
    }
}

extension ECMARegex {
    struct Parser {
        let scalars: [Unicode.Scalar]
        var position = 0

        var current: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

        func peek(_ offset: Int) -> Unicode.Scalar? {
            position + offset < scalars.count ? scalars[position + offset] : nil
        }

        mutating func parseAlternation() throws(SyntaxError) -> Node {
            var branches = [try parseSequence()]
            while current == "|" {
                position += 1
                branches.append(try parseSequence())
            }
            return branches.count == 1 ? branches[0] : .alternation(branches)
        }

        mutating func parseSequence() throws(SyntaxError) -> Node {
            var items: [Node] = []
            while let c = current, c != "|", c != ")" {
                var atom = try parseAtom()
                if let (min, max) = try parseQuantifier() {
                    var greedy = true
                    if current == "?" {
                        greedy = false
                        position += 1
                    }
                    switch atom {
                    case .start, .end, .wordBoundary, .lookaround(_, true, _):
                        throw SyntaxError(reason: "nothing to repeat at \(position)")
                    default: break
                    }
                    atom = .repetition(atom, min: min, max: max, greedy: greedy)
                }
                items.append(atom)
            }
            return items.count == 1 ? items[0] : .sequence(items)
        }

        mutating func parseQuantifier() throws(SyntaxError) -> (Int, Int?)? {
            switch current {
            case "*":
                position += 1
                return (0, nil)
            case "+":
                position += 1
                return (1, nil)
            case "?":
                position += 1
                return (0, 1)
            case "{":
                let saved = position
                position += 1
                guard let min = parseDecimal() else {
                    position = saved
                    throw SyntaxError(reason: "lone '{' at \(saved)")
                }
                var max: Int? = min
                if current == "," {
                    position += 1
                    max = parseDecimal()
                }
                guard current == "}" else { throw SyntaxError(reason: "unterminated quantifier at \(saved)") }
                position += 1
                if let max, max < min { throw SyntaxError(reason: "quantifier range out of order at \(saved)") }
                return (min, max)
            default:
                return nil
            }
        }

        mutating func parseDecimal() -> Int? {
            var value: Int?
            while let c = current, ("0"..."9").contains(c) {
                value = min((value ?? 0) * 10 + Int(c.value - 0x30), 1_000_000)
                position += 1
            }
            return value
        }

        mutating func parseAtom() throws(SyntaxError) -> Node {
            guard let c = current else { throw SyntaxError(reason: "unexpected end") }
            position += 1
            switch c {
            case "^": return .start
            case "$": return .end
            case ".": return .set(ScalarSet(ranges: ECMARegex.lineTerminators, negated: true))
            case "[": return .set(try parseClass())
            case "(": return try parseGroup()
            case "\\": return try parseEscape()
            case "*", "+", "?", "{", "}", "]":
                throw SyntaxError(reason: "unexpected '\(c)' at \(position - 1)")
            default: return .set(ScalarSet(ranges: [c.value...c.value]))
            }
        }

        mutating func parseGroup() throws(SyntaxError) -> Node {
            var capturing = true
            var name: String?
            var look: (behind: Bool, negated: Bool)?
            if current == "?" {
                position += 1
                switch (current, peek(1)) {
                case (":", _):
                    capturing = false
                    position += 1
                case ("=", _), ("!", _):
                    look = (false, current == "!")
                    position += 1
                case ("<", "="), ("<", "!"):
                    look = (true, peek(1) == "!")
                    position += 2
                case ("<", _):
                    position += 1
                    var text = ""
                    while let c = current, c != ">" {
                        text.unicodeScalars.append(c)
                        position += 1
                    }
                    guard current == ">", !text.isEmpty else { throw SyntaxError(reason: "bad group name") }
                    position += 1
                    name = text
                default:
                    throw SyntaxError(reason: "invalid group at \(position)")
                }
            }
            let inner = try parseAlternation()
            guard current == ")" else { throw SyntaxError(reason: "missing ')'") }
            position += 1
            if let look { return .lookaround(inner, behind: look.behind, negated: look.negated) }
            return .group(inner, capturing: capturing, name: name)
        }

        /// An escape outside a class.
        mutating func parseEscape() throws(SyntaxError) -> Node {
            guard let c = current else { throw SyntaxError(reason: "trailing backslash") }
            switch c {
            case "b", "B":
                position += 1
                return .wordBoundary(negated: c == "B")
            case "1"..."9":
                let number = parseDecimal() ?? 0
                return .backreference(String(number))
            case "k":
                position += 1
                guard current == "<" else { throw SyntaxError(reason: "invalid \\k") }
                position += 1
                var text = ""
                while let c = current, c != ">" {
                    text.unicodeScalars.append(c)
                    position += 1
                }
                guard current == ">" else { throw SyntaxError(reason: "invalid \\k") }
                position += 1
                return .backreference(text)
            default:
                return .set(try parseClassEscape(inClass: false))
            }
        }

        /// An escape that stands for a set of code points (inside or outside a class).
        mutating func parseClassEscape(inClass: Bool) throws(SyntaxError) -> ScalarSet {
            guard let c = current else { throw SyntaxError(reason: "trailing backslash") }
            position += 1
            func single(_ v: UInt32) -> ScalarSet { ScalarSet(ranges: [v...v]) }
            switch c {
            case "d": return ScalarSet(ranges: ECMARegex.digits)
            case "D": return ScalarSet(ranges: ECMARegex.complement(ECMARegex.digits))
            case "w": return ScalarSet(ranges: ECMARegex.wordCharacters)
            case "W": return ScalarSet(ranges: ECMARegex.complement(ECMARegex.wordCharacters))
            case "s": return ScalarSet(ranges: ECMARegex.whitespace)
            case "S": return ScalarSet(ranges: ECMARegex.complement(ECMARegex.whitespace))
            case "t": return single(0x09)
            case "n": return single(0x0A)
            case "v": return single(0x0B)
            case "f": return single(0x0C)
            case "r": return single(0x0D)
            case "b" where inClass: return single(0x08)
            case "0":
                if let next = current, ("0"..."9").contains(next) { throw SyntaxError(reason: "octal escape") }
                return single(0)
            case "c":
                guard let letter = current, ("a"..."z").contains(letter) || ("A"..."Z").contains(letter) else {
                    throw SyntaxError(reason: "invalid \\c")
                }
                position += 1
                return single(letter.value % 32)
            case "x":
                guard let value = parseHex(count: 2) else { throw SyntaxError(reason: "invalid \\x") }
                return single(value)
            case "u":
                return single(try parseUnicodeEscape())
            case "p", "P":
                guard current == "{" else { throw SyntaxError(reason: "invalid \\\(c)") }
                var text = "\\\(c)"
                while let s = current {
                    text.unicodeScalars.append(s)
                    position += 1
                    if s == "}" { break }
                }
                guard text.hasSuffix("}") else { throw SyntaxError(reason: "unterminated \\\(c){") }
                return ScalarSet(icuItems: [text])
            default:
                // In Unicode mode only syntax characters and '/' (and '-' in a class) may be escaped;
                // accept any non-alphanumeric character, as most validators do.
                if c.properties.isAlphabetic || ("0"..."9").contains(c) {
                    throw SyntaxError(reason: "invalid escape \\\(c)")
                }
                return single(c.value)
            }
        }

        mutating func parseHex(count: Int) -> UInt32? {
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let c = current, let digit = hexValue(c) else { return nil }
                value = value * 16 + digit
                position += 1
            }
            return value
        }

        func hexValue(_ c: Unicode.Scalar) -> UInt32? {
            switch c {
            case "0"..."9": c.value - 0x30
            case "a"..."f": c.value - 0x61 + 10
            case "A"..."F": c.value - 0x41 + 10
            default: nil
            }
        }

        mutating func parseUnicodeEscape() throws(SyntaxError) -> UInt32 {
            if current == "{" {
                position += 1
                var value: UInt32 = 0
                var digits = 0
                while let c = current, let digit = hexValue(c) {
                    value = value &* 16 &+ digit
                    digits += 1
                    position += 1
                }
                guard current == "}", digits > 0, digits <= 6, value <= 0x10FFFF else {
                    throw SyntaxError(reason: "invalid \\u{…}")
                }
                position += 1
                return value
            }
            guard let high = parseHex(count: 4) else { throw SyntaxError(reason: "invalid \\u") }
            if (0xD800...0xDBFF).contains(high), current == "\\", peek(1) == "u" {
                let saved = position
                position += 2
                if let low = parseHex(count: 4), (0xDC00...0xDFFF).contains(low) {
                    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                }
                position = saved
            }
            return high
        }

        mutating func parseClass() throws(SyntaxError) -> ScalarSet {
            var set = ScalarSet()
            if current == "^" {
                set.negated = true
                position += 1
            }
            var ranges: [ClosedRange<UInt32>] = []
            while let c = current, c != "]" {
                let (low, lowIsSingle) = try parseClassAtom(into: &set, ranges: &ranges)
                if current == "-", let after = peek(1), after != "]", lowIsSingle, let low {
                    position += 1
                    let (high, highIsSingle) = try parseClassAtom(into: &set, ranges: &ranges)
                    guard highIsSingle, let high else { throw SyntaxError(reason: "invalid class range") }
                    guard low <= high else { throw SyntaxError(reason: "class range out of order") }
                    ranges.append(low...high)
                } else if let low, lowIsSingle {
                    ranges.append(low...low)
                }
            }
            guard current == "]" else { throw SyntaxError(reason: "missing ']'") }
            position += 1
            set.ranges = ECMARegex.normalized(ranges)
            return set
        }

        /// Reads one class atom. A single code point is returned (not yet added); sets are added at once.
        mutating func parseClassAtom(
            into set: inout ScalarSet, ranges: inout [ClosedRange<UInt32>]
        ) throws(SyntaxError) -> (UInt32?, Bool) {
            guard let c = current else { throw SyntaxError(reason: "missing ']'") }
            position += 1
            guard c == "\\" else { return (c.value, true) }
            let escaped = try parseClassEscape(inClass: true)
            if escaped.icuItems.isEmpty, escaped.ranges.count == 1, escaped.ranges[0].count == 1 {
                return (escaped.ranges[0].lowerBound, true)
            }
            ranges.append(contentsOf: escaped.ranges)
            set.icuItems.append(contentsOf: escaped.icuItems)
            return (nil, false)
        }
    }
}
