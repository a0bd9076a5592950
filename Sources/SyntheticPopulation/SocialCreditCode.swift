/// GB 32100-2015 unified social credit codes, with the mod-31 check character.
enum SocialCreditCode {
    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY".utf8)
    static let weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

    /// The check character of the first 17 characters, or `nil` if one is not in the alphabet.
    static func checkCharacter(_ first17: some Sequence<UInt8>) -> UInt8? {
        var sum = 0
        for (byte, weight) in zip(first17, weights) {
            guard let value = alphabet.firstIndex(of: byte) else { return nil }
            sum += value * weight
        }
        return alphabet[(31 - sum % 31) % 31]
    }

    /// An enterprise code (`91`) registered in `region`.
    static func make(region: String, _ rng: inout Xoshiro256StarStar) -> String {
        var bytes = Array("91".utf8) + Array(region.utf8)
        for _ in 0..<9 { bytes.append(alphabet[rng.int(0...30)]) }
        bytes.append(checkCharacter(bytes) ?? UInt8(ascii: "0"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
