import ArgumentParser
import Certificates
import Foundation

extension KeysCommand {
    /// `tongban keys hub`: the hub's own Ed25519 keys, which sign certificates and status lists.
    struct Hub: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make, rotate and list the hub's certificate signing keys (published in its DID document).",
            subcommands: [Create.self, Rotate.self, List.self]
        )

        /// `tongban keys hub create --dir DIR`: the first key.
        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make the hub's first key in a folder (refused where keys already are).")

            @Option(help: "The keys' folder (created, mode 0700, if missing).")
            var dir: String

            func run() throws {
                let keySet = try Hub.run { () throws(HubKeyError) in try HubKeySet.create(directory: dir) }
                printError("hub key \(keySet.current.id) created in \(dir) (its private file is mode 0600)")
                print(List.lines(for: keySet).joined(separator: "\n"))
            }
        }

        /// `tongban keys hub rotate --dir DIR`: a new current key; the old one retired but still published.
        struct Rotate: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make a new current key; the previous one is retired (still published, so what it "
                    + "signed still verifies) and its private file deleted. Restart `tongban serve` to sign with it.")

            @Option(help: "The keys' folder.")
            var dir: String

            func run() throws {
                let keySet = try Hub.run { () throws(HubKeyError) in try HubKeySet.rotate(directory: dir) }
                printError(
                    "hub key \(keySet.current.id) is now current; \(keySet.retired.first?.id ?? "-") is retired")
                print(List.lines(for: keySet).joined(separator: "\n"))
            }
        }

        /// `tongban keys hub list --dir DIR`: every key, current first.
        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List the hub's keys: id, created, retired, and which is current (nothing secret).")

            @Option(help: "The keys' folder.")
            var dir: String

            func run() throws {
                print(try Self.lines(directory: dir).joined(separator: "\n"))
            }

            /// The table of the keys in a folder.
            /// - Parameter directory: the keys' folder.
            /// - Returns: the lines.
            /// - Throws: ``CommandFailure`` when the keys cannot be loaded.
            static func lines(directory: String) throws -> [String] {
                lines(for: try Hub.run { () throws(HubKeyError) in try HubKeySet.load(directory: directory) })
            }

            /// The table: a header, then one key a line, current first; public facts only.
            /// - Parameter keySet: the keys.
            /// - Returns: the lines.
            static func lines(for keySet: HubKeySet) -> [String] {
                let width = max(3, keySet.keys.map(\.id.count).max() ?? 0)
                func padded(_ text: String, _ count: Int) -> String {
                    text + String(repeating: " ", count: max(0, count - text.count))
                }
                let header = [padded("kid", width), padded("created", 20), padded("retired", 20), "state"]
                let rows = keySet.keys.map { key in
                    [
                        padded(key.id, width), padded(key.createdAt.formatted(.iso8601), 20),
                        padded(key.retiredAt.map { $0.formatted(.iso8601) } ?? "-", 20),
                        key.retiredAt == nil ? "current" : "retired",
                    ]
                }
                // The last column is never padded: no line ends in spaces.
                return ([header] + rows).map { $0.joined(separator: "  ") }
            }
        }

        /// Runs a key operation, turning its refusal into a command failure with its plain words.
        static func run(_ body: () throws(HubKeyError) -> HubKeySet) throws -> HubKeySet {
            do {
                return try body()
            } catch {
                throw CommandFailure(error.reason)
            }
        }
    }
}
