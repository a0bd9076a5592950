import Events
import Foundation
import Testing
import TongbanTesting

@testable import Certificates

@Suite("did:web", .sharedMachine)
struct DIDWebTests {
    @Test("the DID of a base URL: host, port, path")
    func identifiers() throws {
        let cases: [(String, String, String)] = [
            ("https://hub.example.gov.cn", "did:web:hub.example.gov.cn", "/.well-known/did.json"),
            ("https://hub.example.gov.cn/", "did:web:hub.example.gov.cn", "/.well-known/did.json"),
            ("https://Hub.Example.GOV.cn", "did:web:hub.example.gov.cn", "/.well-known/did.json"),
            ("https://hub.example.gov.cn:443", "did:web:hub.example.gov.cn", "/.well-known/did.json"),
            ("http://localhost:8080", "did:web:localhost%3A8080", "/.well-known/did.json"),
            ("https://localhost:8443/", "did:web:localhost%3A8443", "/.well-known/did.json"),
            ("https://example.org/hubs/beijing", "did:web:example.org:hubs:beijing", "/hubs/beijing/did.json"),
            ("https://example.org:9000/a/b/", "did:web:example.org%3A9000:a:b", "/a/b/did.json"),
            ("https://xn--fiqs8s.example", "did:web:xn--fiqs8s.example", "/.well-known/did.json"),
        ]
        for (url, did, path) in cases {
            let web = try DIDWeb(baseURL: url)
            #expect(web.did == did, "\(url)")
            #expect(web.documentPath == path, "\(url)")
        }
    }

    @Test("URLs a did:web cannot name are refused in plain words")
    func refusals() {
        for url in [
            "ftp://example.org", "https://", "https://user:pw@example.org", "https://example.org/?q=1",
            "https://example.org/#x", "https://127.0.0.1:8080", "https://[::1]:8080", "https://0x7f.1",
            "https://exa_mple.org", "https://-bad.example", "not a url",
        ] {
            #expect(throws: DIDWebError.self, "\(url)") { try DIDWeb(baseURL: url) }
        }
    }

    @Test("the DID document lists every key, current and retired, for assertion and authentication; JWKS alike")
    func document() throws {
        let directory = try CertificateFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = try #require(Timestamp.parse("2026-12-06T08:00:00Z"))
        try HubKeySet.create(directory: directory, now: now)
        let keys = try HubKeySet.rotate(directory: directory, now: now.addingTimeInterval(3600))
        let web = try DIDWeb(baseURL: "https://hub.example.gov.cn")
        let document = web.didDocument(for: keys)
        #expect(
            document["@context"] == ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"])
        #expect(document["id"] == "did:web:hub.example.gov.cn")
        let ids = keys.keys.map { "did:web:hub.example.gov.cn#\($0.id)" }
        #expect(ids == ["did:web:hub.example.gov.cn#key-2026-12-06-2", "did:web:hub.example.gov.cn#key-2026-12-06-1"])
        let methods = try #require(document["verificationMethod"]?.arrayValue)
        #expect(methods.count == 2)
        for (method, key) in zip(methods, keys.keys) {
            #expect(method["id"]?.stringValue == web.verificationMethod(for: key))
            #expect(method["type"] == "Multikey" && method["controller"] == "did:web:hub.example.gov.cn")
            #expect(method["publicKeyMultibase"]?.stringValue == key.publicKeyMultibase)
        }
        #expect(document["assertionMethod"] == .array(ids.map { .string($0) }))
        #expect(document["authentication"] == .array(ids.map { .string($0) }))
        #expect(CertificateFixtures.keys(fromDIDDocument: document).count == 2)

        let jwks = web.jwks(for: keys)
        #expect(jwks["keys"]?.arrayValue?.map { $0["kid"]?.stringValue } == keys.keys.map(\.id))
        #expect(jwks["keys"]?.arrayValue?.allSatisfy { $0["d"] == nil && $0["kty"] == "OKP" } == true)

        // Resolving a verification method: this DID's own keys only.
        #expect(web.publicKey(for: ids[1], in: keys) != nil)
        #expect(web.publicKey(for: "did:web:other.example#key-2026-12-06-1", in: keys) == nil)
        #expect(web.publicKey(for: "did:web:hub.example.gov.cn#key-1999-01-01-1", in: keys) == nil)
    }
}
