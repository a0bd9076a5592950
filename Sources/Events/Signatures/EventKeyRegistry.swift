import Crypto

/// The departments' public keys, by key id: what the hub verifies events with.
///
/// Several keys of one department can be active at once (rotation, regional systems). A retired
/// key is refused for new events but still verifies old ones (evidence in certificates); a revoked
/// key verifies nothing. Keys are never removed. On disk the registry is a JWK Set whose keys
/// carry an extra `"status"` member (`active`, `retired` or `revoked`; default `active`).
public struct EventKeyRegistry: Sendable {
    /// Whether a key may verify events.
    public enum Status: String, Sendable, CaseIterable {
        /// Verifies new and old events.
        case active
        /// Verifies old events only (``EventKeyRegistry/verify(_:purpose:)`` with `.evidence`).
        case retired
        /// Verifies nothing: the key was compromised.
        case revoked
    }

    /// Why a signature is being checked.
    public enum Purpose: Sendable {
        /// A new event arriving at the hub: the key must be active.
        case ingest
        /// An event already accepted, cited as evidence: retired keys still count.
        case evidence
    }

    struct Entry: Sendable {
        private let box: ImmutableKey<Curve25519.Signing.PublicKey>
        let status: Status
        var publicKey: Curve25519.Signing.PublicKey { box.key }
        init(publicKey: Curve25519.Signing.PublicKey, status: Status) {
            self.box = ImmutableKey(publicKey)
            self.status = status
        }
    }

    private var entries: [String: Entry] = [:]

    /// Creates an empty registry.
    public init() {}

    /// The registered key ids, sorted.
    public var keyIDs: [String] { entries.keys.sorted() }

    /// The key name prefix that marks a development key (`<department>/dev-only-…`): keys that `tongban dev`, the
    /// tests and `tongban generate --signed` make for one run. A production key set must not hold one.
    public static let developmentKeyNamePrefix = "dev-only"

    /// Whether a key id names a development key (its name starts with ``developmentKeyNamePrefix``).
    /// - Parameter keyID: `<department>/<name>`.
    /// - Returns: whether it is a development key's id.
    public static func isDevelopmentKeyID(_ keyID: String) -> Bool {
        guard let slash = keyID.firstIndex(of: "/") else { return false }
        return keyID[keyID.index(after: slash)...].hasPrefix(developmentKeyNamePrefix)
    }

    /// The registered development keys' ids, sorted (see ``developmentKeyNamePrefix``).
    public var developmentKeyIDs: [String] { keyIDs.filter(Self.isDevelopmentKeyID) }

