import API
import Foundation
import Logging

extension ServeCommand {
    /// Citizens' sign-in: the verifier of `--citizen-issuer` (or `TONGBAN_CITIZEN_ISSUER`) with the keys of
    /// `--citizen-jwks` (or `TONGBAN_CITIZEN_JWKS`), and `--citizen-audience` (or `TONGBAN_CITIZEN_AUDIENCE`, default
    /// `tongban`); `nil` when neither the issuer nor the key set is given (the access log then answers 503).
    ///
    /// Nothing else is trusted: the development issuer of `tongban dev` is accepted only when both are named
    /// explicitly, and then with a warning.
    /// - Parameters:
    ///   - environment: the process's environment.
    ///   - logger: where the configuration is reported.
    /// - Returns: the verifier, or `nil`.
    /// - Throws: `CommandFailure` when only one of the two is given, or the key set cannot be read or used.
    func loadCitizenLogin(environment: [String: String], logger: Logger) async throws -> CitizenTokenVerifier? {
        func given(_ option: String?, _ variable: String) -> String? {
            (option ?? environment[variable]).flatMap { $0.isEmpty ? nil : $0 }
        }
        let issuer = given(citizenIssuer, "TONGBAN_CITIZEN_ISSUER")
        let path = given(citizenJwks, "TONGBAN_CITIZEN_JWKS")
        let audience = given(citizenAudience, "TONGBAN_CITIZEN_AUDIENCE") ?? CitizenTokenVerifier.defaultAudience
        guard let issuer, let path else {
            if issuer == nil && path == nil {
                logger.notice(
                    "citizens cannot sign in (no --citizen-issuer and --citizen-jwks): their access log answers 503")
                return nil
            }
            throw CommandFailure(
                "citizens' sign-in needs both --citizen-issuer URL and --citizen-jwks FILE "
                    + "(or TONGBAN_CITIZEN_ISSUER and TONGBAN_CITIZEN_JWKS)")
        }
        guard let bytes = await FileInput.contents(of: path) else {
            throw CommandFailure("cannot read the citizen key set \(path)")
        }
        let verifier: CitizenTokenVerifier
        do {
            verifier = try await CitizenTokenVerifier(jwks: bytes, issuer: issuer, audience: audience)
        } catch {
            throw CommandFailure("the citizen key set \(path) cannot be used: \(error)")
        }
        if issuer == DevelopmentCitizenIssuer.issuerURL {
            logger.warning("accepting citizens' tokens of the development issuer of `tongban dev`: never in production")
        }
        logger.notice(
            "citizens sign in with ID tokens of \(issuer) for the audience \(audience)",
            metadata: ["citizen.keys": "\(verifier.keyAlgorithms.keys.sorted().joined(separator: ","))"])
        return verifier
    }
}
