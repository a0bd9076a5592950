import Crypto
import Foundation

/// A department's Ed25519 private key with its key id (`<department>/<name>`).
///
/// Private keys stay with the department; the hub only ever holds the public half (an
/// ``EventKeyRegistry``). On disk a key is a JWK (`{"kty":"OKP","crv":"Ed25519","kid":…,"x":…,"d":…}`).
public struct DepartmentSigningKey: Sendable {
    /// The key id, `<department>/<name>`, as it appears in `tbkid`.
    public let keyID: String
    /// The department the key signs for (the part of the key id before `/`).
    public var department: String { String(keyID.prefix { $0 != "/" }) }
    private let box: ImmutableKey<Curve25519.Signing.PrivateKey>
    var privateKey: Curve25519.Signing.PrivateKey { box.key }

    /// The public key's 32 bytes.
    public var publicKeyBytes: [UInt8] { Array(privateKey.publicKey.rawRepresentation) }

    /// Creates a key from its 32-byte seed.
    /// - Parameters:
    ///   - keyID: `<department>/<name>`.
    ///   - seed: the 32-byte Ed25519 private key seed.
    /// - Throws: ``EventSignatureError`` `.invalidKey` for a malformed id or seed.
    public init(keyID: String, seed: [UInt8]) throws(EventSignatureError) {
        try Self.checkKeyID(keyID)
        guard seed.count == 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw EventSignatureError(.invalidKey, "an Ed25519 private key is 32 bytes")
        }
        self.keyID = keyID
        self.box = ImmutableKey(key)
    }

    /// Makes a new random key.
    /// - Parameters:
    ///   - department: the department, e.g. `household`.
    ///   - name: the key's name, e.g. `2026-01` (letters, digits, `.`, `_`, `-`; 1–64 characters).
    /// - Returns: the key.
    /// - Throws: ``EventSignatureError`` `.invalidKey` for a malformed department or name.
    public static func generate(department: String, name: String) throws(EventSignatureError) -> DepartmentSigningKey {
        let key = Curve25519.Signing.PrivateKey()
        return try DepartmentSigningKey(keyID: "\(department)/\(name)", seed: Array(key.rawRepresentation))
    }

    /// Reads a private JWK (``Ed25519PrivateJWK/decode(_:)``) whose kid is a department key id.
    /// - Parameter jwk: the JWK's JSON bytes.
    /// - Returns: the key.
    /// - Throws: ``EventSignatureError`` `.invalidKey` saying what is wrong (never echoing key material).
    public static func load(jwk: [UInt8]) throws(EventSignatureError) -> DepartmentSigningKey {
        let (kid, privateKey) = try Ed25519PrivateJWK.decode(jwk)
        return try DepartmentSigningKey(keyID: kid, seed: Array(privateKey.rawRepresentation))
    }

    /// The private JWK (keep it secret).
    public var privateJWK: String { Ed25519PrivateJWK.encode(kid: keyID, privateKey: privateKey) }

    /// The public JWK, to give to the hub's operators.
    public var publicJWK: String {
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"\(keyID)\",\"x\":\"\(Base64URL.encode(publicKeyBytes))\"}"
    }

    /// Signs an envelope: sets `tbkid` to this key's id, removes any old `tbsig`, and adds the
    /// Ed25519 signature over the canonical bytes (RFC 8785) of the envelope without `tbsig`.
    /// - Parameter envelope: the envelope object.
    /// - Returns: the signed envelope.
    /// - Throws: ``EventSignatureError`` `.notCanonicalizable` when the envelope is not an object or
    ///   has numbers that cannot be canonicalized.
    public func sign(_ envelope: JSONValue) throws(EventSignatureError) -> JSONValue {
        guard var object = envelope.objectValue else {
            throw EventSignatureError(.notCanonicalizable, "the envelope is not a JSON object")
        }
        object["tbsig"] = nil
        object["tbkid"] = .string(keyID)
        let bytes = try EventSignatures.signingBytes(of: object)
        guard let signature = try? privateKey.signature(for: bytes) else {
            throw EventSignatureError(.invalidKey, "signing failed")
        }
        object["tbsig"] = .string(Base64URL.encode(signature))
        return .object(object)
    }

    static func checkKeyID(_ keyID: String) throws(EventSignatureError) {
        let parts = keyID.split(separator: "/", omittingEmptySubsequences: false)
        let allowed: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        guard parts.count == 2, EventSignatures.departments.contains(String(parts[0])),
            (1...64).contains(parts[1].count),
            parts[1].allSatisfy(allowed)
        else {
            throw EventSignatureError(
                .invalidKey,
                "key id \"\(keyID)\" must be <department>/<name>, department one of "
                    + "\(EventSignatures.departments.sorted().joined(separator: ", ")), name 1–64 of A-Z a-z 0-9 . _ -")
        }
    }
}

/// The signing rule shared by signer and verifier.
public enum EventSignatures {
    /// The departments that publish events.
    public static let departments: Set<String> = [
        "household", "civil-affairs", "social-insurance", "medical-insurance", "property",
    ]

    /// The bytes that are signed: the envelope without `tbsig`, in RFC 8785 canonical form.
    /// - Parameter envelope: the envelope object.
    /// - Returns: the canonical UTF-8 bytes.
    /// - Throws: ``EventSignatureError`` `.notCanonicalizable`.
    public static func signingBytes(of envelope: JSONObject) throws(EventSignatureError) -> [UInt8] {
        var unsigned = envelope
        unsigned["tbsig"] = nil
        do {
            return try JSONValue.object(unsigned).canonicalBytes()
        } catch {
            throw EventSignatureError(.notCanonicalizable, "\(error.reason)")
        }
    }
}

/// Holds a swift-crypto key so that the types holding it can be `Sendable`.
///
/// @unchecked Sendable: swift-crypto's Curve25519 key types are immutable values over their bytes
/// (they are not marked `Sendable` on Linux in this version); nothing here mutates them.
struct ImmutableKey<Key>: @unchecked Sendable {
    let key: Key
    init(_ key: Key) { self.key = key }
}
