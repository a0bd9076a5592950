import ArgumentParser
import Events
import Foundation

/// The departments' public keys a command verifies events with: `--keys FILE` (a JWK Set) or
/// `TONGBAN_DEPARTMENT_KEYS`, and whether development keys may be among them.
struct DepartmentKeysOptions: ParsableArguments {
    @Option(help: "A JWK Set of the departments' public keys (env TONGBAN_DEPARTMENT_KEYS: a file path).")
    var keys: String?

    @Flag(
        help: ArgumentHelp(
            "Accept development keys (key ids <department>/dev-only-…) in the key set: NEVER in production.",
            discussion: "Without it a key set holding one is refused. With it, /health and the log say so."))
    var allowDevelopmentKeys = false

    /// Reads the key set. A key set holding development keys is refused unless `--allow-development-keys` is given.
    /// - Returns: the registry.
    /// - Throws: ``CommandFailure`` naming what is missing or refused.
    func load() async throws -> EventKeyRegistry {
        guard let path = keys ?? ProcessInfo.processInfo.environment["TONGBAN_DEPARTMENT_KEYS"] else {
            throw CommandFailure(
                "no department keys: pass --keys FILE (a JWK Set, e.g. from `tongban keys public`) or set "
                    + "TONGBAN_DEPARTMENT_KEYS")
        }
        guard let bytes = await FileInput.contents(of: path) else {
            throw CommandFailure("cannot read the key set \(path)")
        }
        let registry = try EventKeyRegistry.load(jwks: bytes)
        let development = registry.developmentKeyIDs
        if !development.isEmpty && !allowDevelopmentKeys {
            throw CommandFailure(
                "the key set \(path) holds development keys (\(development.joined(separator: ", "))), which "
                    + "`tongban dev`, `tongban generate --signed` and the tests make for one run: a production hub "
                    + "must not trust them. Remove them, or pass --allow-development-keys on a development machine.")
        }
        return registry
    }
}
