import Events
import Foundation
import Testing
import TongbanTesting

@testable import Certificates

/// Another implementation checks what we sign: openvc-core (`pip install openvc-core`, which `.ci/run` does;
/// `TONGBAN_TEST_PYTHON` names the interpreter, default `python3`), a pure-Python verifier of W3C credentials with
/// its own JCS, base58, did:web resolver and Bitstring Status List decoder. It is given nothing but files: the DID
/// document (served to its did:web resolver from memory, no network), the credentials and the status lists.
/// Without it the test fails, saying what to install: a check that did not run is not a check that passed.
@Suite("Certificates and openvc-core", .sharedMachine)
struct OpenVCCrossCheckTests {
    static let script = #"""
        import json, os, sys
        try:
            from openvc.did.base import DidResolverRegistry
            from openvc.did.did_web import DidWebResolver
            from openvc.errors import OpenvcError
            from openvc.proof.di_jcs import EddsaJcsProofSuite
            from openvc.status.bitstring import decode_bitstring, get_status_bit
            from openvc.verify import VerificationPolicy, verify_credential
        except ImportError as error:
            print(json.dumps({"unavailable": "openvc-core is not installed (%s)" % error}))
            sys.exit(0)

        given = json.load(sys.stdin)
        folder = given["folder"]
        def read(name):
            with open(os.path.join(folder, name), encoding="utf-8") as file:
                return json.load(file)

        did_document = read("did.json")
        fetched = []
        def fetch(url):  # the only document there is, served from memory
            fetched.append(url)
            if url != given["didDocumentURL"]:
                raise OpenvcError("no document at %s" % url)
            return did_document
        resolver = DidResolverRegistry([DidWebResolver(fetch)])

        suite = EddsaJcsProofSuite()
        proofs = {}
        for name in given["credentials"]:
            try:
                result = suite.verify(read(name), resolver=resolver)
                proofs[name] = "valid:" + result.proof["verificationMethod"]
            except OpenvcError as error:
                proofs[name] = "invalid:%s: %s" % (type(error).__name__, error)

        lists = {url: read(name) for url, name in given["statusLists"].items()}
        def resolve_status_list(url):  # verified before it is trusted, as openvc's own resolver does
            credential = lists[url]
            verify_credential(credential, resolver=resolver, policy=VerificationPolicy(require_status=False))
            return credential

        pipeline = {}
        for name in given["pipeline"]:
            try:
                result = verify_credential(read(name), resolver=resolver, resolve_status_list=resolve_status_list)
                pipeline[name] = "valid revoked=%s suspended=%s" % (result.status.revoked, result.status.suspended)
            except OpenvcError as error:
                pipeline[name] = "invalid:%s" % type(error).__name__

