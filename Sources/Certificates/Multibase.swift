import Events
import Foundation

/// Multibase: bytes as text whose first character names the encoding. Two of its encodings are used here:
/// `z`, Base58 with the Bitcoin alphabet (keys and proof values), and `u`, Base64url without padding (status lists).
public enum Multibase {
    /// The encodings this reads and writes.
    public enum Encoding: Character, Sendable, Hashable {
        /// Base58, Bitcoin alphabet.
        case base58btc = "z"
        /// Base64url (RFC 4648 §5) without padding.
        case base64url = "u"
    }

    /// Why a text is not multibase in an encoding this reads.
    public struct DecodingError: Error, Sendable, Hashable, CustomStringConvertible {
        /// Plain words for a person.
        public let reason: String
        public var description: String { reason }
    }

    /// `z` followed by the bytes in Base58 (Bitcoin alphabet).
    /// - Parameter bytes: the bytes.
    /// - Returns: the multibase text.
    public static func base58btc(_ bytes: some Collection<UInt8>) -> String {
        "z" + Base58.encode(bytes)
    }

    /// `u` followed by the bytes in Base64url without padding.
    /// - Parameter bytes: the bytes.
    /// - Returns: the multibase text.
    public static func base64url(_ bytes: some Collection<UInt8>) -> String {
        "u" + Base64URL.encode(bytes)
    }

    /// Decodes multibase text, in the encoding its first character names.
    /// - Parameters:
    ///   - text: the text.
    ///   - expected: the only encoding accepted, or `nil` for either.
    /// - Returns: the bytes.
    /// - Throws: ``DecodingError`` for an empty text, another encoding, or a character outside the encoding.
    public static func decode(_ text: String, expecting expected: Encoding? = nil) throws(DecodingError) -> [UInt8] {
        guard let first = text.first else { throw DecodingError(reason: "the multibase text is empty") }
        guard let encoding = Encoding(rawValue: first) else {
            throw DecodingError(
                reason: "the multibase prefix \"\(first)\" is not one of z (base58btc) or u (base64url)")
        }
        if let expected, expected != encoding {
            throw DecodingError(
                reason: "the multibase prefix is \"\(first)\" where \"\(expected.rawValue)\" (\(expected)) was expected"
            )
        }
        let body = text.dropFirst()
        switch encoding {
        case .base58btc:
            guard let bytes = Base58.decode(body) else {
                throw DecodingError(reason: "a character after the z prefix is not in the base58btc alphabet")
            }
            return bytes
        case .base64url:
            guard let bytes = Base64URL.decode(body) else {
                throw DecodingError(
                    reason: "the text after the u prefix is not base64url without padding (A-Z a-z 0-9 - _)")
            }
            return bytes
        }
    }
}
