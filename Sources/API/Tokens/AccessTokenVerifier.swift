import Events
public import Foundation
import JWTKit

/// Verifies the access tokens of requests: signed with the hub's token key (EdDSA and its `kid` only), of type
/// `at+jwt`, from the right issuer for the right audience, and not expired. Each failure is its own ``AccessError``.
///
/// It checks the header itself before JWTKit verifies the signature, so that no other algorithm (`none`, HS256 with
/// the public key as a secret) and no other key can be chosen by the token.
///
/// ```swift
/// let verifier = await AccessTokenVerifier(key: key.publicKey)
/// let grant = try await verifier.verify(token)
/// ```
public struct AccessTokenVerifier: Sendable {
    /// The longest token considered; longer ones are refused unread.
    public static let maxTokenLength = 8192
    /// The clock skew tolerated on `exp` and `iat` when not told otherwise.
    public static let defaultLeeway = Duration.seconds(10)

    /// The `iss` a token must have.
    public let issuer: String
    /// The audience a token's `aud` must name.
    public let audience: String
    /// The clock skew tolerated on `exp` and `iat`.
    public let leeway: Duration
    /// The key id a token must name (`kid`).
    public let keyID: String
    private let keys: JWTKeyCollection
    private let now: @Sendable () -> Date

    /// Creates a verifier.
    /// - Parameters:
    ///   - key: the public half of the hub's token key.
    ///   - issuer: the `iss` a token must have.
    ///   - audience: the audience a token's `aud` must name.
    ///   - leeway: the clock skew tolerated on `exp` and `iat`.
    ///   - now: the clock (tests move it).
    public init(
        key: TokenPublicKey, issuer: String = AccessTokenIssuer.defaultIssuer,
        audience: String = AccessTokenIssuer.defaultAudience, leeway: Duration = defaultLeeway,
        now: @escaping @Sendable () -> Date = { Date() }
    ) async {
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.keyID = key.keyID
        self.now = now
        let keys = JWTKeyCollection()
        await keys.add(eddsa: key.key, kid: JWKIdentifier(string: key.keyID))
        self.keys = keys
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
    /// - Returns: what it grants.
    /// - Throws: ``AccessError``: `.missingToken` (empty), `.invalidToken` (malformed, another algorithm, key or type,
    ///   a signature that does not hold, issued in the future), `.wrongAudience` (another issuer or audience),
    ///   `.expiredToken`.
    public func verify(_ token: String) async throws(AccessError) -> AccessGrant {
        guard !token.isEmpty else { throw AccessError(.missingToken) }
        guard token.utf8.count <= Self.maxTokenLength else {
            throw AccessError(.invalidToken, detail: "the access token is too long")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(String(parts[0])),
            let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes))
        else {
            throw AccessError(.invalidToken, detail: "the access token is not a JWT (header.payload.signature)")
        }
        guard header.alg == "EdDSA" else {
            throw AccessError(
                .invalidToken, detail: "the access token is not signed with EdDSA, the only algorithm accepted")
        }
        guard header.kid == keyID else {
            throw AccessError(.invalidToken, detail: "the access token is not signed with the hub's token key")
        }
        guard header.typ?.lowercased() == AccessClaims.type || header.typ?.lowercased() == "application/at+jwt" else {
            throw AccessError(.invalidToken, detail: "the token is not an access token (typ at+jwt)")
        }
        guard header.crit == nil else {
            throw AccessError(.invalidToken, detail: "the access token has critical header extensions (crit)")
        }
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            throw AccessError(.invalidToken, detail: "the access token's signature does not hold")
        } catch {
            throw AccessError(.invalidToken, detail: "the access token is malformed or lacks a claim")
        }
        guard claims.iss.value == issuer, claims.aud.value.contains(audience) else {
            throw AccessError(.wrongAudience)
        }
        let seconds = Double(leeway.components.seconds) + Double(leeway.components.attoseconds) / 1e18
        let now = self.now()
        guard claims.iat.value <= now.addingTimeInterval(seconds) else {
            throw AccessError(.invalidToken, detail: "the access token is issued in the future")
        }
        guard now < claims.exp.value.addingTimeInterval(seconds) else { throw AccessError(.expiredToken) }
        guard APIClient.isWellFormedID(claims.sub.value), claims.clientID == nil || claims.clientID == claims.sub.value
        else {
            throw AccessError(.invalidToken, detail: "the access token does not name a client")
        }
        // A scope this build does not know grants nothing here.
        let scopes = Set(claims.scope.split(separator: " ").compactMap { APIScope(rawValue: String($0)) })
        return AccessGrant(
            clientID: claims.sub.value, scopes: scopes, tokenID: claims.jti.value, expiresAt: claims.exp.value)
    }
}
