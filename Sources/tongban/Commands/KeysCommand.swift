import ArgumentParser
import Certificates
import Events
import Foundation

/// `tongban keys`: department signing keys, and the hub's own keys (`tongban keys hub`).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make and inspect department signing keys (Ed25519, JWK) and the hub's certificate keys.",
        subcommands: [Generate.self, Public.self, Hub.self]
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

        /// Creates a key file that only its owner can read, never replacing anything: one `open(2)` with
        /// `O_CREAT | O_EXCL` and mode 0600 (`KeyFile.createExclusive(at:contents:)`).
        /// - Parameters:
        ///   - path: the file to create.
        ///   - contents: its bytes.
        /// - Throws: `ValidationError` when something exists at `path`; ``CommandFailure`` when it cannot be created
        ///   or written (a file it created but could not write whole is removed).
        static func createKeyFile(at path: String, contents: [UInt8]) throws {
            do throws(KeyFileError) {
                try KeyFile.createExclusive(at: path, contents: contents)
            } catch let error where error.code == .exists {
                throw ValidationError("\(path) exists; a key file is never overwritten (choose another --out)")
            } catch {
                throw CommandFailure(error.reason)
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
