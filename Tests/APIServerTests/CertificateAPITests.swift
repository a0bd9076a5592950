import API
import Certificates
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import APIServer

/// Certificates over a real socket: issued from the views, verified by this hub and by a verifier we did not write,
/// revoked and suspended by the issuing client, published in the status lists, shown on the public page.
@Suite("Certificates over HTTP", .serialized, .sharedMachine)
struct CertificateAPITests {
    static let base = "https://tongban.example.gov.cn"
    /// A reason longer than the 64 characters other free text is cut to: kept whole.
    static let longReason =
        "issued to the wrong applicant: the office confused two people of the same name, born the same year"

    /// A JSON request body.
    static func body(_ object: [String: Any]) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
    }

    @Test("#20 issue, verify, tamper, revoke, suspend; status lists and the page follow; no relation is refused")
    func issueVerifyRevoke() async throws {
        let population = try SignedPopulation.make(people: 40, seed: 91, anomalyRate: 0)
        let byID = Dictionary(population.expected.sample.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let person = try #require(
            population.expected.sample.first {
                guard let mother = $0.kinship.motherId else { return false }
                return byID[mother].map { !$0.identity.deceased } ?? true
            })
        let mother = try #require(person.kinship.motherId)
        let stranger = try #require(
            population.expected.sample.first { other in
                other.id != person.id && other.id != mother && !person.kinship.siblingIds.contains(other.id)
                    && !person.kinship.grandparentIds.contains(other.id) && other.kinship.motherId != person.id
                    && other.kinship.fatherId != person.id && person.kinship.fatherId != other.id
                    && !other.kinship.grandparentIds.contains(person.id)
                    && !person.kinship.marriages.contains { $0.spouseId == other.id }
            })
        let hub = try CertificateHub(keys: .ephemeral(), publicBaseURL: Self.base)
        try await APITestHarness.withServer(population, certificates: hub) { connection in
            var headers = connection.headers
            headers[.contentType] = "application/json"
            let issued = try await connection.send(
                .post, "/v1/certificates", headers: headers,
                body: try Self.body(["kind": "kinship", "subject": person.id, "relative": mother]))
            #expect(issued.status == .created, "\(issued.json)")
            let id = try #require(issued.json["id"] as? String)
            let credential = try #require(issued.json["credential"] as? [String: Any])
            let subject = try #require(credential["credentialSubject"] as? [String: Any])
            let answer = try #require(subject["answer"] as? [String: Any])
            let relations = try #require(answer["relations"] as? [[String: Any]])
            #expect(relations.contains { $0["relation"] as? String == "parent" && $0["basis"] as? String == "birth" })
            #expect((answer["relative"] as? [String: Any])?["citizenId"] as? String == mother)
            #expect(credential["issuer"] as? String == "did:web:tongban.example.gov.cn")
            #expect((credential["evidence"] as? [Any])?.isEmpty == false, "the certificate cites its evidence")
            let entries = try #require(credential["credentialStatus"] as? [[String: Any]])
            #expect(Set(entries.compactMap { $0["statusPurpose"] as? String }) == ["revocation", "suspension"])
            // Nothing beyond the answer: no household, no address.
            let claims = String(decoding: try JSONSerialization.data(withJSONObject: answer), as: UTF8.self)
            #expect(!claims.contains("household") && !claims.contains("address"), "\(claims)")

            // This hub verifies it.
            func verify(_ credential: [String: Any], lists: [[String: Any]] = []) async throws -> [String: Any] {
                var request: [String: Any] = ["credential": credential]
                if !lists.isEmpty { request["statusLists"] = lists }
                let reply = try await connection.send(
                    .post, "/v1/verify", headers: [.contentType: "application/json"], body: try Self.body(request))
                #expect(reply.status == .ok, "\(reply.json)")
                return reply.json
            }
            let verdict = try await verify(credential)
            #expect(verdict["verified"] as? Bool == true, "\(verdict)")
            // One changed character in a claim, or in the proof, and it does not.
            var tampered = credential
            var tamperedSubject = subject
            tamperedSubject["asOf"] = "2001-01-01"
            tampered["credentialSubject"] = tamperedSubject
            let refused = try await verify(tampered)
            #expect(refused["verified"] as? Bool == false)
            #expect(Self.failed(refused) == ["signature"], "\(refused)")

            // The status lists, the DID document and the key set are public.
            let revocationURL = try #require(
                entries.first { $0["statusPurpose"] as? String == "revocation" }?["statusListCredential"] as? String)
            let revocationPath = String(revocationURL.dropFirst(Self.base.count))
            let listBefore = try await connection.sendPublic(revocationPath)
            #expect(listBefore.status == .ok)
            let etag = try #require(listBefore.headers[.eTag])
            #expect(listBefore.headers[.cacheControl] == "public, max-age=30")
            let unchanged = try await connection.sendPublic(revocationPath, headers: [.ifNoneMatch: etag])
            #expect(unchanged.status == .notModified)
            let did = try await connection.sendPublic("/.well-known/did.json")
            #expect(did.json["id"] as? String == "did:web:tongban.example.gov.cn")
            let jwks = try await connection.sendPublic("/.well-known/jwks.json")
            #expect((jwks.json["keys"] as? [Any])?.count == 1)

            // The issuing client revokes it, with a reason.
            let revoked = try await connection.send(
                .post, "/v1/certificates/\(id)/status", headers: headers,
                body: try Self.body(["action": "revoke", "reason": Self.longReason]))
            #expect(revoked.status == .ok, "\(revoked.json)")
            #expect(revoked.json["status"] as? String == "revoked")
            let again = try await connection.send(
                .post, "/v1/certificates/\(id)/status", headers: headers,
                body: try Self.body(["action": "reinstate", "reason": "try"]))
            #expect(again.status == .conflict, "a revocation is final")
            let listAfter = try await connection.sendPublic(revocationPath)
            #expect(listAfter.headers[.eTag] != etag, "the list changed")
            #expect(try await connection.sendPublic(revocationPath, headers: [.ifNoneMatch: etag]).status == .ok)
            let indexText = try #require(entries.first?["statusListIndex"] as? String)
            let index = try #require(Int(indexText))
            let listCredential = try #require(listAfter.json["credentialSubject"] as? [String: Any])
            let encoded = try #require(listCredential["encodedList"] as? String)
            let bits = try BitstringStatusList.decode(encodedList: encoded)
            #expect(try bits.bit(at: index), "the revocation bit is set")
            let afterRevocation = try await verify(credential)
            #expect(afterRevocation["verified"] as? Bool == false)
            #expect(Self.failed(afterRevocation) == ["status"])
            #expect(
                (afterRevocation["status"] as? [String: Any])?["reason"] as? String == Self.longReason)
            // With the list handed in (as an offline verifier holds it), the same.
            let withList = try await verify(credential, lists: [listAfter.json])
            #expect(Self.failed(withList) == ["status"])

            // The page shows it revoked, with every ID masked.
            let page = try await connection.send(.get, "/verify/\(id)", headers: [:])
            #expect(page.status == .ok)
            #expect(page.text.contains("已撤销"))
            #expect(!page.text.contains(person.id) && !page.text.contains(mother), "no whole ID on the page")
            #expect(page.text.contains(CitizenIDMasking.mask(person.id)))
            let missing = try await connection.send(.get, "/verify/\(UUID().uuidString.lowercased())", headers: [:])
            #expect(missing.status == .notFound)

            // Suspended, then reinstated: the suspension bit follows.
            let second = try await connection.send(
                .post, "/v1/certificates", headers: headers,
                body: try Self.body(["kind": "kinship", "subject": person.id, "relative": mother]))
            let secondID = try #require(second.json["id"] as? String)
            let secondCredential = try #require(second.json["credential"] as? [String: Any])
            for (action, verified) in [("suspend", false), ("reinstate", true)] {
                let changed = try await connection.send(
                    .post, "/v1/certificates/\(secondID)/status", headers: headers,
                    body: try Self.body(["action": action, "reason": "checking the applicant's papers"]))
                #expect(changed.status == .ok, "\(changed.json)")
                #expect(try await verify(secondCredential)["verified"] as? Bool == verified, "\(action)")
            }

            // No relation: nothing to certify.
            let none = try await connection.send(
                .post, "/v1/certificates", headers: headers,
                body: try Self.body(["kind": "kinship", "subject": person.id, "relative": stranger.id]))
            #expect(none.status == .unprocessableContent, "\(none.json)")
            #expect(none.json["code"] as? String == "nothing-to-certify")
            // Another client's certificate is not this one's to see.
            let unknown = try await connection.send(
                .get, "/v1/certificates/\(UUID().uuidString.lowercased())", headers: connection.headers)
            #expect(unknown.status == .notFound)
        }
    }

    /// The names of the checks a verdict failed.
    static func failed(_ verdict: [String: Any]) -> [String] {
        ((verdict["checks"] as? [[String: Any]]) ?? []).filter { $0["passed"] as? Bool == false }
            .compactMap { $0["check"] as? String }
    }
}
