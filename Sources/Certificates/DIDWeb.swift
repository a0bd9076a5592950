public import Crypto
public import Events
import Foundation

/// Why a base URL has no did:web identifier.
public struct DIDWebError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Plain words for a person.
    public let reason: String
    public var description: String { reason }
}

/// The hub's decentralized identifier under the did:web method, made from its public base URL, and the documents
/// that publish its keys.
///
/// `https://hub.example.gov.cn` is `did:web:hub.example.gov.cn`; a port is written after `%3A`
/// (`did:web:localhost%3A8080`); each segment of a path follows after a `:` (`https://example.org/hubs/beijing` is
/// `did:web:example.org:hubs:beijing`). A verifier finds the DID document at `/.well-known/did.json` (or at
/// `<path>/did.json` when there is a path).
public struct DIDWeb: Sendable, Hashable, CustomStringConvertible {
    /// The DID, e.g. `did:web:hub.example.gov.cn`.
    public let did: String
    /// Where the DID document is served, relative to the host: `/.well-known/did.json`, or `<path>/did.json`.
    public let documentPath: String

    public var description: String { did }

    /// The DID for a public base URL.
    /// - Parameter baseURL: `http` or `https`, a host name (not an IP address) with an optional port and path; no
    ///   user, query or fragment. A trailing `/` and a default port (443 for https, 80 for http) are dropped.
    /// - Throws: ``DIDWebError`` saying what the URL has that a did:web cannot say.
    public init(baseURL: String) throws(DIDWebError) {
        // Read by hand rather than by URLComponents, which on some platforms turns an xn-- host into Unicode.
        let text = Substring(baseURL)
        let separator = text.range(of: "://")
        let scheme = separator.map { text[..<$0.lowerBound].lowercased() }
        guard let separator, scheme == "https" || scheme == "http" else {
            throw DIDWebError(reason: "\(baseURL) is not an http or https URL")
        }
        let rest = text[separator.upperBound...]
        guard !rest.contains("?"), !rest.contains("#") else {
            throw DIDWebError(reason: "\(baseURL) has a query or fragment, which a did:web cannot carry")
        }
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        guard !authority.contains("@") else {
            throw DIDWebError(reason: "\(baseURL) has a user name or password, which a did:web cannot carry")
        }
        guard !authority.hasPrefix("[") else {
            throw DIDWebError(
                reason: "the host of \(baseURL) is an IP address; did:web names a host by its domain name "
                    + "(use localhost for development)")
        }
        var host = authority.lowercased()
        var port: Int?
        if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon].lowercased()
            let digits = authority[authority.index(after: colon)...]
            guard (1...5).contains(digits.count), digits.allSatisfy(\.isASCII), let number = Int(digits),
                (1...65_535).contains(number)
            else { throw DIDWebError(reason: "the port of \(baseURL) is not a number from 1 to 65535") }
            port = number
        }
        guard !host.isEmpty else { throw DIDWebError(reason: "\(baseURL) has no host") }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        let isLabel: (Substring) -> Bool = { label in
            (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { byte in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                }
        }
        guard host.utf8.count <= 253, labels.allSatisfy(isLabel) else {
            throw DIDWebError(
                reason: "the host of \(baseURL) is not a domain name (an internationalized name is written as its "
                    + "xn-- form)")
        }
        // A last label of digits (or 0x and hex digits) is how a URL parser recognises an IPv4 address.
        let lastLabel = labels.last ?? ""
        let isNumeric =
            lastLabel.allSatisfy(\.isNumber)
            || (lastLabel.hasPrefix("0x") && lastLabel.dropFirst(2).allSatisfy(\.isHexDigit))
        guard !isNumeric else {
            throw DIDWebError(
                reason: "the host of \(baseURL) is an IP address; did:web names a host by its domain name "
                    + "(use localhost for development)")
        }
        let segments = path.split(separator: "/").map(String.init)
        // A segment keeps its percent-encoding; a colon in it is encoded, since colons separate the DID's segments.
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:@")
        guard segments.allSatisfy({ $0.allSatisfy(allowed.contains) && $0 != "." && $0 != ".." }) else {
            throw DIDWebError(reason: "the path of \(baseURL) has characters a URL path cannot hold unencoded")
        }
        var identifier = host
        if let port, !(scheme == "https" && port == 443), !(scheme == "http" && port == 80) {
            identifier += "%3A\(port)"
        }
        for segment in segments {
            identifier += ":" + segment.replacingOccurrences(of: ":", with: "%3A")
        }
        self.did = "did:web:" + identifier
        self.documentPath =
            segments.isEmpty ? "/.well-known/did.json" : "/" + segments.joined(separator: "/") + "/did.json"
    }

    /// The verification method of a key: `<did>#<kid>`.
    /// - Parameter key: the key.
    /// - Returns: the verification method's id.
    public func verificationMethod(for key: HubKey) -> String {
        "\(did)#\(key.id)"
    }

    /// The public key a verification method names, if it is one of this DID's methods and its key is in the set
    /// (current or retired). Pass it to ``DataIntegrity/verify(_:keys:)``:
    /// `DataIntegrity.verify(credential) { did.publicKey(for: $0, in: keys) }`.
    /// - Parameters:
    ///   - verificationMethod: `<did>#<kid>`.
    ///   - keySet: the hub's keys.
    /// - Returns: the public key, or `nil` for another DID or an unknown key id.
    public func publicKey(for verificationMethod: String, in keySet: HubKeySet) -> Curve25519.Signing.PublicKey? {
        let prefix = did + "#"
        guard verificationMethod.hasPrefix(prefix) else { return nil }
        return keySet.key(id: String(verificationMethod.dropFirst(prefix.count)))?.publicKey
    }

    /// The DID document: every key, current and retired, as a `Multikey` verification method, listed for
    /// `assertionMethod` (certificates and status lists) and `authentication`. Current key first, then retired
    /// keys newest first.
    /// - Parameter keySet: the hub's keys.
    /// - Returns: the document.
    public func didDocument(for keySet: HubKeySet) -> JSONValue {
        let methods: [JSONValue] = keySet.keys.map { key in
            .object(
                JSONObject([
                    ("id", .string(verificationMethod(for: key))), ("type", "Multikey"), ("controller", .string(did)),
                    ("publicKeyMultibase", .string(key.publicKeyMultibase)),
                ]))
        }
        let references: JSONValue = .array(keySet.keys.map { .string(verificationMethod(for: $0)) })
        return .object(
            JSONObject([
                ("@context", ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]),
                ("id", .string(did)),
                ("verificationMethod", .array(methods)),
                ("assertionMethod", references),
                ("authentication", references),
            ]))
    }

    /// The same keys as a JSON Web Key Set (RFC 7517): `{"keys": [...]}`, current key first; each key's `kid` is its
    /// key id.
    /// - Parameter keySet: the hub's keys.
    /// - Returns: the key set.
    public func jwks(for keySet: HubKeySet) -> JSONValue {
        ["keys": .array(keySet.keys.map(\.jwk))]
    }
}
