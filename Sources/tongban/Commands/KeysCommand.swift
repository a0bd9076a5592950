import ArgumentParser
import Events
import Foundation

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
            let key = try DepartmentSigningKey.generate(department: department, name: name)
            let path = out ?? "\(department)-\(name).private.jwk"
            guard !FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("\(path) exists; a key file is never overwritten (choose another --out)")
            }
            guard
                FileManager.default.createFile(
                    atPath: path, contents: Data((key.privateJWK + "\n").utf8), attributes: [.posixPermissions: 0o600])
            else { throw ValidationError("could not write \(path)") }
            FileHandle.standardError.write(
                Data("private key written to \(path) (keep it secret; give the hub only the public JWK below)\n".utf8))
            print(key.publicJWK)
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