    /// A fingerprint of the whole key set: every key id, public key and status (SHA-256 of ``jwks``, hex). Two
    /// registries vouch for the same signatures exactly when their fingerprints are equal; the projector records it
    /// with each verified watermark, and trusts a watermark only under the same key set.
    public var fingerprint: String {
        SHA256.hash(data: Array(jwks.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }

    /// The status of a key, or `nil` if it is not registered.
    /// - Parameter keyID: the key id.
    public func status(of keyID: String) -> Status? { entries[keyID]?.status }

    /// Registers a public key, or changes the status of a registered one.
    /// - Parameters:
    ///   - keyID: `<department>/<name>`.
    ///   - publicKey: the 32-byte Ed25519 public key.
    ///   - status: the key's status.
    /// - Throws: ``EventSignatureError`` `.invalidKey` for a malformed id or key, or an id already
    ///   registered for another key (ids are never reused).
    public mutating func register(keyID: String, publicKey: [UInt8], status: Status = .active)
        throws(EventSignatureError)
    {
        try DepartmentSigningKey.checkKeyID(keyID)
        guard publicKey.count == 32, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else {
            throw EventSignatureError(.invalidKey, "the public key of \(keyID) is not 32 bytes of Ed25519")
        }
        if let existing = entries[keyID], Array(existing.publicKey.rawRepresentation) != publicKey {
            throw EventSignatureError(.invalidKey, "key id \(keyID) is already registered for another key")
        }
        entries[keyID] = Entry(publicKey: key, status: status)
    }

    /// Registers the public half of a department key (tests, `tongban dev`).
    /// - Parameters:
    ///   - key: the department key.
    ///   - status: the key's status.
    /// - Throws: ``EventSignatureError`` as ``register(keyID:publicKey:status:)``.
    public mutating func register(_ key: DepartmentSigningKey, status: Status = .active) throws(EventSignatureError) {
        try register(keyID: key.keyID, publicKey: key.publicKeyBytes, status: status)
    }

    /// Reads a JWK Set (`{"keys":[…]}`) or a single public JWK.
    /// - Parameter jwks: the JSON bytes.
    /// - Returns: the registry.
    /// - Throws: ``EventSignatureError`` `.invalidKey` naming the entry that is wrong.
    public static func load(jwks: [UInt8]) throws(EventSignatureError) -> EventKeyRegistry {
        guard let json = try? JSONParser.parse(jwks) else {
            throw EventSignatureError(.invalidKey, "the key set is not JSON")
        }
        let keys = json["keys"]?.arrayValue ?? [json]
        var registry = EventKeyRegistry()
        var seen = Set<String>()
        for (index, jwk) in keys.enumerated() {
            guard jwk["kty"]?.stringValue == "OKP", jwk["crv"]?.stringValue == "Ed25519",
                let kid = jwk["kid"]?.stringValue, let x = jwk["x"]?.stringValue, let bytes = Base64URL.decode(x)
            else {
                throw EventSignatureError(.invalidKey, "key \(index) is not an Ed25519 public JWK with kid and x")
            }
            guard jwk["d"] == nil else {
                throw EventSignatureError(
                    .invalidKey, "key \(kid) contains a private part (d): the hub holds public keys only")
            }
            // One entry per key id: a second entry could silently turn a revoked key active again.
            guard seen.insert(kid).inserted else {
                throw EventSignatureError(.invalidKey, "key \(kid) appears twice in the key set")
            }
            let statusText = jwk["status"]?.stringValue ?? "active"
            guard let status = Status(rawValue: statusText) else {
                throw EventSignatureError(.invalidKey, "key \(kid): status must be active, retired or revoked")
            }
            try registry.register(keyID: kid, publicKey: bytes, status: status)
        }
        return registry
    }

    /// The registry as a JWK Set with statuses, sorted by key id.
    public var jwks: String {
        let keys = keyIDs.map { kid in
            let entry = entries[kid]!
            return "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"\(kid)\","
                + "\"x\":\"\(Base64URL.encode(entry.publicKey.rawRepresentation))\",\"status\":\"\(entry.status.rawValue)\"}"
        }
        return "{\"keys\":[" + keys.joined(separator: ",") + "]}"
    }

    /// Checks, without the signature, that an event whose signature was verified earlier may still stand under this
    /// key set: its key must still be registered for its department and not revoked (a retired key's old events
    /// stand). A lookup, not a signature check: what a rebuild does below a verified watermark.
    /// - Parameter envelope: the envelope object as received.
    /// - Throws: ``EventSignatureError``: `.missingSignature`, `.unknownKey`, `.departmentMismatch`, `.keyRevoked`.
    public func checkStillTrusted(_ envelope: JSONObject) throws(EventSignatureError) {
        guard let kid = envelope["tbkid"]?.stringValue, !kid.isEmpty else {
            throw EventSignatureError(.missingSignature, "the event has no tbkid: it is not signed")
        }
        _ = try usableEntry(kid, for: envelope)
    }

    /// The registered, unrevoked key `kid`, if it may sign the envelope's department's events.
    /// - Throws: ``EventSignatureError``: `.unknownKey`, `.departmentMismatch`, `.keyRevoked`.
    private func usableEntry(_ kid: String, for envelope: JSONObject) throws(EventSignatureError) -> Entry {
        guard let entry = entries[kid] else {
            throw EventSignatureError(
                .unknownKey, "unknown key id \(kid): its public key is not registered with the hub")
        }
        let keyDepartment = kid.prefix { $0 != "/" }
        let eventDepartment = envelope["type"]?.stringValue?.prefix { $0 != "." } ?? ""
        guard keyDepartment == eventDepartment else {
            throw EventSignatureError(
                .departmentMismatch,
                "key \(kid) belongs to \(keyDepartment) but the event is a \(eventDepartment) event")
        }
        if entry.status == .revoked {
            throw EventSignatureError(.keyRevoked, "key \(kid) was revoked")
        }
        return entry
    }

    /// Verifies an envelope's signature.
    /// - Parameters:
    ///   - envelope: the envelope object as received.
    ///   - purpose: `.ingest` for new events (key must be active), `.evidence` for accepted ones.
    ///   - canonical: the envelope's canonical forms, if the caller has them already (they are computed otherwise).
    /// - Throws: ``EventSignatureError``: `.missingSignature`, `.malformedSignature`, `.unknownKey`,
    ///   `.departmentMismatch`, `.keyRevoked`, `.badSignature`, `.keyRetired` — distinct on purpose.
    public func verify(
        _ envelope: JSONObject, purpose: Purpose = .ingest, canonical: EventCanonicalForms? = nil
    ) throws(EventSignatureError) {
        guard let kid = envelope["tbkid"]?.stringValue, !kid.isEmpty else {
            throw EventSignatureError(.missingSignature, "the event has no tbkid: it is not signed")
        }
        guard let tbsig = envelope["tbsig"]?.stringValue, !tbsig.isEmpty else {
            throw EventSignatureError(.missingSignature, "the event has no tbsig: it is not signed")
        }
        // Exactly one spelling per signature: re-encoding must give the text back.
        guard let signature = Base64URL.decode(tbsig), signature.count == 64, Base64URL.encode(signature) == tbsig
        else {
            throw EventSignatureError(.malformedSignature, "tbsig is not 64 bytes of base64url without padding")
        }
        let entry = try usableEntry(kid, for: envelope)
        let bytes: [UInt8]
        if let canonical {
            bytes = canonical.signingBytes
        } else {
            bytes = try EventSignatures.signingBytes(of: envelope)
        }
        guard entry.publicKey.isValidSignature(signature, for: bytes) else {
            throw EventSignatureError(
                .badSignature,
                "the signature does not match the event: it was altered after signing, or not signed by \(kid)")
        }
        if entry.status == .retired && purpose == .ingest {
            throw EventSignatureError(.keyRetired, "key \(kid) is retired: sign new events with an active key")
        }
    }
}
