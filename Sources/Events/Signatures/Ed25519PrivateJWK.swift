public import Crypto

/// An Ed25519 private key as a JWK (RFC 8037): `{"kty":"OKP","crv":"Ed25519","kid":…,"x":…,"d":…}`, where `x` is
/// the public half and `d` the 32-byte seed, both base64url without padding. Department keys and the hub's
/// certificate keys are kept on disk in this form; each kind of key checks its own key id.
public enum Ed25519PrivateJWK {
    /// The private JWK of a key (keep it secret): `kty`, `crv`, `kid`, `x`, `d`, in that order, compact.
    /// - Parameters:
    ///   - kid: the key id.
    ///   - privateKey: the key.
    /// - Returns: the JWK's JSON text.
    public static func encode(kid: String, privateKey: Curve25519.Signing.PrivateKey) -> String {
        let jwk = JSONObject([
            ("kty", "OKP"), ("crv", "Ed25519"), ("kid", .string(kid)),
            ("x", .string(Base64URL.encode(privateKey.publicKey.rawRepresentation))),
            ("d", .string(Base64URL.encode(privateKey.rawRepresentation))),
        ])
        return String(decoding: JSONValue.object(jwk).serialized, as: UTF8.self)
    }

    /// Reads a private JWK: `kty` OKP, `crv` Ed25519, a `kid`, a 32-byte `d`, and, when `x` is there, the public
    /// half of `d`.
    /// - Parameter jwk: the JWK's JSON bytes.
    /// - Returns: the key id, as written (the caller checks it), and the private key.
    /// - Throws: ``EventSignatureError`` `.invalidKey` saying what is wrong, never echoing key material.
    public static func decode(
        _ jwk: [UInt8]
    ) throws(EventSignatureError) -> (kid: String, privateKey: Curve25519.Signing.PrivateKey) {
        guard let json = try? JSONParser.parse(jwk) else {
            throw EventSignatureError(.invalidKey, "the key file is not JSON")
        }
        guard json["kty"]?.stringValue == "OKP", json["crv"]?.stringValue == "Ed25519" else {
            throw EventSignatureError(.invalidKey, "the key file is not an Ed25519 JWK (kty OKP, crv Ed25519)")
        }
        guard let kid = json["kid"]?.stringValue else { throw EventSignatureError(.invalidKey, "the JWK has no kid") }
        guard let d = json["d"]?.stringValue, let seed = Base64URL.decode(d) else {
            throw EventSignatureError(.invalidKey, "the JWK has no private part (d): is this the public key?")
        }
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw EventSignatureError(.invalidKey, "an Ed25519 private key is 32 bytes")
        }
        if let x = json["x"]?.stringValue, Base64URL.decode(x) != Array(key.publicKey.rawRepresentation) {
            throw EventSignatureError(.invalidKey, "the JWK's public part (x) does not belong to its private part (d)")
        }
        return (kid, key)
    }
}
