import Certificates
import Events
import Foundation
import SyntheticPopulation

/// Writes a run's development keys where a department developer can use them: `<department>.private.jwk` (mode
/// 0600, created afresh) for `tongban publish --key`, and `public.jwks` for `tongban project --keys` (which also needs
/// `--allow-development-keys`).
enum DevelopmentKeyFiles {
    /// Writes the keys into `directory` (created if missing, mode 0700), replacing the key files of an earlier run.
    /// - Parameters:
    ///   - keys: the development keys, one per department.
    ///   - directory: where to write them.
    /// - Throws: `CommandFailure` when a file cannot be written, or exists already.
    static func save(_ keys: [GeneratedEvent.Department: DepartmentSigningKey], to directory: URL) throws {
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var registry = EventKeyRegistry()
        for (department, key) in keys.sorted(by: { $0.key.name < $1.key.name }) {
            try registry.register(key)
            try writeNew(
                Array((key.privateJWK + "\n").utf8),
                to: directory.appendingPathComponent("\(department.name).private.jwk"),
                mode: 0o600)
        }
        try writeNew(
            Array((registry.jwks + "\n").utf8), to: directory.appendingPathComponent("public.jwks"), mode: 0o644)
    }

    /// Writes a file afresh, with exactly `mode` (``KeyFile/replace(at:contents:mode:)``: an earlier file, or a
    /// link in its place, is replaced whole, never followed).
    private static func writeNew(_ bytes: [UInt8], to url: URL, mode: mode_t) throws {
        do throws(KeyFileError) {
            try KeyFile.replace(at: url.path, contents: bytes, mode: mode)
        } catch {
            throw CommandFailure(error.reason)
        }
    }
}
