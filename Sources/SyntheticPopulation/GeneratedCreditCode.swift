import Events

/// GB 32100-2015 unified social credit codes, with the mod-31 check character.
enum GeneratedCreditCode {
    static let alphabet = Array("0123456789ABCDEFGHJKLMNPQRTUWXY".utf8)

    /// The check character of the first 17 characters, as the validator computes it.
    static func checkCharacter(_ first17: some Sequence<UInt8>) -> UInt8? {
        Events.SocialCreditCode.checkCharacter(characters: first17)
    }

    /// An enterprise code (`91`) registered in `region`.
    static func make(region: String, _ rng: inout Xoshiro256StarStar) -> String {
        var bytes = Array("91".utf8) + Array(region.utf8)
        for _ in 0..<9 { bytes.append(alphabet[rng.int(0...30)]) }
        bytes.append(checkCharacter(bytes) ?? UInt8(ascii: "0"))
        return String(decoding: bytes, as: UTF8.self)
    }
}
