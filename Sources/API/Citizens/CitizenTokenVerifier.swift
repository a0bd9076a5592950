import Events
public import Foundation
import JWTKit

/// Verifies citizens' bearer tokens: ID tokens of the configured OpenID Connect issuer, checked against the issuer's
/// public keys (a JWKS file). A token holds when its signature holds under a key of the set, with that key's algorithm;
/// its `iss` is the configured issuer; its `aud` names the configured audience; `exp`, `iat` (both required) and `nbf`
/// (if present) hold with a small leeway; and its `sub` is a valid citizen ID. Each failure is its own
/// ``CitizenTokenError``.
///
/// The header is checked before any signature: the algorithm must be one a key of the set is registered with (never
/// `none`, never HMAC), and the key is chosen by the token's `kid` among the set's keys only (a token without `kid` is
/// accepted only when the set holds a single key). A certificate service's access token (`typ` `at+jwt`) is refused.
///
/// Accepted key types: Ed25519 (`EdDSA`), P-256, P-384 and P-521 (`ES256`, `ES384`, `ES512`), and RSA of at least
/// 2048 bits (`RS256` unless the key says `RS384`, `RS512`, `PS256`, `PS384` or `PS512`). Keys marked `"use": "enc"`
/// are skipped; a private key, a symmetric key or two keys with one `kid` make the whole set unusable.
///
/// ```swift
/// let verifier = try await CitizenTokenVerifier(
///     jwks: bytes, issuer: "https://login.gov.example", audience: "tongban")
/// let citizen = try await verifier.verify(authorization: request.headers["Authorization"])
/// citizen.citizenID   // "110101199003071234"
/// ```
public struct CitizenTokenVerifier: Sendable {
    /// The audience a token's `aud` must name when not told otherwise.
    public static let defaultAudience = "tongban"
    /// The clock skew tolerated on `exp`, `iat` and `nbf` when not told otherwise (the issuer's clock is not ours).
    public static let defaultLeeway = Duration.seconds(30)
    /// The longest token considered; longer ones are refused unread.
    public static let maxTokenLength = 8192

    /// The `iss` a token must have.
    public let issuer: String
    /// The audience a token's `aud` must name.
    public let audience: String
    /// The clock skew tolerated on `exp`, `iat` and `nbf`.
    public let leeway: Duration
    /// The key ids of the set, each with the one algorithm it verifies (`""` for a lone key without `kid`).
    public let keyAlgorithms: [String: String]
    private let keys: [String: JWTKeyCollection]
    private let now: @Sendable () -> Date

    /// The key id under which a lone key without `kid` is kept.
    private static let anonymousKeyID = ""

