import Events

/// GB 11643-1999 citizen ID numbers: region, birth date, sequence (odd = male), check character.
enum GeneratedCitizenID {
    /// The check character (ISO 7064 MOD 11-2) of the first 17 digits, as the validator computes it.
    static func checkCharacter(_ first17: [UInt8]) -> UInt8 {
        Events.CitizenID.checkCharacter(digits: first17) ?? UInt8(ascii: "0")
    }

    /// A complete ID.
    /// - Parameters:
    ///   - region: the 6-digit region code.
    ///   - birth: the birth date.
    ///   - sequence: 0…999; its parity must match the sex (odd = male).
    static func make(region: String, birth: CivilDay, sequence: Int) -> String {
        var bytes = Array(region.utf8)
        EventBuffer.appendDate(birth, to: &bytes)
        bytes.removeAll { $0 == UInt8(ascii: "-") }
        EventBuffer.appendDigits(sequence, count: 3, to: &bytes)
        bytes.append(checkCharacter(bytes))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether an ID's check character is right.
    static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        return bytes.count == 18 && bytes[..<17].allSatisfy { (48...57).contains($0) }
            && checkCharacter(Array(bytes[..<17])) == bytes[17]
    }

    /// The same ID with a wrong check character.
    static func withBadCheckCharacter(_ id: String) -> String {
        var bytes = Array(id.utf8)
        guard bytes.count == 18 else { return id }
        bytes[17] =
            bytes[17] == UInt8(ascii: "0")
            ? UInt8(ascii: "1") : bytes[17] == UInt8(ascii: "X") ? UInt8(ascii: "3") : UInt8(ascii: "0")
        return String(decoding: bytes, as: UTF8.self)
    }
}
