/// One broken rule found in an event: where, which rule, the offending value (masked) and why.
public struct EventViolation: Sendable, Hashable, CustomStringConvertible {
    /// The instance location as a JSON pointer into the envelope, e.g. `/data/owners/1/share`; `""` is the envelope.
    public var pointer: String
    /// The schema keyword (`pattern`, `required`, …) or hub rule (`citizenIdCheck`, `sharesSum`, …) broken.
    public var rule: String
    /// The offending value, with citizen IDs masked and long values shortened; `nil` when there is none.
    public var value: String?
    /// What is wrong, in plain words, e.g. `check character is 9, expected X`.
    public var message: String

    /// Creates a violation.
    /// - Parameters:
    ///   - pointer: JSON pointer of the offending value.
    ///   - rule: the keyword or rule.
    ///   - value: the offending value, already masked (see ``EventViolation/masked(_:)``).
    ///   - message: plain-words explanation.
    public init(pointer: String, rule: String, value: String?, message: String) {
        self.pointer = pointer
        self.rule = rule
        self.value = value
        self.message = message
    }

    /// The pointer written as a field path, e.g. `data/childId` (`envelope` for the whole message).
    public var field: String { pointer.isEmpty ? "envelope" : String(pointer.dropFirst()) }

    /// One line: `data/childId: check character is 9, expected X (110105***********9)`.
    public var description: String {
        "\(field): \(message)" + (value.map { " (\($0))" } ?? "")
    }
}

extension EventViolation {
    /// The longest value shown, in Unicode scalars.
    static let maximumValueLength = 48

    /// A value as it may appear in logs and dead letters: every run of 14 or more digits (or `X`)
    /// keeps its first 6 and last character and the rest becomes `*`, control characters are escaped
    /// (so the result is one line), and long text is shortened.
    /// - Parameter text: the raw value.
    /// - Returns: the masked text, e.g. `110105***********5`.
    public static func masked(_ text: String) -> String {
        var output = String.UnicodeScalarView()
        var run: [Unicode.Scalar] = []
        func flush() {
            if run.count >= 14 {
                output.append(contentsOf: run[0..<6])
                output.append(contentsOf: repeatElement("*", count: run.count - 7))
                output.append(run[run.count - 1])
            } else {
                output.append(contentsOf: run)
            }
            run.removeAll(keepingCapacity: true)
        }
        for scalar in text.unicodeScalars {
            if ("0"..."9").contains(scalar) || scalar == "X" || scalar == "x" {
                run.append(scalar)
            } else {
                flush()
                appendEscaped(scalar, to: &output)
            }
        }
        flush()
        if output.count > maximumValueLength {
            let kept = output.prefix(maximumValueLength - 1)
            return String(String.UnicodeScalarView(kept)) + "…"
        }
        return String(output)
    }

    /// Text as it may appear in logs, dead letters, PostgreSQL `text` and a terminal: control characters (C0 with NUL,
    /// which a `text` value cannot hold, DEL and C1, which terminals act on), line separators and the bidirectional
    /// controls (which reorder what a reader sees) are escaped as `\u{…}`, so the result is one line that shows what
    /// it holds; nothing else changes.
    /// - Parameter text: the raw text, e.g. a reason naming a value a sender chose.
    /// - Returns: the printable text.
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var output = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { appendEscaped(scalar, to: &output) }
        return String(output)
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029: true
        // Bidirectional marks, embeddings, overrides and isolates.
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    private static func appendEscaped(_ scalar: Unicode.Scalar, to output: inout String.UnicodeScalarView) {
        if needsEscape(scalar) {
            output.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
        } else {
            output.append(scalar)
        }
    }

    /// A JSON value shown masked: strings as themselves, anything else as compact JSON.
    static func masked(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): masked(text)
        default: masked(String(decoding: value.serialized, as: UTF8.self))
        }
    }
}