    /// Creates a verifier from the issuer's key set.
    /// - Parameters:
    ///   - jwks: the JWKS file's bytes (`{"keys": [...]}`): public keys only.
    ///   - issuer: the `iss` a token must have (the issuer's URL, exactly as its tokens write it).
    ///   - audience: the audience a token's `aud` must name.
    ///   - leeway: the clock skew tolerated on `exp`, `iat` and `nbf`.
    ///   - now: the clock (tests move it).
    /// - Throws: ``CitizenKeySetError`` saying what is wrong with the set or the issuer (never echoing key material).
    public init(
        jwks: [UInt8], issuer: String, audience: String = defaultAudience, leeway: Duration = defaultLeeway,
        now: @escaping @Sendable () -> Date = { Date() }
    ) async throws(CitizenKeySetError) {
        guard !issuer.isEmpty, issuer.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7f }) else {
            throw CitizenKeySetError("the citizen issuer must be a URL without spaces (e.g. https://login.gov.example)")
        }
        guard !audience.isEmpty else { throw CitizenKeySetError("the citizen audience must not be empty") }
        self.issuer = issuer
        self.audience = audience
        self.leeway = max(leeway, .zero)
        self.now = now
        var algorithms: [String: String] = [:]
        var keys: [String: JWTKeyCollection] = [:]
        for key in try Self.usableKeys(jwks) {
            let collection = JWTKeyCollection()
            do {
                let jwk = try JSONDecoder().decode(JWK.self, from: key.json)
                try await collection.add(jwk: jwk, isDefault: true)
                // Builds the verifier now, so that a key that cannot be read fails here, not at the first token.
                _ = try await collection.getKey(for: JWKIdentifier(string: key.keyID), alg: key.algorithm)
            } catch {
                throw CitizenKeySetError("the key \(key.label) cannot be read as a \(key.algorithm) public key")
            }
            algorithms[key.keyID] = key.algorithm
            keys[key.keyID] = collection
        }
        self.keyAlgorithms = algorithms
        self.keys = keys
    }

    /// Verifies the token of an `Authorization: Bearer <token>` header.
    /// - Parameter authorization: the header's value, or `nil` when there is none.
    /// - Returns: the citizen the token names.
    /// - Throws: ``CitizenTokenError``, as ``verify(_:)``; `.missingToken` when there is no bearer token.
    public func verify(authorization: String?) async throws(CitizenTokenError) -> CitizenIdentity {
        let token: String
        do { token = try Authorizer.bearerToken(authorization) } catch { throw CitizenTokenError(.missingToken) }
        return try await verify(token)
    }

    /// The header members that decide how a token is checked.
    private struct Header: Decodable {
        var alg: String?
        var kid: String?
        var typ: String?
        var crit: [String]?
    }

    /// Verifies a token.
    /// - Parameter token: the token, as sent after `Bearer `.
    /// - Returns: the citizen it names.
    /// - Throws: ``CitizenTokenError``: `.missingToken` (empty); `.invalidToken` (malformed, unsigned, another
    ///   algorithm or key, a signature that does not hold, not an ID token, issued in the future, not valid yet, a
    ///   claim missing); `.wrongIssuer`; `.wrongAudience`; `.tokenExpired`; `.invalidSubject`.
    public func verify(_ token: String) async throws(CitizenTokenError) -> CitizenIdentity {
        guard !token.isEmpty else { throw CitizenTokenError(.missingToken) }
        guard token.utf8.count <= Self.maxTokenLength else {
            throw CitizenTokenError(.invalidToken, detail: "the citizen token is too long")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(String(parts[0])),
            let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes))
        else {
            throw CitizenTokenError(.invalidToken, detail: "the citizen token is not a JWT (header.payload.signature)")
        }
        guard header.crit == nil else {
            throw CitizenTokenError(.invalidToken, detail: "the citizen token has critical header extensions (crit)")
        }
        if let type = header.typ?.lowercased(), type != "jwt", type != "application/jwt" {
            throw CitizenTokenError(
                .invalidToken,
                detail: type.hasSuffix("at+jwt")
                    ? "this is a certificate service's access token, not a citizen's ID token"
                    : "the citizen token is not an ID token (typ)")
        }
        guard let algorithm = header.alg, algorithm != "none" else {
            throw CitizenTokenError(.invalidToken, detail: "the citizen token is not signed (alg none)")
        }
        let keyID: String
        if let kid = header.kid {
            keyID = kid
        } else if keys.count == 1, let only = keys.keys.first {
            keyID = only
        } else {
            throw CitizenTokenError(.invalidToken, detail: "the citizen token does not name its key (kid)")
        }
        guard keyID != Self.anonymousKeyID || header.kid == nil, let expected = keyAlgorithms[keyID],
            let collection = keys[keyID]
        else {
            throw CitizenTokenError(
                .invalidToken, detail: "the citizen token is signed with a key the issuer's key set does not hold")
        }
        guard algorithm == expected else {
            throw CitizenTokenError(
                .invalidToken, detail: "the citizen token's algorithm is not the one its key is registered with")
        }
        let claims: CitizenClaims
        do {
            claims = try await collection.verify(token, as: CitizenClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw CitizenTokenError(.invalidToken, detail: "the citizen token's signature does not hold")
        } catch {
            throw CitizenTokenError(
                .invalidToken, detail: "the citizen token is malformed or a claim has the wrong type")
        }
        guard claims.iss == issuer else { throw CitizenTokenError(.wrongIssuer) }
        guard claims.aud?.value.contains(audience) == true else { throw CitizenTokenError(.wrongAudience) }
        guard let expires = claims.exp, let issued = claims.iat else {
            throw CitizenTokenError(.invalidToken, detail: "the citizen token lacks exp or iat")
        }
        let slack = Double(leeway.components.seconds) + Double(leeway.components.attoseconds) / 1e18
        let now = self.now().timeIntervalSince1970
        guard now < expires + slack else { throw CitizenTokenError(.tokenExpired) }
        guard issued <= now + slack else {
            throw CitizenTokenError(.invalidToken, detail: "the citizen token is issued in the future")
        }
        if let notBefore = claims.nbf, notBefore > now + slack {
            throw CitizenTokenError(.invalidToken, detail: "the citizen token is not valid yet (nbf)")
        }
        guard let subject = claims.sub, CitizenID.problem(with: subject) == nil else {
            throw CitizenTokenError(.invalidSubject)
        }
        return CitizenIdentity(
            citizenID: subject, expiresAt: Date(timeIntervalSince1970: expires),
            keyID: header.kid)
    }

    /// A key of the set that can verify tokens: its id, its one algorithm, and its JWK with `alg` filled in.
    private struct UsableKey {
        var keyID: String
        var algorithm: String
        var json: Data
        /// How errors name it.
        var label: String { keyID.isEmpty ? "without kid" : "\(Self.printable(keyID))" }

        static func printable(_ text: String) -> String {
            String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.prefix(64).map(Character.init))
        }
    }

    /// Reads a JWKS and decides, for each signature key, the one algorithm it verifies.
    private static func usableKeys(_ jwks: [UInt8]) throws(CitizenKeySetError) -> [UsableKey] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(jwks)) as? [String: Any],
            let entries = object["keys"] as? [Any]
        else {
            throw CitizenKeySetError("the citizen key set is not a JWKS (a JSON object with a \"keys\" array)")
        }
        var usable: [UsableKey] = []
        var seen: Set<String> = []
        for (index, entry) in entries.enumerated() {
            guard var key = entry as? [String: Any] else {
                throw CitizenKeySetError("key \(index + 1) of the citizen key set is not a JSON object")
            }
            let kid = key["kid"] as? String
            let label = kid.map { "\"\(UsableKey.printable($0))\"" } ?? "\(index + 1)"
            if let use = key["use"] as? String, use != "sig" { continue }
            if key["kid"] != nil && kid == nil { throw CitizenKeySetError("key \(label): its kid is not a string") }
            for member in ["d", "p", "q", "dp", "dq", "qi", "k"] where key[member] != nil {
                throw CitizenKeySetError(
                    "key \(label) holds private or secret material (\(member)): the citizen key set must hold the "
                        + "issuer's public keys only")
            }
            let algorithm = try Self.algorithm(of: key, label: label)
            key["alg"] = algorithm
            // JWTKit keeps keys by kid: a lone key without one gets a name of its own, never matched by a token.
            if kid == nil { key["kid"] = "tongban-citizen-key-without-kid" }
            let id = kid ?? anonymousKeyID
            guard seen.insert(id).inserted else {
                throw CitizenKeySetError(
                    kid == nil
                        ? "more than one key has no kid" : "two keys of the citizen key set have the kid \(label)")
            }
            guard let json = try? JSONSerialization.data(withJSONObject: key) else {
                throw CitizenKeySetError("key \(label) cannot be read")
            }
            usable.append(UsableKey(keyID: id, algorithm: algorithm, json: json))
        }
        guard !usable.isEmpty else { throw CitizenKeySetError("the citizen key set holds no signature key") }
        if usable.count > 1, seen.contains(anonymousKeyID) {
            throw CitizenKeySetError("a key of the citizen key set has no kid: with several keys, each needs one")
        }
        return usable
    }

    /// The one algorithm a public JWK verifies: its `alg`, which must suit its type, or the usual one for its type.
    private static func algorithm(of key: [String: Any], label: String) throws(CitizenKeySetError) -> String {
        let declared = key["alg"] as? String
        if key["alg"] != nil && declared == nil { throw CitizenKeySetError("key \(label): its alg is not a string") }
        let curve = key["crv"] as? String
        let candidates: [String]
        switch key["kty"] as? String {
        case "OKP":
            guard curve == "Ed25519" else {
                throw CitizenKeySetError("key \(label): only Ed25519 is accepted among OKP keys")
            }
            candidates = ["EdDSA"]
        case "EC":
            switch curve {
            case "P-256": candidates = ["ES256"]
            case "P-384": candidates = ["ES384"]
            case "P-521": candidates = ["ES512"]
            default: throw CitizenKeySetError("key \(label): only P-256, P-384 and P-521 are accepted among EC keys")
            }
        case "RSA":
            guard let modulus = key["n"] as? String, let bytes = Base64URL.decode(modulus),
                bytes.drop(while: { $0 == 0 }).count * 8 >= 2048
            else {
                throw CitizenKeySetError("key \(label): an RSA key must have a modulus (n) of at least 2048 bits")
            }
            candidates = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
        case let type:
            throw CitizenKeySetError(
                "key \(label): key type \(type.map(UsableKey.printable) ?? "(none)") is not a public signature key "
                    + "this server accepts (OKP Ed25519, EC, RSA)")
        }
        guard let declared else { return candidates[0] }
        guard candidates.contains(declared) else {
            throw CitizenKeySetError(
                "key \(label): algorithm \(UsableKey.printable(declared)) does not suit its key type "
                    + "(accepted: \(candidates.joined(separator: ", ")))")
        }
        return declared
    }
}

/// The citizen a verified token names.
public struct CitizenIdentity: Sendable, Hashable {
    /// The citizen ID (`sub`), a valid GB 11643 ID.
    public let citizenID: String
    /// When the token expires (`exp`).
    public let expiresAt: Date
    /// The key that signed it (`kid`), if the token named one.
    public let keyID: String?
}

/// The claims of a citizen's ID token that are checked. Each is optional here so that a missing one gets its own
/// refusal from ``CitizenTokenVerifier``.
struct CitizenClaims: JWTPayload {
    var iss: String?
    var sub: String?
    var aud: AudienceClaim?
    var exp: Double?
    var iat: Double?
    var nbf: Double?

    /// The claims are checked by ``CitizenTokenVerifier`` against its own clock, each with its own refusal.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
