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

    /// Creates a file afresh (an earlier one, or a link in its place, is removed first), with its mode set at
    /// creation: there is no moment with a wider one.
    private static func writeNew(_ bytes: [UInt8], to url: URL, mode: mode_t) throws {
        guard unlink(url.path) == 0 || errno == ENOENT else {
            throw CommandFailure("cannot replace \(url.path): \(String(cString: strerror(errno)))")
        }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw CommandFailure("cannot create \(url.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw CommandFailure("cannot write \(url.path): \(String(cString: strerror(errno)))") }
            written += n
        }
    }
}
