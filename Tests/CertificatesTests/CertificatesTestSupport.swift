import Crypto
import Events
import Foundation
import Testing

@testable import Certificates

/// Fixtures shared by the certificate tests.
enum CertificateFixtures {
    /// A fresh folder under the temporary directory (the caller removes it).
    static func temporaryFolder() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-certificates-\(UUID())")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// A certificate as the hub would issue it: Chinese text, numbers, nested objects, status entries.
    static func credential(issuer: String, id: String = "urn:uuid:6f1f4a52-0c49-4d1e-9a36-1f0d6ad9f3a1") -> JSONObject {
        let list = "https://hub.example.gov.cn/v1/status-lists/1"
        return JSONObject([
            ("@context", ["https://www.w3.org/ns/credentials/v2"]),
            ("id", .string(id)),
            ("type", ["VerifiableCredential", "KinshipCertificate"]),
            ("name", "亲属关系证明 Kinship certificate"),
            ("issuer", .string(issuer)),
            ("validFrom", "2026-12-06T08:30:00Z"),
            ("validUntil", "2027-03-06T08:30:00Z"),
            (
                "credentialSubject",
                [
                    "id": "urn:tongban:citizen:110101199003071234",
                    "relation": "parent",
                    "relative": "urn:tongban:citizen:110101201501011236",
                    "since": "2015-01-01",
                    "note": "母亲 \"quoted\" \\ back\u{1}slash",
                ]
            ),
            (
                "evidence",
                [
                    [
                        "type": "TongbanEvent", "eventId": "3c1c4f0e-8f1b-4b7e-9d5f-5b8c2a1e7f10",
                        "department": "household", "partition": 3, "offset": 123_456_789,
                    ]
                ]
            ),
            (
                "credentialStatus",
                [
                    .object(
                        BitstringStatusList.entry(statusListCredential: list, index: 4242, statusPurpose: .revocation)),
                    .object(
                        BitstringStatusList.entry(statusListCredential: list, index: 4242, statusPurpose: .suspension)),
                ]
            ),
        ])
    }

    /// A verifier's view of a DID document: the key of each verification method listed for `assertionMethod`.
    static func keys(fromDIDDocument document: JSONValue) -> [String: Curve25519.Signing.PublicKey] {
        let asserting = Set((document["assertionMethod"]?.arrayValue ?? []).compactMap(\.stringValue))
        var keys: [String: Curve25519.Signing.PublicKey] = [:]
        for method in document["verificationMethod"]?.arrayValue ?? [] {
            guard let id = method["id"]?.stringValue, asserting.contains(id), method["type"] == "Multikey",
                method["controller"] == document["id"],
                let key = method["publicKeyMultibase"]?.stringValue.flatMap(Multikey.decode)
            else { continue }
            keys[id] = key
        }
        return keys
    }

    /// Bytes from hexadecimal text.
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }
}

/// A small seeded generator (SplitMix64), so that a failing random case can be run again.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
