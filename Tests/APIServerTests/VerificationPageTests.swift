import Events
import Foundation
import Testing
import TongbanTesting

@testable import APIServer

/// The public verification page of a certificate: citizen IDs masked everywhere, every value escaped, nothing loaded
/// from elsewhere; then the page as a real browser (chromium) parses it, and its QR code as a real reader (zbarimg)
/// reads it from a screenshot. Two browser launches in all.
@Suite("#20 verification page: masked, escaped, self-contained; read by chromium and zbarimg", .sharedMachine)
struct VerificationPageTests {
    static let motherID = "110105197501200313"
    static let childID = "310115200002291235"
    static let grandmotherID = "11010519491231002X"
    static let hostileName = "王<script>alert(1)</script>&芳"
    static let pageURL = "https://tongban.example.gov.cn/verify/0b7d5a4e-8f1e-4c1a-9a57-3c2d1e0f9a11"

    /// 2026-05-01 00:00 UTC plus `hours`.
    static func moment(hours: Double) -> Date {
        Date(timeIntervalSince1970: 1_777_593_600 + hours * 3600)
    }

    /// A kinship certificate between a mother (whose name would be markup) and her child, with `status`.
    static func model(
        status: VerificationPage.Status, asOf: CivilDate = CivilDate(year: 2026, month: 5, day: 1)!,
        isAsOfCertificate: Bool = false, checkedAt: Date = moment(hours: 24)
    ) -> VerificationPage.Model {
        VerificationPage.Model(
            certificateID: "0b7d5a4e-8f1e-4c1a-9a57-3c2d1e0f9a11", pageURL: pageURL,
            kind: .init(zh: "亲属关系证明", en: "Kinship certificate"),
            statements: [
                // A caller that words an ID into a statement: the page masks it there too.
                .init(
                    zh: "\(hostileName)（\(motherID)）是李明的母亲。",
                    en: "\(hostileName) (\(motherID)) is the mother of Li Ming.")
            ],
            people: [
                .init(role: .init(zh: "母亲", en: "Mother"), name: hostileName, citizenID: motherID),
                .init(role: .init(zh: "子女", en: "Child"), name: "李明", citizenID: childID),
                .init(role: .init(zh: "外祖母", en: "Grandmother"), name: "赵秀英", citizenID: grandmotherID),
            ],
            issuedAt: moment(hours: 1.5), validFrom: moment(hours: 1.5), validUntil: moment(hours: 1.5 + 90 * 24),
            asOf: asOf, isAsOfCertificate: isAsOfCertificate, status: status, statusCheckedAt: checkedAt,
            evidence: [
                .init(
                    eventType: "birth.registered", department: "公安局 / Public Security",
                    effectiveDate: CivilDate(year: 2000, month: 2, day: 29), eventID: "3f1c-ev-1"),
                .init(eventType: "household.member.added", department: "公安局 / Public Security", effectiveDate: nil),
            ],
            issuerDID: "did:web:tongban.example.gov.cn", keyID: "did:web:tongban.example.gov.cn#key-2026-05")
    }

    static let revoked = VerificationPage.Status(
        state: .revoked, reason: "出生登记已更正 <以户籍为准> / birth record corrected",
        changedAt: moment(hours: 12), causedBy: .init(eventType: "birth.corrected", department: "公安局"))

