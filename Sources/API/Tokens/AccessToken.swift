public import Foundation
import JWTKit

/// An access token just issued: what the token endpoint returns to the client.
public struct AccessToken: Sendable, CustomStringConvertible {
    /// The token (a JWT). A bearer credential: never log it.
    public let token: String
    /// The token's id (`jti`), which may be logged.
    public let tokenID: String
    /// The client it was issued to.
    public let clientID: String
    /// The questions it allows.
    public let scopes: [APIScope]
    /// When it was issued.
    public let issuedAt: Date
    /// When it expires.
    public let expiresAt: Date

    /// The OAuth 2.0 `token_type`.
    public var tokenType: String { "Bearer" }

    /// The OAuth 2.0 `expires_in`: its lifetime in whole seconds.
    public var expiresIn: Int { Int(expiresAt.timeIntervalSince(issuedAt)) }

    /// The OAuth 2.0 `scope`: the scopes, space-separated.
    public var scope: String { scopes.map(\.rawValue).joined(separator: " ") }

    /// Its id, client and scopes, with the token itself left out.
    public var description: String { "AccessToken(jti: \(tokenID), client: \(clientID), scope: \(scope))" }
}

/// What a verified access token grants: which client asks, and which questions it may ask.
public struct AccessGrant: Sendable, Hashable {
    /// The client (`sub`).
    public let clientID: String
    /// The questions the token allows (`scope`).
    public let scopes: Set<APIScope>
    /// The token's id (`jti`).
    public let tokenID: String
    /// When the token expires (`exp`).
    public let expiresAt: Date
}

/// The claims of a Tongban access token (the JWT access token profile of RFC 9068: `typ` `at+jwt`).
struct AccessClaims: JWTPayload {
    var iss: IssuerClaim
    var aud: AudienceClaim
    var sub: SubjectClaim
    var clientID: String?
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var jti: IDClaim
    var scope: String

    enum CodingKeys: String, CodingKey {
        case iss, aud, sub, iat, exp, jti, scope
        case clientID = "client_id"
    }

    /// The claims are checked by ``AccessTokenVerifier`` against its own clock, each with its own refusal.
    func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// The `typ` header of an access token.
    static let type = "at+jwt"
}
