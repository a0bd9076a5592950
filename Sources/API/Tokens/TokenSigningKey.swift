import Crypto
import Events
import Foundation
import JWTKit

/// The hub's Ed25519 key that signs access tokens, with its key id (the tokens' `kid`).
///
/// On disk it is a private JWK, the same shape as a department's key:
/// `{"kty":"OKP","crv":"Ed25519","kid":…,"x":…,"d":…}`. Keep it secret: whoever holds it can issue tokens.
public struct TokenSigningKey: Sendable {
    /// The key id, as tokens name it in `kid` (1–128 of `A-Z a-z 0-9 . _ - /`).
    public let keyID: String
    let privateKey: EdDSA.PrivateKey

    /// The public half, for an ``AccessTokenVerifier``.
    public var publicKey: TokenPublicKey {
        TokenPublicKey(keyID: keyID, key: privateKey.publicKey)
    }

    /// Creates a key from its 32-byte seed.
    /// - Parameters:
    ///   - keyID: the key id.
    ///   - seed: the Ed25519 private key's 32 bytes.
    /// - Throws: ``TokenKeyError`` for a malformed id or seed.
    public init(keyID: String, seed: [UInt8]) throws(TokenKeyError) {
        try TokenPublicKey.checkKeyID(keyID)
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw TokenKeyError("an Ed25519 private key is 32 bytes")
        }
        self.init(checkedKeyID: keyID, key: key)
    }

    private init(checkedKeyID: String, key: Curve25519.Signing.PrivateKey) {
        self.keyID = checkedKeyID
        self.privateKey = EdDSA.PrivateKey(backing: key)
    }

    /// Makes a new random key.
    /// - Parameter keyID: its key id, e.g. `tongban-hub/2026-01`.
    /// - Returns: the key.
    /// - Throws: ``TokenKeyError`` for a malformed id.
    public static func generate(keyID: String) throws(TokenKeyError) -> TokenSigningKey {
        try TokenSigningKey(keyID: keyID, seed: Array(Curve25519.Signing.PrivateKey().rawRepresentation))
    }

    /// Makes a key for development, made afresh for each run: its key id is `tongban-hub/dev-only-<random>`, so that
    /// its tokens are recognisable as development ones.
    /// - Returns: the key.
    public static func generateForDevelopment() -> TokenSigningKey {
        let run = Base64URL.encode(RandomText.randomBytes(6))
        // The id is well formed by construction.
        return TokenSigningKey(checkedKeyID: "tongban-hub/dev-only-\(run)", key: Curve25519.Signing.PrivateKey())
    }

    /// Reads a private JWK (`kty` OKP, `crv` Ed25519, `kid`, `d`, and `x` if given must match `d`).
    /// - Parameter jwk: the JWK's JSON bytes.
    /// - Returns: the key.
    /// - Throws: ``TokenKeyError`` saying what is wrong, never echoing key material.
    public static func load(jwk: [UInt8]) throws(TokenKeyError) -> TokenSigningKey {
        let fields = try JWKFields.parse(jwk)
        guard let d = fields.d, let seed = Base64URL.decode(d) else {
            throw TokenKeyError("the JWK has no private part (d): is this the public key?")
        }
        let key = try TokenSigningKey(keyID: fields.kid, seed: seed)
        if let x = fields.x, Base64URL.decode(x) != [UInt8](key.privateKey.publicKey.rawRepresentation) {
            throw TokenKeyError("the JWK's public part (x) does not belong to its private part (d)")
        }
        return key
    }

    /// The private JWK (keep it secret).
    public var privateJWK: String {
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"\(keyID)\",\"x\":\"\(publicKey.x)\","
            + "\"d\":\"\(Base64URL.encode(privateKey.rawRepresentation))\"}"
    }
}

/// The public half of the hub's token key: what verifies access tokens.
public struct TokenPublicKey: Sendable {
    /// The key id, as tokens name it in `kid`.
    public let keyID: String
    let key: EdDSA.PublicKey

    init(keyID: String, key: EdDSA.PublicKey) {
        self.keyID = keyID
        self.key = key
    }

    /// Reads a public JWK (`kty` OKP, `crv` Ed25519, `kid`, `x`); a private JWK's private part is ignored.
    /// - Parameter jwk: the JWK's JSON bytes.
    /// - Returns: the key.
    /// - Throws: ``TokenKeyError`` saying what is wrong.
    public static func load(jwk: [UInt8]) throws(TokenKeyError) -> TokenPublicKey {
        let fields = try JWKFields.parse(jwk)
        try checkKeyID(fields.kid)
        guard let x = fields.x, let bytes = Base64URL.decode(x), bytes.count == 32,
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: bytes)
        else {
            throw TokenKeyError("the JWK has no valid Ed25519 public key (x)")
        }
        return TokenPublicKey(keyID: fields.kid, key: EdDSA.PublicKey(backing: key))
    }

    /// The public key's 32 bytes in base64url (the JWK's `x`).
    public var x: String { Base64URL.encode(key.rawRepresentation) }

    /// The public JWK, for anyone who verifies the hub's tokens.
    public var publicJWK: String {
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"use\":\"sig\",\"kid\":\"\(keyID)\",\"x\":\"\(x)\"}"
    }

    static func checkKeyID(_ keyID: String) throws(TokenKeyError) {
        guard (1...128).contains(keyID.utf8.count),
            keyID.utf8.allSatisfy({ RandomText.isAlphabet($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "/") })
        else {
            throw TokenKeyError("a token key id is 1–128 of A-Z a-z 0-9 . _ - / (e.g. tongban-hub/2026-01)")
        }
    }
}

/// Why a token key cannot be used, in plain words (never with key material).
public struct TokenKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The explanation.
    public let reason: String

    /// Creates an error.
    /// - Parameter reason: the explanation.
    public init(_ reason: String) { self.reason = reason }

    /// The explanation.
    public var description: String { reason }
}

/// The members of an Ed25519 JWK.
private struct JWKFields: Decodable {
    var kty: String?
    var crv: String?
    var kid: String
    var x: String?
    var d: String?

    static func parse(_ jwk: [UInt8]) throws(TokenKeyError) -> JWKFields {
        guard let object = try? JSONSerialization.jsonObject(with: Data(jwk)), object is [String: Any] else {
            throw TokenKeyError("the key file is not a JSON object")
        }
        guard let fields = try? JSONDecoder().decode(JWKFields.self, from: Data(jwk)) else {
            throw TokenKeyError("the JWK has no kid, or a member that is not a string")
        }
        guard fields.kty == "OKP", fields.crv == "Ed25519" else {
            throw TokenKeyError("the key file is not an Ed25519 JWK (kty OKP, crv Ed25519)")
        }
        return fields
    }
}
