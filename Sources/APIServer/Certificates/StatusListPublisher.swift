import Certificates
import Crypto
import Events
import Foundation
import Synchronization

/// Serves the status lists as signed `BitstringStatusListCredential`s.
///
/// A list's bits are read from the certificates' rows on every request, so a change shows at once; the signed
/// credential is kept while the bits stay the same (its `ETag` is a digest of the bits and the signing key), so an
/// unchanged list is not compressed and signed again.
final class StatusListPublisher: Sendable {
    /// A list ready to serve.
    struct Served: Sendable {
        var body: String
        var etag: String
    }

    let hub: CertificateHub
    let store: CertificateStore
    private let cache = Mutex<[Int: Served]>([:])

    init(hub: CertificateHub, store: CertificateStore) {
        self.hub = hub
        self.store = store
    }

    /// List `number` now.
    /// - Returns: `nil` when there is no such list.
    /// - Throws: `PostgresError`, or what compressing or signing throws.
    func list(_ number: Int) async throws -> Served? {
        guard let bits = try await store.listBits(number) else { return nil }
        var list = try BitstringStatusList(bitCount: bits.size)
        for index in bits.setIndexes { try list.setBit(true, at: index) }
        var hasher = SHA256()
        hasher.update(data: Array("\(number)/\(bits.purpose)/\(hub.keys.current.id)/".utf8))
        hasher.update(data: list.bytes)
        let etag = "\"" + hasher.finalize().prefix(16).map { String(format: "%02x", $0) }.joined() + "\""
        if let cached = cache.withLock({ $0[number] }), cached.etag == etag { return cached }
        let url = hub.statusListURL(number)
        let now = Timestamp.wholeSeconds(Date())
        var document = try list.statusListCredential(
            id: url, issuer: hub.did, statusPurpose: StatusPurpose(rawValue: bits.purpose) ?? .revocation,
            validFrom: now)
        // How long a verifier may keep it (the spec's `ttl`, in milliseconds), as `Cache-Control` says.
        if case .object(var subject) = document["credentialSubject"] {
            subject["ttl"] = .number(String(hub.statusListMaxAge * 1000))
            document["credentialSubject"] = .object(subject)
        }
        let key = hub.keys.current
        let signed = try DataIntegrity.sign(
            document: document, with: key, verificationMethod: hub.verificationMethod(key.id), created: now)
        let served = Served(
            body: String(decoding: try JSONValue.object(signed).canonicalBytes(), as: UTF8.self), etag: etag)
        cache.withLock { $0[number] = served }
        return served
    }
}
