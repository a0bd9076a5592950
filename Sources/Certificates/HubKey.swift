public import Crypto
public import Events
public import Foundation

/// One of the hub's Ed25519 signing keys: the current one, which signs (its private half is held), or a retired
/// one, which no longer signs but stays published so that what it signed still verifies.
///
/// Its description, debug description and mirror never show the private half, so a key logged or dumped by
/// mistake gives nothing away.
public struct HubKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The key id, e.g. `key-2026-12-06-1`: the verification method is `<did>#<id>`.
    public let id: String
    /// The public half.
    public let publicKey: Curve25519.Signing.PublicKey
    /// When the key was made (whole seconds).
    public let createdAt: Date
    /// When the key stopped signing (whole seconds); `nil` for the current key.
    public let retiredAt: Date?
    /// The private half: only the current key has it.
    let privateKey: Curve25519.Signing.PrivateKey?

    /// Whether this key can sign (it is the current key and its private half is held).
    public var canSign: Bool { privateKey != nil }

    /// The public key as a Multikey: the multicodec prefix of an Ed25519 public key (0xed 0x01) and the 32 bytes,
    /// in base58btc multibase (it starts with `z6Mk`).
    public var publicKeyMultibase: String { Multikey.encode(publicKey) }

    /// The public key as a JWK (RFC 8037): `kty` OKP, `crv` Ed25519, `x`, with `kid`, `alg` EdDSA and `use` sig.
    public var jwk: JSONValue {
        [
            "kty": "OKP", "crv": "Ed25519", "x": .string(Base64URL.encode(publicKey.rawRepresentation)),
            "kid": .string(id), "alg": "EdDSA", "use": "sig",
        ]
    }

    public var description: String {
        "HubKey(\(id), \(canSign ? "current" : "retired"), \(publicKeyMultibase))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "id": id, "publicKeyMultibase": publicKeyMultibase, "createdAt": createdAt,
                "retiredAt": retiredAt as Any, "canSign": canSign,
            ])
    }

    /// A key from its parts.
    init(
        id: String, publicKey: Curve25519.Signing.PublicKey, createdAt: Date, retiredAt: Date?,
        privateKey: Curve25519.Signing.PrivateKey?
    ) {
        self.id = id
        self.publicKey = publicKey
        self.createdAt = Timestamp.wholeSeconds(createdAt)
        self.retiredAt = retiredAt.map(Timestamp.wholeSeconds)
        self.privateKey = privateKey
    }

    /// A new current key with a fresh random private half.
    /// - Parameters:
    ///   - id: its key id.
    ///   - createdAt: now.
    static func generate(id: String, createdAt: Date) -> HubKey {
        let privateKey = Curve25519.Signing.PrivateKey()
        return HubKey(
            id: id, publicKey: privateKey.publicKey, createdAt: createdAt, retiredAt: nil, privateKey: privateKey)
    }

    /// This key retired at `date`: the same public half, the private half dropped.
    func retired(at date: Date) -> HubKey {
        HubKey(id: id, publicKey: publicKey, createdAt: createdAt, retiredAt: date, privateKey: nil)
    }

    /// Whether a key id is acceptable: 1–64 of `A-Z a-z 0-9 . _ -`, not starting with a dot (it names a file).
    static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count) && !id.hasPrefix(".")
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default: false
                }
            }
    }

    /// The private JWK of the current key (``Ed25519PrivateJWK``), a line for its file; `nil` for a retired key.
    var privateJWK: [UInt8]? {
        privateKey.map { Array((Ed25519PrivateJWK.encode(kid: id, privateKey: $0) + "\n").utf8) }
    }

    /// Reads the private half from a private JWK (``Ed25519PrivateJWK/decode(_:)``) and checks it belongs to the
    /// key id and to `publicKey`.
    /// - Parameters:
    ///   - jwk: the file's bytes.
    ///   - path: the file (for the error's words).
    /// - Returns: the private key.
    /// - Throws: ``HubKeyError`` `.malformed` saying what is wrong, `.mismatch` for another key's file; never
    ///   echoing key material.
    func privateKey(fromJWK jwk: [UInt8], path: String) throws(HubKeyError) -> Curve25519.Signing.PrivateKey {
        let file: (kid: String, privateKey: Curve25519.Signing.PrivateKey)
        do throws(EventSignatureError) {
            file = try Ed25519PrivateJWK.decode(jwk)
        } catch {
            throw HubKeyError(.malformed, "\(path): \(error.reason)")
        }
        guard file.kid == id else {
            throw HubKeyError(.malformed, "\(path) is not the private key of \(id) (its kid differs)")
        }
        guard file.privateKey.publicKey.rawRepresentation == publicKey.rawRepresentation else {
            throw HubKeyError(
                .mismatch, "\(path) holds another key than the public key hub-keys.json publishes for \(id)")
        }
        return file.privateKey
    }
}

/// Ed25519 public keys as Multikey values (multicodec `ed25519-pub`, 0xed as a varint: 0xed 0x01).
enum Multikey {
    /// The multicodec prefix of an Ed25519 public key.
    static let ed25519Prefix: [UInt8] = [0xED, 0x01]

    /// The Multikey of a public key (`z6Mk…`).
    static func encode(_ key: Curve25519.Signing.PublicKey) -> String {
        Multibase.base58btc(ed25519Prefix + key.rawRepresentation)
    }

    /// Reads a Multikey.
    /// - Parameter text: `z` followed by base58btc of 0xed 0x01 and 32 bytes.
    /// - Returns: the key, or `nil` when the text is not an Ed25519 Multikey.
    static func decode(_ text: String) -> Curve25519.Signing.PublicKey? {
        guard text.utf8.count < 100, let bytes = try? Multibase.decode(text, expecting: .base58btc),
            bytes.count == 34, Array(bytes.prefix(2)) == ed25519Prefix
        else { return nil }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: bytes.dropFirst(2))
    }
}