        bits = {}
        for url, credential in lists.items():
            decoded = decode_bitstring(credential["credentialSubject"]["encodedList"])
            bits[url] = {"length": len(decoded) * 8,
                         "set": [i for i in range(len(decoded) * 8) if decoded[i // 8] and get_status_bit(decoded, i)]}

        print(json.dumps({"proofs": proofs, "pipeline": pipeline, "bits": bits, "fetched": sorted(set(fetched))}))
        """#

    struct Answer: Decodable {
        var unavailable: String?
        var proofs: [String: String]?
        var pipeline: [String: String]?
        var bits: [String: Bits]?
        var fetched: [String]?

        struct Bits: Decodable {
            var length: Int
            var set: [Int]
        }
    }

    @Test("openvc verifies our certificates (one signed by a retired key), refuses a changed one, reads our lists")
    func crossCheck() async throws {
        let folder = try CertificateFixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let web = try DIDWeb(baseURL: "https://hub.example.gov.cn")
        let keysFolder = folder + "/keys"
        let now = Date()
        let validFrom = now.addingTimeInterval(-3600)
        let validUntil = now.addingTimeInterval(90 * 86_400)
        let revocationURL = "https://hub.example.gov.cn/v1/status-lists/1"
        let suspensionURL = "https://hub.example.gov.cn/v1/status-lists/2"

        func certificate(_ id: String, index: Int) -> JSONObject {
            JSONObject([
                ("@context", ["https://www.w3.org/ns/credentials/v2"]),
                ("id", .string("urn:uuid:\(id)")),
                ("type", ["VerifiableCredential", "KinshipCertificate"]),
                ("issuer", .string(web.did)),
                ("validFrom", .string(Timestamp.format(validFrom))),
                ("validUntil", .string(Timestamp.format(validUntil))),
                (
                    "credentialSubject",
                    [
                        "id": "urn:tongban:citizen:110101199003071234", "relation": "母亲 (mother)",
                        "note": "tab\there \"quoted\" \\ \u{1}", "offset": 123_456_789,
                    ]
                ),
                (
                    "credentialStatus",
                    [
                        .object(
                            BitstringStatusList.entry(
                                statusListCredential: revocationURL, index: index, statusPurpose: .revocation)),
                        .object(
                            BitstringStatusList.entry(
                                statusListCredential: suspensionURL, index: index, statusPurpose: .suspension)),
                    ]
                ),
            ])
        }
        func sign(_ document: JSONObject, _ keys: HubKeySet) throws -> JSONObject {
            try DataIntegrity.sign(
                document: document, with: keys.current, verificationMethod: web.verificationMethod(for: keys.current),
                created: now)
        }
        func write(_ document: JSONObject, _ name: String) throws {
            try Data(JSONValue.object(document).serialized).write(to: URL(fileURLWithPath: folder + "/" + name))
        }

        // Before the rotation: a certificate whose revocation bit will be set, and one revoked by nothing.
        let before = try HubKeySet.create(directory: keysFolder)
        let revokedIndex = 70_001
        let cleanIndex = 99_999
        try write(
            try sign(certificate("a0000000-0000-4000-8000-000000000001", index: revokedIndex), before), "old.json")
        let after = try HubKeySet.rotate(directory: keysFolder)
        let new = try sign(certificate("a0000000-0000-4000-8000-000000000002", index: cleanIndex), after)
        try write(new, "new.json")
        // One changed byte in a claim (the relation) of a signed certificate.
        var changed = Array(JSONValue.object(new).serialized)
        let relation = Array("(mother)".utf8)
        let at = try #require(
            changed.indices.first { changed[$0..<min(changed.count, $0 + relation.count)].elementsEqual(relation) })
        changed[at + 1] = UInt8(ascii: "f")  // (father)
        try Data(changed).write(to: URL(fileURLWithPath: folder + "/changed.json"))

        // Status lists, signed by the current key, bits set at random (and the revoked certificate's).
        var generator = SeededGenerator(seed: 20_261_206)
        var revocation = try BitstringStatusList()
        var suspension = try BitstringStatusList(bitCount: 2 * BitstringStatusList.minimumBitCount)
        var revokedBits: Set<Int> = [revokedIndex, 0, 7, 8, revocation.bitCount - 1]
        var suspendedBits: Set<Int> = []
        while revokedBits.count < 300 { revokedBits.insert(Int.random(in: 0..<revocation.bitCount, using: &generator)) }
        while suspendedBits.count < 300 {
            let index = Int.random(in: 0..<suspension.bitCount, using: &generator)
            if index != revokedIndex && index != cleanIndex { suspendedBits.insert(index) }
        }
        revokedBits.remove(cleanIndex)
        for index in revokedBits { try revocation.setBit(true, at: index) }
        for index in suspendedBits { try suspension.setBit(true, at: index) }
        for (list, url, purpose, name) in [
            (revocation, revocationURL, StatusPurpose.revocation, "revocation.json"),
            (suspension, suspensionURL, StatusPurpose.suspension, "suspension.json"),
        ] {
            let credential = try list.statusListCredential(
                id: url, issuer: web.did, statusPurpose: purpose, validFrom: validFrom,
                validUntil: now.addingTimeInterval(300))
            try write(try sign(credential, after), name)
        }

        // The DID document, as served after the rotation.
        let document = web.didDocument(for: try HubKeySet.load(directory: keysFolder))
        try Data(document.serialized).write(to: URL(fileURLWithPath: folder + "/did.json"))

        let input: [String: Any] = [
            "folder": folder,
            "didDocumentURL": "https://hub.example.gov.cn" + web.documentPath,
            "credentials": ["old.json", "new.json", "changed.json", "revocation.json", "suspension.json"],
            "pipeline": ["old.json", "new.json"],
            "statusLists": [revocationURL: "revocation.json", suspensionURL: "suspension.json"],
        ]
        let output = try await Self.python(
            Self.script, input: String(decoding: try JSONSerialization.data(withJSONObject: input), as: UTF8.self))
        let answer = try JSONDecoder().decode(Answer.self, from: Data(output.utf8))
        if let unavailable = answer.unavailable {
            Issue.record("\(unavailable): pip install openvc-core (.ci/run does), or set TONGBAN_TEST_PYTHON")
            return
        }
        let proofs = try #require(answer.proofs)
        #expect(proofs["old.json"] == "valid:" + web.verificationMethod(for: before.current))
        #expect(proofs["new.json"] == "valid:" + web.verificationMethod(for: after.current))
        #expect(proofs["revocation.json"] == "valid:" + web.verificationMethod(for: after.current))
        #expect(proofs["suspension.json"] == "valid:" + web.verificationMethod(for: after.current))
        #expect(proofs["changed.json"]?.hasPrefix("invalid:SignatureInvalid") == true, "\(proofs)")
        // And we agree about the changed one.
        let ours = DataIntegrity.verify(try #require(JSONParser.parse(changed).objectValue)) {
            web.publicKey(for: $0, in: after)
        }
        #expect(ours.failure == .signatureMismatch)

        // The whole pipeline (proof, dates, status): the old certificate is revoked by its bit, the new one is not.
        #expect(answer.pipeline?["old.json"] == "invalid:CredentialRevoked", "\(answer.pipeline ?? [:])")
        #expect(answer.pipeline?["new.json"] == "valid revoked=False suspended=False", "\(answer.pipeline ?? [:])")

        // openvc's decoder reads exactly the bits our encoder set.
        #expect(answer.bits?[revocationURL]?.length == revocation.bitCount)
        #expect(answer.bits?[revocationURL].map { Set($0.set) } == revokedBits)
        #expect(answer.bits?[suspensionURL]?.length == suspension.bitCount)
        #expect(answer.bits?[suspensionURL].map { Set($0.set) } == suspendedBits)
        #expect(answer.fetched == ["https://hub.example.gov.cn/.well-known/did.json"])
    }

    /// Runs a Python script with `input` on its standard input, without blocking a thread while it runs.
    static func python(_ script: String, input: String) async throws -> String {
        let interpreter = ProcessInfo.processInfo.environment["TONGBAN_TEST_PYTHON"] ?? "python3"
        let result = try await TestProcess.run("/usr/bin/env", [interpreter, "-c", script], input: input)
        try #require(result.status != 127, "\(interpreter) is not installed")
        try #require(result.status == 0, "\(interpreter) failed with status \(result.status): \(result.errors)")
        return result.output
    }
}
