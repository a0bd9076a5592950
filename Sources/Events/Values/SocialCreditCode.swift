/// The check of GB 32100 unified social credit codes (统一社会信用代码).
public enum SocialCreditCode {
    /// The 31 characters of the code alphabet, in value order.
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY".utf8)
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    /// The check character (mod 31) of the first 17 characters: the one implementation that both
    /// the validator and the generator use.
    /// - Parameter characters: the code's bytes (at least the first 17).
    /// - Returns: the expected 18th character's ASCII, or `nil` if a character is outside the alphabet.
    public static func checkCharacter(characters: some Sequence<UInt8>) -> UInt8? {
        var sum = 0
        var count = 0
        for byte in characters.prefix(17) {
            guard let value = alphabet.firstIndex(of: byte) else { return nil }
            sum += value * weights[count]
            count += 1
        }
        guard count == 17 else { return nil }
        return alphabet[(31 - sum % 31) % 31]
    }

    /// The check character (mod 31) for the first 17 characters of a code.
    /// - Parameter code: an 18-character code (at least its first 17 characters).
    /// - Returns: the expected 18th character, or `nil` if a character is outside the alphabet.
    public static func checkCharacter(for code: String) -> Character? {
        checkCharacter(characters: code.utf8).map { Character(Unicode.Scalar($0)) }
    }

    /// What is wrong with a code, in plain words; `nil` when the check character is right.
    /// - Parameter code: a code that already matches the schema pattern.
    public static func problem(with code: String) -> String? {
        guard code.utf8.count == 18, let expected = checkCharacter(for: code), let actual = code.last else {
            return "is not an 18-character unified social credit code"
        }
        return actual == expected ? nil : "check character is \(actual), expected \(expected)"
    }
}
