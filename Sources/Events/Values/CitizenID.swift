/// The checks of GB 11643 citizen ID numbers (居民身份证号码) that a pattern cannot express.
public enum CitizenID {
    /// Weights of ISO 7064 MOD 11-2 over the first 17 digits.
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    /// Check character by the remainder of the weighted sum modulo 11.
    static let checkCharacters: [UInt8] = Array("10X98765432".utf8)

    /// The check character (ISO 7064 MOD 11-2) of the first 17 digits: the one implementation that
    /// both the validator and the generator use.
    /// - Parameter digits: the ID's bytes (at least the first 17, which must be ASCII digits).
    /// - Returns: the ASCII of `0`–`9` or `X`, or `nil` when the first 17 bytes are not digits.
    public static func checkCharacter(digits: some Sequence<UInt8>) -> UInt8? {
        var sum = 0
        var count = 0
        for byte in digits.prefix(17) {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            sum += Int(byte - 0x30) * weights[count]
            count += 1
        }
        guard count == 17 else { return nil }
        return checkCharacters[sum % 11]
    }

    /// The check character for the first 17 digits of an ID.
    /// - Parameter id: an ID (at least its first 17 characters, which must be digits).
    /// - Returns: `0`–`9` or `X`, or `nil` when the first 17 characters are not digits.
    public static func checkCharacter(for id: String) -> Character? {
        checkCharacter(digits: id.utf8).map { Character(Unicode.Scalar($0)) }
    }

    /// The birth date embedded in digits 7–14, if it is a real date.
    /// - Parameter id: an 18-character ID.
    public static func birthDate(of id: String) -> CivilDate? {
        let bytes = Array(id.utf8)
        guard bytes.count == 18 else { return nil }
        return CivilDate.compact(bytes[6..<14])
    }

    /// Whether the 17th digit is odd (male).
    /// - Parameter id: an 18-character ID.
    /// - Returns: `true` for male, `false` for female, `nil` if the 17th character is not a digit.
    public static func isMale(_ id: String) -> Bool? {
        let bytes = Array(id.utf8)
        guard bytes.count == 18, bytes[16] >= 0x30, bytes[16] <= 0x39 else { return nil }
        return (bytes[16] - 0x30) % 2 == 1
    }

    /// What is wrong with an ID, in plain words; `nil` when the check character and birth date are valid.
    /// - Parameter id: an ID that already matches the schema pattern.
    public static func problem(with id: String) -> String? {
        let utf8 = id.utf8
        guard utf8.count == 18, let expected = checkCharacter(digits: utf8), let actual = utf8.last else {
            return "is not an 18-character citizen ID"
        }
        let digits = utf8.dropFirst(6).prefix(8)
        guard CivilDate.compact(ArraySlice(digits)) != nil else {
            return "embedded birth date \(String(decoding: digits, as: UTF8.self)) is not a real date"
        }
        if actual != expected {
            return
                "check character is \(Character(Unicode.Scalar(actual))), expected \(Character(Unicode.Scalar(expected)))"
        }
        return nil
    }
}
