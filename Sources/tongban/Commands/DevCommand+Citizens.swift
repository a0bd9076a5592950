import API
import Foundation

/// `tongban dev`'s stand-in for the citizens' sign-in service, for development only: an OpenID Connect issuer made
/// for this run (``DevelopmentCitizenIssuer``), its public keys in the run's keys directory, and an ID token for a
/// citizen the printed questions ask about, so that the printed access-log request works as printed.
///
/// `tongban serve` never trusts this issuer unless told both its URL and this run's key file; the key itself is never
/// written anywhere and dies with the process.
struct DevCitizenLogin: Sendable {
    /// How long the printed token holds.
    static let tokenLifetime = Duration.seconds(12 * 3600)

    /// Verifies this run's citizen tokens, for the server.
    let verifier: CitizenTokenVerifier
    /// This run's public key set (`citizen-login.jwks` in the keys directory).
    let jwksFile: URL
    /// The citizen the token is for, and the token (a bearer credential for a synthetic citizen of this run).
    let token: (citizen: String, token: String)?

    /// Makes the issuer, writes its key set, and mints a token for `citizen`.
    /// - Parameters:
    ///   - directory: the run's keys directory (removed when the run stops).
    ///   - citizen: the citizen to mint a token for, if any.
    /// - Returns: the sign-in.
    /// - Throws: when the key set cannot be written.
    static func start(in directory: URL, citizen: String?) async throws -> DevCitizenLogin {
        let issuer = DevelopmentCitizenIssuer()
        let file = directory.appendingPathComponent("citizen-login.jwks")
        do {
            try Data((issuer.jwks + "\n").utf8).write(to: file)
        } catch {
            throw CommandFailure("cannot write \(file.path): \(error)")
        }
        let verifier = try await CitizenTokenVerifier(
            jwks: Array(issuer.jwks.utf8), issuer: DevelopmentCitizenIssuer.issuerURL)
        var token: (String, String)?
        if let citizen { token = (citizen, try await issuer.mint(citizenID: citizen, lifetime: tokenLifetime)) }
        return DevCitizenLogin(verifier: verifier, jwksFile: file, token: token)
    }

    /// How a citizen lists who asked about them, from another terminal (empty of requests when no citizen was
    /// published).
    /// - Parameter base: the API's base URL.
    /// - Returns: the lines, starting with a line break.
    func banner(base: String) -> String {
        var lines = [
            "",
            "Citizens' access log, signed in through a development issuer made for this run "
                + "(\(DevelopmentCitizenIssuer.issuerURL), keys in \(jwksFile.path); development only).",
        ]
        if case let (citizen, token)? = token {
            lines.append(
                "After the questions above, citizen \(citizen) lists who asked about them "
                    + "(an ID token valid \(Self.tokenLifetime.components.seconds / 3600) h):")
            lines.append("  CITIZEN_TOKEN='\(token)'")
            lines.append("  curl -s -H \"Authorization: Bearer $CITIZEN_TOKEN\" '\(base)/v1/citizen/access-log'")
        }
        return lines.joined(separator: "\n")
    }
}
