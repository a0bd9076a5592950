public import Foundation

/// A certificate service registered to ask questions: what it may ask and why, and how often. It never holds the
/// client's secret (only ``ClientRegistry/register(name:scopes:purposes:requestsPerSecond:)`` returns that, once).
public struct APIClient: Sendable, Hashable, Identifiable {
    /// The client id: `tbc_` and 16 random bytes in base64url.
    public var id: String
    /// Who it is, for operators.
    public var name: String
    /// The questions it may ask, sorted by name.
    public var scopes: [APIScope]
    /// The purposes it may state with a question, sorted (identifiers such as `kinship-certificate`).
    public var purposes: [String]
    /// Its rate limit: questions per second (with a burst of as many).
    public var requestsPerSecond: Int
    /// When it was registered.
    public var createdAt: Date
    /// When an operator disabled it; `nil` while it may ask.
    public var disabledAt: Date?

    /// Creates a client's description.
    /// - Parameters:
    ///   - id: the client id.
    ///   - name: who it is.
    ///   - scopes: the questions it may ask.
    ///   - purposes: the purposes it may state.
    ///   - requestsPerSecond: its rate limit.
    ///   - createdAt: when it was registered.
    ///   - disabledAt: when it was disabled, if it was.
    public init(
        id: String, name: String, scopes: [APIScope], purposes: [String], requestsPerSecond: Int, createdAt: Date,
        disabledAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.scopes = Array(Set(scopes)).sorted()
        self.purposes = Array(Set(purposes)).sorted()
        self.requestsPerSecond = requestsPerSecond
        self.createdAt = createdAt
        self.disabledAt = disabledAt
    }

    /// Whether an operator disabled it (it is refused from its next request).
    public var isDisabled: Bool { disabledAt != nil }

    /// Whether a purpose is an identifier a client may be registered with: 1–64 of `a-z`, `0-9` and `-`.
    /// - Parameter purpose: the purpose, e.g. `kinship-certificate`.
    /// - Returns: whether it is well formed.
    public static func isWellFormedPurpose(_ purpose: String) -> Bool {
        (1...64).contains(purpose.utf8.count)
            && purpose.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }

    /// Whether a client id has the shape the registry gives them (`tbc_` and 22 base64url characters).
    /// - Parameter id: the text.
    /// - Returns: whether it could be a client id.
    public static func isWellFormedID(_ id: String) -> Bool {
        id.utf8.count == 26 && id.hasPrefix("tbc_") && id.utf8.dropFirst(4).allSatisfy(RandomText.isAlphabet)
    }
}

/// Why a client cannot be registered as asked, or was not found, in plain words.
public struct APIClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: String, Sendable, Hashable {
        /// The name is empty, too long or holds control characters.
        case invalidName
        /// A scope is not one of ``APIScope``, or none was given.
        case unknownScope
        /// A purpose is not an identifier of `[a-z0-9-]{1,64}`, or none was given.
        case invalidPurpose
        /// The rate limit is not a positive number of requests per second.
        case invalidRateLimit
        /// No client has this id.
        case unknownClient
    }

    /// What is wrong.
    public var kind: Kind
    /// The explanation, for an operator.
    public var reason: String

    /// Creates an error.
    /// - Parameters:
    ///   - kind: what is wrong.
    ///   - reason: the explanation.
    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    /// The explanation.
    public var description: String { reason }

    /// Text from outside, safe to put in a message: control characters escaped, at most 80 characters.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(80) {
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > 80 ? out + "…" : out
    }
}
