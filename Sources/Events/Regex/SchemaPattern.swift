internal import Foundation

/// A compiled JSON Schema `pattern`, matched over Unicode code points without implicit anchors.
final class SchemaPattern: @unchecked Sendable {
    // @unchecked: NSRegularExpression is immutable after creation and documented as safe to use from
    // several threads at once; ScalarNFA is a plain value; every stored property is a `let`.
    // A class, so that copying an operation that holds a pattern is one retain.
    private let nfa: ScalarNFA?
    private let icu: NSRegularExpression?
    /// The pattern as written in the schema.
    let source: String

    /// Compiles `source`: on ``ScalarNFA`` when possible, otherwise through `NSRegularExpression`.
    init(_ source: String) throws(ECMARegex.SyntaxError) {
        let regex = try ECMARegex(source)
        self.source = source
        if let nfa = ScalarNFA(regex) {
            self.nfa = nfa
            self.icu = nil
        } else {
            self.nfa = nil
            do {
                self.icu = try NSRegularExpression(pattern: regex.icuPattern, options: [])
            } catch {
                throw ECMARegex.SyntaxError(reason: "ICU rejected \(regex.icuPattern): \(error)")
            }
        }
    }

    /// Compiles `source` for ICU only (used by tests to compare both engines).
    init(icuOnly source: String) throws(ECMARegex.SyntaxError) {
        let regex = try ECMARegex(source)
        self.source = source
        self.nfa = nil
        do {
            self.icu = try NSRegularExpression(pattern: regex.icuPattern, options: [])
        } catch {
            throw ECMARegex.SyntaxError(reason: "ICU rejected \(regex.icuPattern): \(error)")
        }
    }

    /// Whether the native engine runs this pattern.
    var isNative: Bool { nfa != nil }

    /// Whether the pattern matches somewhere in `string`.
    func matches(_ string: String) -> Bool {
        if let nfa { return nfa.matches(string) }
        guard let icu else { return false }
        let range = NSRange(location: 0, length: string.utf16.count)
        return icu.firstMatch(in: string, options: [], range: range) != nil
    }
}