    @Test("Citizen IDs are masked as first 6, eight stars, last 4; ID-like runs in free text too")
    func masking() {
        #expect(CitizenIDMasking.mask("110105197501200313") == "110105********0313")
        #expect(CitizenIDMasking.mask(Self.grandmotherID) == "110105********002X")
        // Not an 18-character ID: nothing of it shown.
        #expect(CitizenIDMasking.mask("12345") == "*****")
        #expect(CitizenIDMasking.mask("") == "*")
        #expect(
            CitizenIDMasking.maskAll(in: "母亲110105197501200313与11010519491231002x，2026-05-01，共3人")
                == "母亲110105********0313与110105********002x，2026-05-01，共3人")
        // Full-width digits, and a 15-digit old ID (starred whole).
        #expect(CitizenIDMasking.maskAll(in: "１１０１０５１９７５０１２００３１３") == "１１０１０５********０３１３")
        #expect(CitizenIDMasking.maskAll(in: "旧号 110105750120031。") == "旧号 ***************。")
    }

    @Test("The document: no full ID anywhere, every value escaped, nothing loaded from elsewhere, a print stylesheet")
    func document() throws {
        let html = VerificationPage.html(Self.model(status: Self.revoked, isAsOfCertificate: true))
        for id in [Self.motherID, Self.childID, Self.grandmotherID, "11010519491231002x", "19750120"] {
            #expect(!html.contains(id), "\(id) appears in the page")
        }
        #expect(html.components(separatedBy: "110105********0313").count - 1 == 3)  // The table and both statements.
        #expect(html.contains("310115********1235") && html.contains("110105********002X"))
        #expect(!html.contains("<script"))
        #expect(html.contains("王&lt;script&gt;alert(1)&lt;/script&gt;&amp;芳"))
        #expect(html.contains("&lt;以户籍为准&gt;"))
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"zh-CN\">"))
        #expect(html.contains("<meta charset=\"utf-8\">"))
        // Self-contained: no element that loads anything, no CSS that does, no script; the only addresses are the
        // page's own (printed and in its QR code) and the SVG namespace.
        for loader in ["src=", "href=", "<link", "<img", "<iframe", "<object", "url(", "@import", "@font-face"] {
            #expect(!html.contains(loader), "\(loader) in the page")
        }
        #expect(try Regex("<[^>]*\\son[a-z]+=").firstMatch(in: html) == nil, "an event handler attribute")
        let addresses = html.matches(of: try Regex("https?://[^\"<\\s]+")).map { String(html[$0.range]) }
        #expect(Set(addresses) == [Self.pageURL, "http://www.w3.org/2000/svg"], "\(addresses)")
        #expect(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"))
        // The print stylesheet: A4, the QR code 40 mm (scannable from paper), no breaks inside a table or section.
        let print = try #require(html.range(of: "@media print {")).upperBound
        let printRules = String(html[print...])
        #expect(html.contains("@page { size: A4;"))
        #expect(printRules.contains("#qr svg { width: 40mm; height: 40mm; }"))
        #expect(printRules.contains("break-inside: avoid"))
        #expect(printRules.contains("color: #000 !important; background: #fff !important"))
        // One QR code, inside the element with id="qr".
        #expect(html.components(separatedBy: "<svg").count == 2)
        #expect(html.contains("<figure id=\"qr\"><svg"))
    }

    @Test("Suspended, expired and not yet valid certificates, and the page for an unknown id")
    func otherStates() throws {
        let suspended = VerificationPage.html(
            Self.model(status: .init(state: .suspended, reason: "核查中", changedAt: Self.moment(hours: 2))))
        #expect(try Self.startTag(id: "status", in: suspended).contains("data-status=\"suspended\""))
        #expect(suspended.contains("已暂停") && suspended.contains("Suspended") && suspended.contains("核查中"))
        #expect(suspended.contains("2026-05-01 10:00"))  // 02:00 UTC is 10:00 in Beijing.
        #expect(!suspended.contains("id=\"as-of\""))

        // Valid in the register, read after its validity ended: shown expired, never 有效.
        let expired = VerificationPage.html(
            Self.model(status: .init(state: .valid), checkedAt: Self.moment(hours: 100 * 24)))
        let expiredTag = try Self.startTag(id: "status", in: expired)
        #expect(expiredTag.contains("data-status=\"valid\"") && expiredTag.contains("data-validity=\"expired\""))
        #expect(try expired.contains("已过期") && !Self.statusBox(in: expired).contains("有效 <"))
        let early = VerificationPage.html(Self.model(status: .init(state: .valid), checkedAt: Self.moment(hours: 1)))
        #expect(try Self.startTag(id: "status", in: early).contains("data-validity=\"not-yet-valid\""))
        #expect(early.contains("尚未生效"))

        let missing = VerificationPage.notFoundHTML(certificateID: "<b>nope</b>\(Self.motherID)")
        #expect(try Self.startTag(id: "status", in: missing).contains("data-status=\"not-found\""))
        #expect(missing.contains("未找到该证明") && missing.contains("No such certificate"))
        #expect(missing.contains("&lt;b&gt;nope&lt;/b&gt;110105********0313"))
        #expect(!missing.contains("<b>") && !missing.contains(Self.motherID) && !missing.contains("<svg"))
        #expect(missing.hasPrefix("<!DOCTYPE html>\n<html lang=\"zh-CN\">"))
        let long = VerificationPage.notFoundHTML(certificateID: String(repeating: "a", count: 5000))
        #expect(!long.contains(String(repeating: "a", count: 101)))
    }

    @Test("chromium: the valid page's DOM has the status, the Chinese, masked IDs, no script; its QR code is its URL")
    func validInChromium() async throws {
        let file = try Self.write(VerificationPage.html(Self.model(status: .init(state: .valid))))
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }

        let capture = try await HeadlessBrowser().capture(of: file, width: 1000, height: 1200)
        let dom = capture.dom
        let status = try Self.startTag(id: "status", in: dom)
        #expect(status.contains("data-status=\"valid\"") && status.contains("data-validity=\"current\""))
        let box = try Self.statusBox(in: dom)
        #expect(box.contains("有效") && box.contains("Valid") && !box.contains("已撤销"))
        #expect(dom.contains("<html lang=\"zh-CN\">"))
        #expect(dom.contains("亲属关系证明") && dom.contains("Kinship certificate"))
        #expect(dom.contains("110105********0313") && dom.contains("310115********1235"))
        #expect(dom.contains("110105********002X"))
        for id in [Self.motherID, Self.childID, Self.grandmotherID] { #expect(!dom.contains(id)) }
        // The name is text: the parser made no script element of it.
        #expect(!dom.contains("<script"))
        #expect(dom.contains("王&lt;script&gt;alert(1)&lt;/script&gt;&amp;芳"))
        #expect(!dom.contains("id=\"as-of\"") && !dom.contains("历史时点证明"))
        #expect(try Self.startTag(id: "qr", in: dom).hasPrefix("<figure"))
        #expect(dom.contains("role=\"img\""))

        #expect(try await HeadlessBrowser.decodeQRCodes(png: capture.png) == [Self.pageURL])
    }

    @Test(
        "chromium: a revoked as-of page says 已撤销 / Revoked, the reason, the causing event, the as-of day; one A4 page")
    func revokedInChromium() async throws {
        let asOf = CivilDate(year: 2024, month: 6, day: 30)!
        let file = try Self.write(
            VerificationPage.html(Self.model(status: Self.revoked, asOf: asOf, isAsOfCertificate: true)))
        defer { try? FileManager.default.removeItem(at: file.deletingLastPathComponent()) }

        let capture = try await HeadlessBrowser().capture(of: file, width: 1000, height: 1200, printToPDF: true)
        let dom = capture.dom
        #expect(try Self.startTag(id: "status", in: dom).contains("data-status=\"revoked\""))
        let box = try Self.statusBox(in: dom)
        #expect(box.contains("已撤销") && box.contains("Revoked") && !box.contains("有效 <"))
        #expect(box.contains("出生登记已更正 &lt;以户籍为准&gt; / birth record corrected"))
        #expect(box.contains("birth.corrected") && box.contains("公安局"))
        #expect(box.contains("2026-05-01 20:00"))  // Revoked at 12:00 UTC.
        #expect(try Self.startTag(id: "as-of", in: dom).contains("data-as-of=\"2024-06-30\""))
        #expect(dom.contains("历史时点证明"))
        #expect(dom.contains("As-of certificate: what the registers said on <strong>2024-06-30</strong>"))
        for id in [Self.motherID, Self.childID, Self.grandmotherID] { #expect(!dom.contains(id)) }
        // The longest page of a kinship certificate (revoked, with its cause, and as-of) still prints on one A4 page.
        try VerificationPageLiveTests.expectOneA4Page(try #require(capture.pdf))
    }

    /// Writes a page to a file of its own in a new temporary directory.
    static func write(_ html: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-page-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("verify.html")
        try html.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The start tag of the element whose id is `id`.
    static func startTag(id: String, in html: String) throws -> String {
        let match = try #require(try Regex("<[a-zA-Z][^>]*\\sid=\"\(id)\"[^>]*>").firstMatch(in: html), "no #\(id)")
        return String(html[match.range])
    }

    /// The status section, from its start tag to its end (a page without one fails the test here, rather than
    /// pass every check that something is not in it).
    static func statusBox(in html: String) throws -> String {
        let start = try #require(html.range(of: "id=\"status\""), "the page has no status section")
        let rest = html[start.lowerBound...]
        let end = try #require(rest.range(of: "</section>"), "the status section does not end")
        return String(rest[..<end.upperBound])
    }
}
