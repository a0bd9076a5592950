import Events
public import Foundation
import JWTKit

/// Issues the short-lived access tokens a client gets for its id and secret (OAuth 2.0 client credentials).
///
/// A token is a JWT signed with the hub's Ed25519 key (`alg` EdDSA, `kid` the key's id, `typ` `at+jwt`), with the
/// claims `iss`, `aud`, `sub` and `client_id` (the client id), `iat`, `exp`, `jti` (random) and `scope` (the
/// granted scopes, space-separated). Times are whole seconds.
///
/// ```swift
/// let issuer = await AccessTokenIssuer(key: key)
/// let token = try await issuer.issue(for: try await registry.authenticate(clientID: id, secret: secret))
/// ```
public struct AccessTokenIssuer: Sendable {
    /// The issuer's name when none is given.
    public static let defaultIssuer = "tongban"
    /// The audience of Tongban's API.
    public static let defaultAudience = "tongban-api"
    /// How long a token lives when not told otherwise: five minutes.
    public static let defaultLifetime = Duration.seconds(300)

    /// The `iss` of every token.
    public let issuer: String
    /// The `aud` of every token.
    public let audience: String
    /// How long each token lives.
    public let lifetime: Duration
    /// The signing key's id (`kid`).
    public let keyID: String
    private let keys: JWTKeyCollection
    private let now: @Sendable () -> Date

    /// Creates an issuer.
    /// - Parameters:
    ///   - key: the hub's token key.
    ///   - issuer: the `iss` claim.
    ///   - audience: the `aud` claim.
    ///   - lifetime: how long each token lives (at least a second).
    ///   - now: the clock (tests move it).
    public init(
        key: TokenSigningKey, issuer: String = defaultIssuer, audience: String = defaultAudience,
        lifetime: Duration = defaultLifetime, now: @escaping @Sendable () -> Date = { Date() }
    ) async {
        self.issuer = issuer
        self.audience = audience
        self.lifetime = max(lifetime, .seconds(1))
        self.keyID = key.keyID
        self.now = now
        let keys = JWTKeyCollection()
        await keys.add(eddsa: key.privateKey, kid: JWKIdentifier(string: key.keyID))
        self.keys = keys
    }

    /// Issues a token to a client.
    /// - Parameters:
    ///   - client: the client, authenticated (``ClientRegistry/authenticate(clientID:secret:)``).
    ///   - requested: the scopes asked for (the OAuth 2.0 `scope` parameter), or `nil` for all the client's.
    /// - Returns: the token.
    /// - Throws: ``AccessError`` `.invalidClient` for a disabled client, `.scopeNotGranted` when a scope asked for
    ///   is not the client's; an error of JWTKit if signing fails.
    public func issue(for client: APIClient, scopes requested: [APIScope]? = nil) async throws -> AccessToken {
        guard !client.isDisabled else { throw AccessError(.invalidClient) }
        let scopes: [APIScope]
        if let requested {
            if let refused = requested.first(where: { !client.scopes.contains($0) }) {
                throw AccessError(
                    .scopeNotGranted, detail: "the client is not registered for the scope \(refused.rawValue)")
            }
            scopes = Array(Set(requested)).sorted()
        } else {
            scopes = client.scopes
        }
        let issuedAt = Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down))
        let expiresAt = issuedAt.addingTimeInterval(Double(lifetime.components.seconds))
        let tokenID = Base64URL.encode(RandomText.randomBytes(16))
        let claims = AccessClaims(
            iss: IssuerClaim(value: issuer), aud: AudienceClaim(value: [audience]),
            sub: SubjectClaim(value: client.id), clientID: client.id, iat: IssuedAtClaim(value: issuedAt),
            exp: ExpirationClaim(value: expiresAt), jti: IDClaim(value: tokenID),
            scope: scopes.map(\.rawValue).joined(separator: " "))
        var header = JWTHeader()
        header.typ = AccessClaims.type
        let token = try await keys.sign(claims, kid: JWKIdentifier(string: keyID), header: header)
        return AccessToken(
            token: token, tokenID: tokenID, clientID: client.id, scopes: scopes, issuedAt: issuedAt,
            expiresAt: expiresAt)
    }
}
