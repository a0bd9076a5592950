import Crypto
import Events
public import Foundation
import JWTKit

/// A stand-in for the citizens' OpenID Connect sign-in service, for development and tests only: an Ed25519 key made
/// afresh for each instance (never stored), its public key set, and ID tokens for any citizen.
///
/// Its issuer, ``issuerURL``, ends in `.invalid` (a name that can never resolve), and its keys die with the process:
/// `tongban serve` accepts its tokens only when told both this issuer and this run's key set file, which a production
/// configuration never names.
///
/// ```swift
/// let login = DevelopmentCitizenIssuer()
/// try login.jwks.write(to: url, atomically: true, encoding: .utf8)
/// let token = try await login.mint(citizenID: "110101199003071234")
/// ```
public struct DevelopmentCitizenIssuer: Sendable {
    /// The development issuer's `iss`.
    public static let issuerURL = "https://citizen-login.tongban-dev.invalid"

    /// The key id of this instance's key: `citizen-login/dev-only-<random>`.
    public let keyID: String
    private let privateKey: EdDSA.PrivateKey

    /// Makes a development issuer with a new random key.
    public init() {
        keyID = "citizen-login/dev-only-\(Base64URL.encode(RandomText.randomBytes(6)))"
        privateKey = EdDSA.PrivateKey(backing: Curve25519.Signing.PrivateKey())
    }

    /// The public key set (JWKS) of this issuer, for `tongban serve --citizen-jwks`.
    public var jwks: String {
        let x = Base64URL.encode(privateKey.publicKey.rawRepresentation)
        return "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"EdDSA\",\"use\":\"sig\",\"kid\":\"\(keyID)\","
            + "\"x\":\"\(x)\"}]}"
    }

    /// Signs an ID token for a citizen (tests vary the issuer, audience and times to make tokens that must fail).
    /// - Parameters:
    ///   - citizenID: the `sub`.
    ///   - issuer: the `iss`.
    ///   - audience: the `aud`.
    ///   - issuedAt: the `iat` (whole seconds).
    ///   - lifetime: how long after `issuedAt` it expires (`exp`).
    /// - Returns: the token (a bearer credential: never log it).
    /// - Throws: what JWTKit throws when signing (nothing, in practice).
    public func mint(
        citizenID: String, issuer: String = issuerURL, audience: String = CitizenTokenVerifier.defaultAudience,
        issuedAt: Date = Date(), lifetime: Duration = .seconds(3600)
    ) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(eddsa: privateKey, kid: JWKIdentifier(string: keyID))
        let issued = Int(issuedAt.timeIntervalSince1970.rounded(.down))
        let claims = DevelopmentIDClaims(
            iss: issuer, sub: citizenID, aud: audience, iat: issued, exp: issued + Int(lifetime.components.seconds),
            jti: Base64URL.encode(RandomText.randomBytes(12)))
        var header = JWTHeader()
        header.typ = "JWT"
        return try await keys.sign(claims, kid: JWKIdentifier(string: keyID), header: header)
    }
}

/// The claims of a development ID token.
private struct DevelopmentIDClaims: JWTPayload {
    var iss: String
    var sub: String
    var aud: String
    var iat: Int
    var exp: Int
    var jti: String

    /// Nothing to check when signing.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
