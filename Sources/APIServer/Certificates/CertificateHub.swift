public import Certificates
import Events
import Foundation
import Postgres

/// What the server issues certificates with: the hub's keys, its public address (which names its `did:web`), and how
/// long a certificate is valid by default.
public struct CertificateHub: Sendable {
    /// The hub's signing key and every retired key still published.
    public var keys: HubKeySet
    /// The address certificate holders and verifiers reach the hub at, e.g. `https://tongban.example.gov.cn`: the
    /// status lists' and verification pages' URLs start with it, and the issuer is its `did:web`.
    public var publicBaseURL: String
    /// Days a certificate is valid when the request does not say.
    public var defaultValidDays = 90
    /// `Cache-Control: max-age` of a status list: a verifier's copy may be this old, so a revocation reaches every
    /// verifier within this many seconds.
    public var statusListMaxAge = 30

    /// The issuer's `did:web`, derived from ``publicBaseURL``.
    public let didWeb: DIDWeb

    /// Creates the configuration.
    /// - Parameters:
    ///   - keys: the key set.
    ///   - publicBaseURL: the public address (`http` or `https`, a host name, an optional port).
    /// - Throws: `DIDWebError` when the address cannot name a did:web.
    public init(keys: HubKeySet, publicBaseURL: String) throws {
        self.keys = keys
        self.publicBaseURL = publicBaseURL.hasSuffix("/") ? String(publicBaseURL.dropLast()) : publicBaseURL
        didWeb = try DIDWeb(baseURL: self.publicBaseURL)
    }

    /// The issuer's DID (`did:web:` and the host).
    var did: String { didWeb.did }

    /// The verification method that names `keyID`.
    func verificationMethod(_ keyID: String) -> String { "\(did)#\(keyID)" }

    /// The URL of status list `number`.
    func statusListURL(_ number: Int) -> String { "\(publicBaseURL)/v1/status-lists/\(number)" }

    /// The verification page of certificate `id`.
    func pageURL(_ id: UUID) -> String { "\(publicBaseURL)/verify/\(id.uuidString.lowercased())" }
}
