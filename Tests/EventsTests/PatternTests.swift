import Testing
import TongbanTesting

@testable import Events

@Suite("Patterns (ECMA-262 over code points)", .sharedMachine)
struct PatternTests {
    static let cases: [(pattern: String, text: String, matches: Bool)] = [
        (#"^\d+$"#, "123", true),
        (#"^\d+$"#, "١٢٣", false),  // Arabic-Indic digits are not \d
        (#"^\d+$"#, "１２３", false),  // nor full-width ones
        (#"^\w+$"#, "abc_9", true),
        (#"^\w+$"#, "é", false),
        ("^a$", "a\n", false),  // $ is the very end, not before a final newline
        ("^a$", "a", true),
        ("a", "bab", true),  // unanchored
        ("^a", "ba", false),
        ("a$", "ab", false),
        ("^.$", "\u{20000}", true),  // one code point, not two UTF-16 units
        ("^.$", "\n", false),
        ("^.$", "\u{85}", true),  // NEL is not an ECMA line terminator
        ("^[^\u{0}-\u{FFFF}]$", "\u{20000}", true),
        ("^[^\u{0}-\u{FFFF}]$", "王", false),
        (#"^[\u4e00-\u9fff]{2}$"#, "王建", true),
        (#"^[\u{20000}-\u{2A6DF}]$"#, "\u{20001}", true),
        (#"^[\uD840\uDC00]$"#, "\u{20000}", true),  // a surrogate pair in a pattern is one code point
        ("^[a-c[]+$", "a[b", true),  // '[' is literal inside an ECMA class
        ("^[a&&b]+$", "&", true),  // no ICU set operators
        (#"^\s$"#, "\u{3000}", true),
        (#"^\S$"#, "\u{3000}", false),
        ("^(ab|cd){2,3}$", "abcdab", true),
        ("^(ab|cd){2,3}$", "ab", false),
        ("^x{0,2}y$", "xxxy", false),
        ("^[^\u{0}-\u{1f}\u{7f} ]+$", "京(2026)", true),
        ("^[^\u{0}-\u{1f}\u{7f} ]+$", "a\u{0}b", false),
        (#"^(?:a|b)*?c$"#, "ababc", true),
        (#"^[\d-]+$"#, "1-2", true),
        (#"\bword\b"#, "a word here", true),  // ICU path
        (#"\bword\b"#, "awordy", false),
        (#"^(?=.*\d).{2}$"#, "a1", true),  // look-ahead: ICU path
        (#"^(?=.*\d).{2}$"#, "ab", false),
        (#"^(a)\1$"#, "aa", true),  // back-reference: ICU path
        (#"^\p{Script=Han}+$"#, "王\u{20000}", true),  // property escape: ICU path
        (#"^\p{Script=Han}+$"#, "王a", false),
    ]

    @Test("ECMA-262 meanings", arguments: cases.indices)
    func meaning(_ index: Int) throws {
        let (pattern, text, expected) = Self.cases[index]
        let compiled = try SchemaPattern(pattern)
        #expect(compiled.matches(text) == expected, "\(pattern) on \(text.unicodeScalars.map { $0.value })")
    }

    @Test("the native engine and the ICU translation agree", arguments: cases.indices)
    func enginesAgree(_ index: Int) throws {
        let (pattern, text, expected) = Self.cases[index]
        let icu = try SchemaPattern(icuOnly: pattern)
        #expect(icu.matches(text) == expected, "ICU: \(pattern) on \(text.unicodeScalars.map { $0.value })")
    }

    @Test("the DFA and the direct NFA simulation agree", arguments: cases.indices)
    func automataAgree(_ index: Int) throws {
        let (pattern, text, expected) = Self.cases[index]
        guard let nfa = ScalarNFA(try ECMARegex(pattern)) else { return }  // ICU-only pattern
        #expect(nfa.simulate(text) == expected)
        #expect(nfa.matches(text) == expected)
    }

    @Test("every pattern of the Tongban schemas runs natively")
    func schemaPatternsAreNative() throws {
        for node in EventFixtures.validator.schemas.nodes {
            for operation in node.operations {
                if case .pattern(let pattern) = operation { #expect(pattern.isNative, "\(pattern.source)") }
            }
        }
    }

    @Test("invalid patterns are rejected", arguments: ["(", "[a", "a{2,1}", "*", #"\"#, "(?<n)", #"\q"#])
    func invalid(_ pattern: String) {
        #expect(throws: ECMARegex.SyntaxError.self) { try SchemaPattern(pattern) }
    }
}
