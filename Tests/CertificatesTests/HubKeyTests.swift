import Crypto
import Events
import Foundation
import Testing
import TongbanTesting

@testable import Certificates

@Suite("Hub keys", .sharedMachine)
struct HubKeyTests {
    /// RFC 8032 §7.1 test 1: its public key, as RFC 8037's JWK example writes it.
    static let rfc8032Seed = CertificateFixtures.hex(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")

    /// The code of the ``HubKeyError`` `body` throws, or `nil` when it throws nothing or something else.
    static func refusal(_ body: () throws -> Void) -> HubKeyError.Code? {
        do {
            try body()
            return nil
        } catch {
            return (error as? HubKeyError)?.code
        }
    }

    @Test("the Multikey and JWK of a known key")
    func knownKey() throws {
        let privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: Self.rfc8032Seed)
        let key = HubKey(
            id: "key-2026-12-06-1", publicKey: privateKey.publicKey, createdAt: Date(), retiredAt: nil,
            privateKey: privateKey)
        #expect(
            Array(key.publicKey.rawRepresentation)
                == CertificateFixtures.hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        #expect(key.publicKeyMultibase == "z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw")
        #expect(Multikey.decode(key.publicKeyMultibase)?.rawRepresentation == key.publicKey.rawRepresentation)
        #expect(
            key.jwk == [
                "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "kid": "key-2026-12-06-1", "alg": "EdDSA", "use": "sig",
            ])
        // Nothing printable shows the private half.
        let seedText = Base64URL.encode(Self.rfc8032Seed)
        for shown in [
            "\(key)", String(reflecting: key),
            {
                var s = ""; dump(key, to: &s); return s
            }(),
        ] {
            #expect(!shown.contains(seedText) && !shown.contains("9d61b19d"))
        }
        // The W3C test key: private multibase 0x80 0x26 + seed, public z6MkrJVn….
        let w3c = try Multibase.decode("z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")
        #expect(w3c.prefix(2) == [0x80, 0x26])
        let w3cKey = try Curve25519.Signing.PrivateKey(rawRepresentation: w3c.dropFirst(2))
        #expect(Multikey.encode(w3cKey.publicKey) == "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
        // Not Ed25519 Multikeys.
        #expect(Multikey.decode("z2NEpo7TZRRrLZSi2U") == nil)
        #expect(Multikey.decode("u7QE") == nil)
    }

    @Test("create writes a 0600 private file and refuses to run twice; load gives the same key")
    func createAndLoad() throws {
        let folder = try CertificateFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let directory = folder + "/keys"
        let now = try #require(Timestamp.parse("2026-12-06T08:30:15Z"))
        let created = try HubKeySet.create(directory: directory, now: now)
        #expect(created.current.id == "key-2026-12-06-1" && created.retired.isEmpty && created.current.canSign)
        let privatePath = directory + "/key-2026-12-06-1.private.jwk"
        let mode = try FileManager.default.attributesOfItem(atPath: privatePath)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let folderMode = try FileManager.default.attributesOfItem(atPath: directory)[.posixPermissions] as? NSNumber
        #expect(folderMode?.intValue == 0o700)
        // The manifest holds public facts only.
        let manifest = try String(contentsOfFile: directory + "/hub-keys.json", encoding: .utf8)
        #expect(manifest.contains(created.current.publicKeyMultibase) && !manifest.contains("\"d\""))

        let loaded = try HubKeySet.load(directory: directory)
        #expect(loaded.current.id == created.current.id && loaded.current.canSign)
        #expect(loaded.current.createdAt == now && loaded.current.retiredAt == nil)
        #expect(loaded.current.publicKey.rawRepresentation == created.current.publicKey.rawRepresentation)

        // A second create is refused and changes nothing.
        let before = try Data(contentsOf: URL(fileURLWithPath: privatePath))
        #expect(Self.refusal { _ = try HubKeySet.create(directory: directory, now: now) } == .alreadyExists)
        #expect(try Data(contentsOf: URL(fileURLWithPath: privatePath)) == before)

        // A private file that others may read is refused until it is 0600 again.
        chmod(privatePath, 0o644)
        #expect(Self.refusal { _ = try HubKeySet.load(directory: directory) } == .insecure)
        chmod(privatePath, 0o600)
        _ = try HubKeySet.load(directory: directory)

        // Another key's private file in its place is refused.
        let other = try CertificateFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: other) }
        try HubKeySet.create(directory: other, now: now)
        try FileManager.default.removeItem(atPath: privatePath)
        try FileManager.default.copyItem(atPath: other + "/key-2026-12-06-1.private.jwk", toPath: privatePath)
        #expect(Self.refusal { _ = try HubKeySet.load(directory: directory) } == .mismatch)
        // Its own file with another kid, or with an x that is not the public half of its d: malformed.
        let own = String(decoding: before, as: UTF8.self)
        let otherX = try #require(
            try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: privatePath))))["x"]?.stringValue)
        let ownX = try #require(try JSONParser.parse(Array(own.utf8))["x"]?.stringValue)
        for variant in [
            own.replacingOccurrences(of: "key-2026-12-06-1", with: "key-2026-12-06-9"),
            own.replacingOccurrences(of: ownX, with: otherX),
        ] {
            try FileManager.default.removeItem(atPath: privatePath)
            try KeyFile.createExclusive(at: privatePath, contents: Array(variant.utf8))
            #expect(
                Self.refusal { _ = try HubKeySet.load(directory: directory) } == .malformed, "\(variant.prefix(40))")
        }

        // No keys at all: a plain not-found.
        #expect(Self.refusal { _ = try HubKeySet.load(directory: folder + "/none") } == .notFound)
        #expect(Self.refusal { _ = try HubKeySet.rotate(directory: folder + "/none") } == .notFound)
        #expect(!FileManager.default.fileExists(atPath: folder + "/none"))
    }

    @Test("rotate keeps every public key, retires the old one and deletes its private file")
    func rotate() throws {
        let directory = try CertificateFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let day1 = try #require(Timestamp.parse("2026-12-06T08:00:00Z"))
        let day1Later = try #require(Timestamp.parse("2026-12-06T20:00:00Z"))
        let day2 = try #require(Timestamp.parse("2026-12-07T09:00:00Z"))
        let first = try HubKeySet.create(directory: directory, now: day1)
        let second = try HubKeySet.rotate(directory: directory, now: day1Later)
        #expect(second.current.id == "key-2026-12-06-2")
        #expect(second.retired.map(\.id) == ["key-2026-12-06-1"] && second.retired[0].retiredAt == day1Later)
        #expect(!second.retired[0].canSign)
        #expect(second.retired[0].publicKey.rawRepresentation == first.current.publicKey.rawRepresentation)
        let third = try HubKeySet.rotate(directory: directory, now: day2)
        #expect(third.current.id == "key-2026-12-07-1")
        #expect(third.retired.map(\.id) == ["key-2026-12-06-2", "key-2026-12-06-1"])

        let loaded = try HubKeySet.load(directory: directory)
        #expect(loaded.current.id == third.current.id && loaded.current.canSign)
        #expect(loaded.retired.map(\.id) == ["key-2026-12-06-2", "key-2026-12-06-1"])
        #expect(loaded.retired.allSatisfy { !$0.canSign && $0.retiredAt != nil })
        #expect(loaded.key(id: "key-2026-12-06-1")?.createdAt == day1)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files.filter { $0.hasSuffix(".private.jwk") } == ["key-2026-12-07-1.private.jwk"])
        #expect(!files.contains { $0.hasSuffix(".tmp") })
        let mode =
            try FileManager.default.attributesOfItem(atPath: directory + "/key-2026-12-07-1.private.jwk")[
                .posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
    }

    @Test("a crash between the new private file and the manifest leaves the old keys loading as before")
    func crashBeforeManifest() throws {
        let directory = try CertificateFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = try #require(Timestamp.parse("2026-12-06T08:00:00Z"))
        let first = try HubKeySet.create(directory: directory, now: now)
        // What a rotation had written when it stopped: the next key's private file, the manifest not yet replaced.
        let stray = HubKey.generate(id: "key-2026-12-06-2", createdAt: now)
        try KeyFile.createExclusive(at: directory + "/key-2026-12-06-2.private.jwk", contents: stray.privateJWK!)
        #expect(try HubKeySet.load(directory: directory).current.id == first.current.id)
        // The next rotation takes another id rather than trip over the leftover file.
        let rotated = try HubKeySet.rotate(directory: directory, now: now)
        #expect(rotated.current.id == "key-2026-12-06-3")
        #expect(try HubKeySet.load(directory: directory).current.id == "key-2026-12-06-3")
    }

    @Test("an ephemeral key set signs and has nothing retired")
    func ephemeral() {
        let keys = HubKeySet.ephemeral()
        #expect(keys.current.canSign && keys.retired.isEmpty && keys.keys.count == 1)
        #expect(keys.current.id.hasPrefix("key-") && keys.current.publicKeyMultibase.hasPrefix("z6Mk"))
    }

    @Test("a manifest that is not what it should be is refused in plain words")
    func malformedManifest() throws {
        let directory = try CertificateFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let now = try #require(Timestamp.parse("2026-12-06T08:00:00Z"))
        try HubKeySet.create(directory: directory, now: now)
        let path = directory + "/hub-keys.json"
        let good = try String(contentsOfFile: path, encoding: .utf8)
        let variants = [
            "not json",
            good.replacingOccurrences(of: "tongban-hub-keys/1", with: "other/1"),
            good.replacingOccurrences(of: "\"current\":\"key-2026-12-06-1\"", with: "\"current\":\"key-x\""),
            good.replacingOccurrences(of: "key-2026-12-06-1", with: "../escape"),
            good.replacingOccurrences(of: "\"z6Mk", with: "\"z6Mj"),
            good.replacingOccurrences(of: "\"created\":\"2026-12-06T08:00:00Z\"", with: "\"created\":\"yesterday\""),
        ]
        for variant in variants {
            try variant.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(
                Self.refusal { _ = try HubKeySet.load(directory: directory) } == .malformed, "\(variant.prefix(80))")
        }
    }
}
