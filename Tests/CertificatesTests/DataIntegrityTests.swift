import Crypto
import Events
import Foundation
import Testing
import TongbanTesting

@testable import Certificates

@Suite("Data Integrity eddsa-jcs-2022", .sharedMachine)
struct DataIntegrityTests {
    /// The test vector of the W3C Data Integrity EdDSA Cryptosuites specification for eddsa-jcs-2022: its key
    /// (private multibase `z3u2en7t…`), its unsigned credential, its proof options, and what it computes.
    enum W3CVector {
        static let privateKeyMultibase = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
        static let verificationMethod =
            "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
        static let created = "2023-02-24T23:36:38Z"
        static let unsigned: JSONObject = JSONObject([
            ("@context", ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"]),
            ("id", "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33"),
            ("type", ["VerifiableCredential", "AlumniCredential"]),
            ("name", "Alumni Credential"),
            ("description", "A minimum viable example of an Alumni Credential."),
            ("issuer", "https://vc.example/issuers/5678"),
            ("validFrom", "2023-01-01T00:00:00Z"),
            ("credentialSubject", ["id": "did:example:abcdefgh", "alumniOf": "The School of Examples"]),
        ])
        static let combinedHash =
            "66ab154f5c2890a140cb8388a22a160454f80575f6eae09e5a097cabe539a1db"
            + "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19"
        static let proofValue =
            "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"

        static func key() throws -> HubKey {
            let seed = try Multibase.decode(privateKeyMultibase).dropFirst(2)
            let privateKey = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            return HubKey(
                id: "w3c", publicKey: privateKey.publicKey, createdAt: Date(), retiredAt: nil, privateKey: privateKey)
        }
    }

    @Test("the W3C test vector: the same hash data, the same proof value, and its signed credential verifies")
    func w3cVector() throws {
        let key = try W3CVector.key()
        let created = try #require(Timestamp.parse(W3CVector.created))
        let signed = try DataIntegrity.sign(
            document: W3CVector.unsigned, with: key, verificationMethod: W3CVector.verificationMethod, created: created)
        let proof = try #require(signed["proof"]?.objectValue)
        #expect(
            proof.keys == [
                "type", "cryptosuite", "created", "verificationMethod", "proofPurpose", "@context", "proofValue",
            ])
        #expect(proof["created"] == .string(W3CVector.created))
        var configuration = proof
        configuration["proofValue"] = nil
        let hash = try DataIntegrity.hashData(document: W3CVector.unsigned, proofConfiguration: configuration)
        #expect(hash == CertificateFixtures.hex(W3CVector.combinedHash))
        #if os(Linux)
            // swift-crypto on Linux signs as RFC 8032 says (deterministic); CryptoKit adds randomness.
            #expect(proof["proofValue"] == .string(W3CVector.proofValue))
        #endif
        // The specification's own signed credential verifies here.
        var theirs = signed
        var theirProof = proof
        theirProof["proofValue"] = .string(W3CVector.proofValue)
        theirs["proof"] = .object(theirProof)
        let verdict = DataIntegrity.verify(theirs) { $0 == W3CVector.verificationMethod ? key.publicKey : nil }
        #expect(verdict.isValid, "\(verdict)")
    }

