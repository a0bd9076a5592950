import Foundation

/// Random bytes for client ids, secrets, salts and token ids, and the alphabet they are written in (Base64url, RFC 4648
/// §5, encoded by `Events.Base64URL`).
enum RandomText {
    /// Whether a byte is a letter of the Base64url alphabet.
    static func isAlphabet(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2D
            || byte == 0x5F
    }

    /// `count` bytes from the system's secure generator.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
