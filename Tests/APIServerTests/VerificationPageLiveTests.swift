import Certificates
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import Synchronization
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import APIServer

/// The verification page of a certificate the running server issued, as a real browser (chromium) gets it from the
/// server's socket: the status, the Chinese, the masked IDs and the relation in the DOM; the QR code in a screenshot,
/// read by zbarimg, is the certificate's verification URL; the A4 print; the page's response headers; then revoked,
/// the same page says so and why. Two browser launches.
@Suite(
    "#20 verification page live: chromium on the running server's page, its headers, its QR code, revoked",
    .sharedMachine)
struct VerificationPageLiveTests {
    static let base = "https://tongban.example.gov.cn"

    /// A4 in PostScript points (210 mm × 297 mm). Chromium prints on US Letter (612 × 792) unless the page asks
    /// otherwise, so a PDF of this size shows the page's `@page { size: A4 }` took effect.
    static let a4 = (width: 595.28, height: 841.89)

    @Test("Issue a kinship certificate, open /verify/{id} in chromium: valid, masked, its QR code; revoke: 已撤销 and why")
    func liveValidThenRevoked() async throws {
        let population = try SignedPopulation.make(people: 40, seed: 20, anomalyRate: 0)
        let byID = Dictionary(population.expected.sample.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        // A living child whose living mother is in the ground truth too (her name is on the page).
        let child = try #require(
            population.expected.sample.first {
                guard !$0.identity.deceased, let mother = $0.kinship.motherId.flatMap({ byID[$0] }) else {
                    return false
                }
                return !mother.identity.deceased
            })
        let mother = try #require(child.kinship.motherId.flatMap { byID[$0] })
        let hub = try CertificateHub(keys: .ephemeral(), publicBaseURL: Self.base)
        try await APITestHarness.withServer(population, certificates: hub) { connection in
            let port = try #require(connection.client.port, "the live test client knows the server's port")
            var headers = connection.headers
            headers[.contentType] = "application/json"
            let issued = try await connection.send(
                .post, "/v1/certificates", headers: headers,
                body: try CertificateAPITests.body(["kind": "kinship", "subject": child.id, "relative": mother.id]))
            #expect(issued.status == .created, "\(issued.json)")
            let id = try #require(issued.json["id"] as? String)
            let verificationURL = try #require(issued.json["verificationUrl"] as? String)
            #expect(verificationURL == "\(Self.base)/verify/\(id)")
            // The names the page words the relation with are the registers' names, the ground truth's.
            let credential = try #require(issued.json["credential"] as? [String: Any])
            let answer = try #require(
                (credential["credentialSubject"] as? [String: Any])?["answer"] as? [String: Any])
            #expect((answer["subject"] as? [String: Any])?["name"] as? String == child.identity.name)
            #expect((answer["relative"] as? [String: Any])?["name"] as? String == mother.identity.name)
            // Only the pages get their headers.
            #expect(issued.headers[.contentSecurityPolicy] == nil && issued.headers[.xContentTypeOptions] == nil)

            // The page's headers, as a client on the socket gets them (recorded: audited and contract-checked).
            let page = try await connection.send(.get, "/verify/\(id)", headers: [:])
            #expect(page.status == .ok)
            Self.expectPageHeaders(page.headers)
            let unknown = try await connection.send(.get, "/verify/\(UUID().uuidString.lowercased())", headers: [:])
            #expect(unknown.status == .notFound)
            Self.expectPageHeaders(unknown.headers)
            // A problem under /verify/ (no such route) keeps its media type and its no-store. The contract has no such
            // path, so the reply is counted for the audit check but not recorded for the contract check.
            connection.recorder.count.add(1, ordering: .relaxed)
            let problem = try await connection.sendPublic("/verify/\(id)/more")
            #expect(problem.status == .notFound && problem.json["code"] as? String == "no-such-endpoint")
            Self.expectPageHeaders(problem.headers, contentType: "application/problem+json", cacheControl: "no-store")

            // First launch: the DOM, a screenshot and the A4 print of the running server's page.
            let browser = try HeadlessBrowser()
            let pageURL = try #require(URL(string: "http://127.0.0.1:\(port)/verify/\(id)"))
            let valid = try await Self.browse(connection, auditedAs: "verify-page 200 answered valid \(id)") {
                try await browser.capture(of: pageURL, width: 1000, height: 1200, printToPDF: true)
            }
            let status = try VerificationPageTests.startTag(id: "status", in: valid.dom)
            #expect(status.contains("data-status=\"valid\"") && status.contains("data-validity=\"current\""))
            let box = try VerificationPageTests.statusBox(in: valid.dom)
            #expect(box.contains("有效 <span") && !box.contains("已撤销"), "\(box)")
            #expect(valid.dom.contains("<html lang=\"zh-CN\">") && valid.dom.contains("亲属关系证明"))
            #expect(valid.dom.contains(id), "the certificate's number")
            Self.expectMasked([child.id, mother.id], in: valid.dom)
            #expect(
                valid.dom.contains("\(mother.identity.name)是\(child.identity.name)的母亲（亲生）。"), "the relation")
            #expect(valid.dom.contains("\(mother.identity.name) is \(child.identity.name)'s mother (by birth)."))
            #expect(!valid.dom.contains("<script"))
            #expect(try await HeadlessBrowser.decodeQRCodes(png: valid.png) == [verificationURL])
            try Self.expectOneA4Page(try #require(valid.pdf))

            // Revoked by the issuing client, with a reason; the second launch reads the page again.
            let reason = "申请人提交的材料有误 / papers submitted in error"
            let revoked = try await connection.send(
                .post, "/v1/certificates/\(id)/status", headers: headers,
                body: try CertificateAPITests.body(["action": "revoke", "reason": reason]))
            #expect(revoked.status == .ok, "\(revoked.json)")
            let after = try await Self.browse(connection, auditedAs: "verify-page 200 answered revoked \(id)") {
                try await browser.dumpDOM(of: pageURL)
            }
            #expect(try VerificationPageTests.startTag(id: "status", in: after).contains("data-status=\"revoked\""))
            let revokedBox = try VerificationPageTests.statusBox(in: after)
            #expect(revokedBox.contains("已撤销") && revokedBox.contains("Revoked"), "\(revokedBox)")
            #expect(!revokedBox.contains("有效 <span"))
            #expect(revokedBox.contains("<dd class=\"reason\">\(reason)</dd>"), "\(revokedBox)")
            Self.expectMasked([child.id, mother.id], in: after)
        }
    }

    /// Runs a browser load of a page and checks what it added to the audit log: exactly one row, `expected`
    /// (`question status outcome summary`), and nothing else (no favicon or other request). The browser's request is
    /// counted with the harness's, so the harness's check that every request is audited still adds up.
    static func browse<T>(
        _ connection: APITestHarness.Connection, auditedAs expected: String, _ load: () async throws -> T
    ) async throws -> T {
        let before = try await connection.database.query("SELECT coalesce(max(seq), 0) FROM tongban.audit_log")[0]
            .decode(Int.self, at: 0)
        let result = try await load()
        let rows = try await connection.database.query(
            """
            SELECT format('%s %s %s %s', question, status, outcome, answer_summary)
            FROM tongban.audit_log WHERE seq > \(before) ORDER BY seq
            """)
        let added = try rows.map { try $0.decode(String.self, at: 0) }
        #expect(added == [expected], "what the browser's visit added to the audit log")
        connection.recorder.count.add(added.count, ordering: .relaxed)
        return result
    }

    /// The headers of every response under `/verify/`.
    static func expectPageHeaders(
        _ headers: HTTPFields, contentType: String = "text/html; charset=utf-8", cacheControl: String = "no-cache"
    ) {
        #expect(
            headers[.contentSecurityPolicy]
                == "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
                + "frame-ancestors 'none'")
        #expect(headers[.xContentTypeOptions] == "nosniff")
        #expect(headers[.cacheControl] == cacheControl)
        #expect(headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
        #expect(headers[.contentType] == contentType)
    }

    /// The people's IDs are on the page masked, and nowhere whole.
    static func expectMasked(_ ids: [String], in dom: String) {
        for id in ids {
            #expect(dom.contains(CitizenIDMasking.mask(id)), "\(CitizenIDMasking.mask(id)) is on the page")
            #expect(!dom.contains(id), "a whole ID is on the page")
        }
    }

    /// The PDF is one page, A4 (within a point).
    static func expectOneA4Page(_ pdf: Data) throws {
        let text = String(decoding: pdf, as: Unicode.ASCII.self)
        #expect(text.hasPrefix("%PDF-"))
        let boxes = text.matches(of: try Regex("/MediaBox \\[0 0 ([0-9.]+) ([0-9.]+)\\]"))
        #expect(!boxes.isEmpty, "the PDF names its paper")
        for box in boxes {
            let size = (1...2).compactMap { box.output[$0].substring.flatMap { Double($0) } }
            try #require(size.count == 2, "a MediaBox that is not two numbers")
            #expect(abs(size[0] - a4.width) < 1 && abs(size[1] - a4.height) < 1, "a page of \(size[0]) × \(size[1]) pt")
        }
        let pages = text.matches(of: try Regex("/Type\\s*/Page(?![a-zA-Z])")).count
        #expect(pages == 1, "the certificate prints on one A4 page, not \(pages)")
    }
}