    @Test("sign then verify; the verdict names the method")
    func roundTrip() throws {
        let keys = HubKeySet.ephemeral()
        let web = try DIDWeb(baseURL: "https://hub.example.gov.cn")
        let credential = CertificateFixtures.credential(issuer: web.did)
        let signed = try DataIntegrity.sign(
            document: credential, with: keys.current, verificationMethod: web.verificationMethod(for: keys.current),
            created: Date())
        var unsigned = signed
        unsigned["proof"] = nil
        #expect(unsigned == credential)
        let verdict = DataIntegrity.verify(signed) { web.publicKey(for: $0, in: keys) }
        #expect(verdict.isValid && verdict.failure == nil, "\(verdict)")
        #expect(verdict.verificationMethod == web.verificationMethod(for: keys.current))

        // Members in another order, as another program would write them: the same canonical form.
        let reordered = JSONObject(signed.members.reversed())
        #expect(DataIntegrity.verify(reordered) { web.publicKey(for: $0, in: keys) }.isValid)

        // Signing is refused for a document that has a proof, and for a retired key.
        #expect(throws: DataIntegrityError.self) {
            try DataIntegrity.sign(document: signed, with: keys.current, verificationMethod: "x", created: Date())
        }
        #expect(throws: DataIntegrityError.self) {
            try DataIntegrity.sign(
                document: credential, with: keys.current.retired(at: Date()), verificationMethod: "x", created: Date())
        }
    }

    @Test("one changed letter or digit anywhere (a claim, a member name, the proof) and the proof fails")
    func everyByteMatters() throws {
        let keys = HubKeySet.ephemeral()
        let web = try DIDWeb(baseURL: "https://hub.example.gov.cn")
        let signed = try DataIntegrity.sign(
            document: CertificateFixtures.credential(issuer: web.did), with: keys.current,
            verificationMethod: web.verificationMethod(for: keys.current), created: Date())
        let bytes = JSONValue.object(signed).serialized
        var checked = 0
        var failures: [DataIntegrityVerdict.Failure: Int] = [:]
        for index in bytes.indices {
            let byte = bytes[index]
            let replacement: UInt8
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "y"), UInt8(ascii: "A")...UInt8(ascii: "Y"),
                UInt8(ascii: "0")...UInt8(ascii: "8"):
                replacement = byte + 1
            case UInt8(ascii: "z"), UInt8(ascii: "Z"), UInt8(ascii: "9"): replacement = byte - 1
            default: continue
            }
            var changed = bytes
            changed[index] = replacement
            guard let object = (try? JSONParser.parse(changed))?.objectValue else { continue }
            checked += 1
            let verdict = DataIntegrity.verify(object) { web.publicKey(for: $0, in: keys) }
            #expect(!verdict.isValid, "changing byte \(index) went unnoticed")
            if let failure = verdict.failure { failures[failure, default: 0] += 1 }
        }
        #expect(checked > 800)
        // Each kind of change is caught by the check meant for it.
        #expect(failures[.signatureMismatch, default: 0] > 500)
        #expect(failures[.noProof] != nil && failures[.wrongType] != nil && failures[.wrongCryptosuite] != nil)
        #expect(failures[.wrongProofPurpose] != nil && failures[.unknownVerificationMethod] != nil)
        // The proofValue's multibase prefix `z` changed to `y` is no base58btc text at all.
        #expect(failures[.malformedProofValue] != nil)
    }

    @Test("each refusal says what failed")
    func refusals() throws {
        let keys = HubKeySet.ephemeral()
        let web = try DIDWeb(baseURL: "https://hub.example.gov.cn")
        let method = web.verificationMethod(for: keys.current)
        let signed = try DataIntegrity.sign(
            document: CertificateFixtures.credential(issuer: web.did), with: keys.current, verificationMethod: method,
            created: Date())
        let lookup: (String) -> Curve25519.Signing.PublicKey? = { web.publicKey(for: $0, in: keys) }
        func verdict(_ change: (inout JSONObject) -> Void) -> DataIntegrityVerdict {
            var document = signed
            change(&document)
            return DataIntegrity.verify(document, keys: lookup)
        }
        func proof(_ change: (inout JSONObject) -> Void) -> DataIntegrityVerdict {
            verdict { document in
                var proof = document["proof"]!.objectValue!
                change(&proof)
                document["proof"] = .object(proof)
            }
        }
        #expect(verdict { $0["proof"] = nil }.failure == .noProof)
        #expect(verdict { $0["proof"] = [$0["proof"]!] }.failure == .malformedProof)
        #expect(proof { $0["type"] = "Ed25519Signature2020" }.failure == .wrongType)
        #expect(proof { $0["cryptosuite"] = "eddsa-rdfc-2022" }.failure == .wrongCryptosuite)
        #expect(proof { $0["proofPurpose"] = "authentication" }.failure == .wrongProofPurpose)
        #expect(proof { $0["verificationMethod"] = nil }.failure == .malformedProof)
        #expect(proof { $0["created"] = "yesterday" }.failure == .malformedProof)
        #expect(proof { $0["@context"] = ["https://example.org/other"] }.failure == .malformedProof)
        #expect(proof { $0["verificationMethod"] = "did:web:evil.example#key-1" }.failure == .unknownVerificationMethod)
        #expect(proof { $0["proofValue"] = nil }.failure == .malformedProofValue)
        #expect(
            proof { $0["proofValue"] = .string("u" + String(repeating: "A", count: 86)) }.failure
                == .malformedProofValue)
        #expect(proof { $0["proofValue"] = "z0000" }.failure == .malformedProofValue)
        #expect(
            proof { $0["proofValue"] = .string("z" + Base58.encode([UInt8](repeating: 7, count: 63))) }.failure
                == .malformedProofValue)
        #expect(
            proof { $0["proofValue"] = .string("z" + String(repeating: "2", count: 5000)) }.failure
                == .malformedProofValue)
        #expect(proof { $0["created"] = "2020-01-01T00:00:00Z" }.failure == .signatureMismatch)
        #expect(verdict { $0["extra"] = "added after signing" }.failure == .signatureMismatch)
        #expect(verdict { $0["ratio"] = .number("1.5") }.failure == .notCanonicalizable)
        let mismatch = verdict { $0["name"] = "另一个证明" }
        #expect(mismatch.failure == .signatureMismatch && mismatch.reason.contains("does not match"))
        // A key from another hub, under this hub's method name.
        let other = HubKeySet.ephemeral()
        #expect(DataIntegrity.verify(signed) { _ in other.current.publicKey }.failure == .signatureMismatch)
    }

    @Test("a certificate signed before a rotation verifies from the DID document published after it")
    func retiredKeyStillVerifies() throws {
        let directory = try CertificateFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let web = try DIDWeb(baseURL: "https://hub.example.gov.cn")
        let before = try HubKeySet.create(directory: directory)
        let old = try DataIntegrity.sign(
            document: CertificateFixtures.credential(issuer: web.did), with: before.current,
            verificationMethod: web.verificationMethod(for: before.current), created: Date())
        let after = try HubKeySet.rotate(directory: directory)
        #expect(after.current.id != before.current.id)
        let new = try DataIntegrity.sign(
            document: CertificateFixtures.credential(issuer: web.did, id: "urn:uuid:2"), with: after.current,
            verificationMethod: web.verificationMethod(for: after.current), created: Date())

        // A verifier that knows only the DID document served after the rotation.
        let document = try JSONParser.parse(web.didDocument(for: try HubKeySet.load(directory: directory)).serialized)
        let published = CertificateFixtures.keys(fromDIDDocument: document)
        for signed in [old, new] {
            let verdict = DataIntegrity.verify(signed) { published[$0] }
            #expect(verdict.isValid, "\(verdict)")
        }
        #expect(
            DataIntegrity.verify(old) { published[$0] }.verificationMethod
                == web.verificationMethod(for: before.current))
        // Had the old key been dropped from the document, the old certificate would no longer verify.
        var withoutOld = published
        withoutOld[web.verificationMethod(for: before.current)] = nil
        #expect(DataIntegrity.verify(old) { withoutOld[$0] }.failure == .unknownVerificationMethod)
    }
}
