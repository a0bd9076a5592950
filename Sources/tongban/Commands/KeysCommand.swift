import ArgumentParser
import Events
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `tongban keys`: department signing keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make and inspect department signing keys (Ed25519, JWK).",
        subcommands: [Generate.self, Public.self]
    )

    /// `tongban keys generate`: a new key pair; the private JWK goes to a file only its owner can read.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a department key pair: writes the private JWK (mode 0600), prints the public JWK.")

        @Option(help: "The department: household, civil-affairs, social-insurance, medical-insurance, property.")
        var department: String

        @Option(help: "The key's name, e.g. 2026-01 (the key id is <department>/<name>).")
        var name: String

        @Option(help: "Where to write the private key (default: <department>-<name>.private.jwk).")
        var out: String?

        func run() throws {
            guard !EventKeyRegistry.isDevelopmentKeyID("\(department)/\(name)") else {
                throw ValidationError(
                    "key names starting with \(EventKeyRegistry.developmentKeyNamePrefix) mark development keys, which "
                        + "a production hub refuses: choose another --name")
            }
            let key = try DepartmentSigningKey.generate(department: department, name: name)
            let path = out ?? "\(department)-\(name).private.jwk"
            try Self.createKeyFile(at: path, contents: Array((key.privateJWK + "\n").utf8))
            FileHandle.standardError.write(
                Data("private key written to \(path) (keep it secret; give the hub only the public JWK below)\n".utf8))
            print(key.publicJWK)
        }

        /// Creates a file that only its owner can read and writes `contents` to it, never replacing anything: one
        /// `open(2)` with `O_CREAT | O_EXCL` and mode 0600 both creates the file and refuses any file or symbolic link
        /// already there (left untouched), so there is no moment between a check and the creation, and none when the
        /// file exists with a wider mode.
        /// - Parameters:
        ///   - path: the file to create.
        ///   - contents: its bytes.
        /// - Throws: `ValidationError` when something exists at `path`; ``CommandFailure`` when it cannot be created
        ///   or written (a file it created but could not write whole is removed).
        static func createKeyFile(at path: String, contents: [UInt8]) throws {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                let code = errno
                if code == EEXIST {
                    throw ValidationError("\(path) exists; a key file is never overwritten (choose another --out)")
                }
                throw CommandFailure("could not create \(path): \(String(cString: strerror(code)))")
            }
            var failure: Int32?
            contents.withUnsafeBytes { buffer in
                var written = 0
                while written < buffer.count, let base = buffer.baseAddress {
                    let count = write(descriptor, base + written, buffer.count - written)
                    if count < 0 {
                        if errno == EINTR { continue }
                        failure = errno
                        return
                    }
                    written += count
                }
            }
            if failure == nil && fsync(descriptor) != 0 { failure = errno }
            if close(descriptor) != 0 && failure == nil { failure = errno }
            if let failure {
                unlink(path)
                throw CommandFailure("could not write \(path): \(String(cString: strerror(failure)))")
            }
        }
    }

    /// `tongban keys public FILE`: the public JWK of a private key file.
    struct Public: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public JWK of a private key file.")

        @Argument(help: "A private JWK file.")
        var file: String

        func run() throws {
            let key = try DepartmentSigningKey.load(jwk: Array(try Data(contentsOf: URL(fileURLWithPath: file))))
            print(key.publicJWK)
        }
    }
}
