import Events
import Foundation
internal import QRCode

/// The public page of a certificate, for whoever holds it on paper: one HTML document in Chinese with English beside
/// every label, its status in a box, its QR code (of the page's own address), and a stylesheet that prints it on A4.
///
/// The page is a pure function of its model: no clock, no database. It loads nothing from anywhere (no fonts,
/// scripts or images; one inline stylesheet; no JavaScript), escapes every value, and never shows a citizen ID whole:
/// the people's IDs are masked with ``CitizenIDMasking/mask(_:)``, and every other text the caller gives goes through
/// ``CitizenIDMasking/maskAll(in:)`` before it is escaped.
enum VerificationPage {
    /// A text in Chinese and in English.
    struct Text: Sendable, Hashable {
        /// The Chinese text (shown first).
        var zh: String
        /// The English text (shown beside or below it).
        var en: String
    }

    /// Someone the certificate is about.
    struct Person: Sendable, Hashable {
        /// Their role in the certificate, e.g. 申请人 / Applicant, 母亲 / Mother.
        var role: Text
        /// Their name as registered.
        var name: String
        /// Their citizen ID, whole: the page masks it (first 6, eight `*`, last 4).
        var citizenID: String
    }

    /// The status a certificate has in the hub (the `CertificateStatus.status` of the API).
    enum State: String, Sendable, Hashable {
        /// Neither revoked nor suspended.
        case valid
        /// Suspended for now; it may be reinstated.
        case suspended
        /// Revoked for good.
        case revoked
    }

    /// The register event whose application took the certificate's basis away.
    struct Cause: Sendable, Hashable {
        /// The event's type as the page should show it, e.g. `marriage.dissolved` or 离婚登记.
        var eventType: String
        /// The department that published it.
        var department: String
    }

    /// The certificate's status now, and the last change of it.
    struct Status: Sendable, Hashable {
        /// Valid, suspended or revoked.
        var state: State
        /// Why it was last changed (required in the API for a revocation or suspension), if it was.
        var reason: String?
        /// When it was last changed, if it was.
        var changedAt: Date?
        /// The register event that caused the change, when the streams revoked or suspended it.
        var causedBy: Cause?
    }

    /// One register event the certificate rests on.
    struct Evidence: Sendable, Hashable {
        /// The event's type as the page should show it.
        var eventType: String
        /// The department that published it.
        var department: String
        /// The day it took effect, if it has one.
        var effectiveDate: CivilDate?
        /// The event's id (shown small), if the caller wants it shown.
        var eventID: String?
    }

    /// Everything the page of one certificate shows. The caller words the statements; the page masks and escapes.
    struct Model: Sendable, Hashable {
        /// The certificate's id (a UUID).
        var certificateID: String
        /// The page's own absolute URL: the QR code holds it exactly, and the page prints it below the code.
        var pageURL: String
        /// The kind of certificate, e.g. 亲属关系证明 / Kinship certificate.
        var kind: Text
        /// What the certificate says, one sentence each, already worded in both languages.
        var statements: [Text]
        /// The people it is about, with their IDs whole (the page masks them).
        var people: [Person]
        /// When it was issued.
        var issuedAt: Date
        /// When its validity starts.
        var validFrom: Date
        /// When its validity ends.
        var validUntil: Date
        /// The day of the registers it states.
        var asOf: CivilDate
        /// Whether it is an as-of certificate (what the registers said on `asOf`, a past day, rather than today):
        /// the page says so in a box of its own.
        var isAsOfCertificate: Bool
        /// Its status now.
        var status: Status
        /// When the status was read: the page prints it, and a valid certificate outside its validity period at that
        /// moment is shown as expired or not yet valid.
        var statusCheckedAt: Date
        /// The register events it rests on.
        var evidence: [Evidence]
        /// The issuer's DID (`did:web:…`).
        var issuerDID: String
        /// The id of the key that signed it (a DID URL).
        var keyID: String
    }

    /// Whether a certificate's validity period holds a moment (`data-validity` on the status box).
    enum Validity: String {
        case current
        case expired
        case notYetValid = "not-yet-valid"
    }

    /// The page of a certificate.
    /// - Parameter model: what it shows.
    /// - Returns: the HTML document (UTF-8, `lang="zh-CN"`).
    static func html(_ model: Model) -> String {
        var body = header(
            kind: model.kind, number: model.certificateID, qr: qrFigure(url: model.pageURL))
        body += statusBox(model)
        if model.isAsOfCertificate {
            let day = text(model.asOf.description)
            body += """
                <section id="as-of" class="as-of" data-as-of="\(day)" aria-labelledby="as-of-title">
                <h2 id="as-of-title">历史时点证明 <span lang="en" class="en">As-of certificate</span></h2>
                <p>本证明所述为各登记机关于 <strong>\(day)</strong> 的登记内容，不一定是今天的情况。</p>
                <p lang="en" class="en">As-of certificate: what the registers said on <strong>\(day)</strong>, \
                not necessarily what they say today.</p>
                </section>

                """
        }
        body += section(id: "statements", title: Text(zh: "证明内容", en: "What is certified")) {
            guard !model.statements.isEmpty else { return nothing }
            return "<ul class=\"statements\">\n"
                + model.statements.map {
                    "<li><p>\(text($0.zh))</p><p lang=\"en\" class=\"en\">\(text($0.en))</p></li>\n"
                }
                .joined() + "</ul>\n"
        }
        body += section(id: "people", title: Text(zh: "当事人", en: "People")) {
            table(
                caption: Text(zh: "公民身份号码已部分隐去", en: "Citizen ID numbers are partly hidden"),
                columns: [
                    Text(zh: "身份", en: "Role"), Text(zh: "姓名", en: "Name"), Text(zh: "公民身份号码", en: "Citizen ID"),
                ],
                rows: model.people.map { person in
                    "<tr><td>\(label(person.role.zh, person.role.en))</td><td class=\"name\">\(text(person.name))</td>"
                        + "<td><code class=\"citizen-id\">\(text(CitizenIDMasking.mask(person.citizenID)))</code></td>"
                        + "</tr>\n"
                })
        }
        body += section(id: "dates", title: Text(zh: "日期", en: "Dates")) {
            let dates: [(name: Text, value: String)] = [
                (Text(zh: "签发时间", en: "Issued"), beijingTime(model.issuedAt)),
                (Text(zh: "生效时间", en: "Valid from"), beijingTime(model.validFrom)),
                (Text(zh: "有效期至", en: "Valid until"), beijingTime(model.validUntil)),
                (Text(zh: "登记内容日期", en: "Registers as of"), model.asOf.description),
            ]
            return table(
                caption: Text(zh: "时间均为北京时间（UTC+8）", en: "Times are Beijing time (UTC+8)"),
                rows: dates.map {
                    "<tr><th scope=\"row\">\(label($0.name.zh, $0.name.en))</th><td>\(text($0.value))</td></tr>\n"
                })
        }
        body += section(id: "evidence", title: Text(zh: "证明依据", en: "Evidence")) {
            guard !model.evidence.isEmpty else { return nothing }
            return table(
                caption: Text(zh: "证明所依据的登记事件", en: "The register events this certificate rests on"),
                columns: [
                    Text(zh: "事件类型", en: "Event type"), Text(zh: "登记部门", en: "Department"),
                    Text(zh: "生效日期", en: "Effective date"),
                ],
                rows: model.evidence.map { item in
                    let id = item.eventID.map { "<br><code class=\"event-id\">\(text($0))</code>" } ?? ""
                    return "<tr><td>\(text(item.eventType))\(id)</td><td>\(text(item.department))</td>"
                        + "<td>\(item.effectiveDate.map { text($0.description) } ?? "—")</td></tr>\n"
                })
        }
        body += section(id: "issuer", title: Text(zh: "签发方", en: "Issuer")) {
            """
            <dl class="facts">
            <dt>\(label("签发机构标识", "Issuer DID"))</dt><dd><code>\(text(model.issuerDID))</code></dd>
            <dt>\(label("签名密钥", "Signing key"))</dt><dd><code>\(text(model.keyID))</code></dd>
            </dl>

            """
        }
        body += """
            <footer>
            <p>本页显示证明的当前状态；纸质证明以扫码所见状态为准。公民身份号码已隐去出生日期与顺序码。</p>
            <p lang="en" class="en">This page shows the certificate's status now; for a certificate on paper, the status \
            seen by scanning its code is what counts. Citizen ID numbers are shown without their birth date and \
            sequence.</p>
            </footer>

            """
        return document(title: "\(model.kind.zh) · 证明核验 — \(model.kind.en) · Verification", body: body)
    }

    /// The page for an id no certificate has (answered with 404): the same look, and no QR code.
    /// - Parameter certificateID: the id asked for, as it came (shown escaped, at most 100 characters of it).
    /// - Returns: the HTML document.
    static func notFoundHTML(certificateID: String) -> String {
        let asked = certificateID.count > 100 ? String(certificateID.prefix(100)) + "…" : certificateID
        let number = text(asked)
        var body = header(kind: Text(zh: "证明核验", en: "Certificate verification"), number: nil, qr: "")
        body += """
            <section id="status" class="status status-not-found" data-status="not-found" \
            aria-labelledby="status-title">
            <h2 id="status-title">未找到该证明 <span lang="en" class="en">No such certificate</span></h2>
            <p class="verdict">\(label("未找到", "Not found"))</p>
            <p>没有编号为 <code>\(number)</code> 的证明。请核对二维码或网址是否完整；纸质证明请向出具人核实。</p>
            <p lang="en" class="en">No certificate has the id <code>\(number)</code>. Check that the QR code or the \
            address is complete; for a certificate on paper, ask whoever gave it to you.</p>
            </section>

            """
        return document(title: "未找到证明 — No such certificate", body: body)
    }

    // MARK: - Parts

    /// The whole document around a page's body.
    static func document(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex, nofollow">
        <meta name="referrer" content="no-referrer">
        <meta http-equiv="Content-Security-Policy" content="\(contentSecurityPolicy)">
        <title>\(text(title))</title>
        <style>
        \(stylesheet)</style>
        </head>
        <body>
        <main class="sheet">
        \(body)</main>
        </body>
        </html>

        """
    }

    /// What the page may load: nothing but its own inline stylesheet (a second guard behind the escaping).
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

    /// The title block: who shows the page, the kind, the certificate's number, and the QR code beside them.
    static func header(kind: Text, number: String?, qr: String) -> String {
        var block = """
            <header class="top">
            <div class="heading">
            <p class="service">通办 · 证明核验 <span lang="en" class="en">Tongban · certificate verification</span></p>
            <h1>\(text(kind.zh)) <span lang="en" class="en">\(text(kind.en))</span></h1>

            """
        if let number {
            block += "<p class=\"number\">\(label("证明编号", "Certificate no.")) <code>\(text(number))</code></p>\n"
        }
        block += "</div>\n\(qr)</header>\n"
        return block
    }

    /// The QR code of the page's URL with the URL printed below it; a plain note instead when no QR code holds it.
    static func qrFigure(url: String) -> String {
        let caption =
            "<figcaption>\(label("扫码核验", "Scan to verify"))<br><span class=\"url\">\(text(url))</span>"
            + "</figcaption>"
        guard let code = try? QRCode(encoding: url, correction: .medium) else {
            return "<figure id=\"qr\"><p>\(label("网址过长，无法生成二维码", "The address is too long for a QR code"))"
                + "</p>\(caption)</figure>\n"
        }
        let svg = code.svg(moduleSize: 4, quietZone: 4, label: "本页网址的二维码 / QR code of this page's address")
        return "<figure id=\"qr\">\(svg)\(caption)</figure>\n"
    }

    /// The status box: the state in large letters, what it means, the last change, and when it was read.
    static func statusBox(_ model: Model) -> String {
        let status = model.status
        let validity: Validity =
            model.statusCheckedAt < model.validFrom
            ? .notYetValid : model.statusCheckedAt > model.validUntil ? .expired : .current
        let verdict: Text
        let meaning: Text
        let style: String
        switch (status.state, validity) {
        case (.valid, .current):
            verdict = Text(zh: "有效", en: "Valid")
            meaning = Text(
                zh: "本证明由通办签发，未被撤销或暂停，且在有效期内。",
                en: "Issued by Tongban, neither revoked nor suspended, and within its validity period.")
            style = "valid"
        case (.valid, .expired):
            verdict = Text(zh: "已过期", en: "Expired")
            meaning = Text(
                zh: "本证明未被撤销，但有效期已届满，不应再采信。",
                en: "Not revoked, but its validity period has ended: it must no longer be relied on.")
            style = "expired"
        case (.valid, .notYetValid):
            verdict = Text(zh: "尚未生效", en: "Not yet valid")
            meaning = Text(
                zh: "本证明的有效期尚未开始。", en: "Its validity period has not begun.")
            style = "expired"
        case (.suspended, _):
            verdict = Text(zh: "已暂停", en: "Suspended")
            meaning = Text(
                zh: "本证明已被暂停使用，暂停期间不应采信。",
                en: "This certificate is suspended and must not be relied on while it is.")
            style = "suspended"
        case (.revoked, _):
            verdict = Text(zh: "已撤销", en: "Revoked")
            meaning = Text(
                zh: "本证明已被撤销，不应采信。", en: "This certificate has been revoked and must not be relied on.")
            style = "revoked"
        }
        var box = """
            <section id="status" class="status status-\(style)" data-status="\(status.state.rawValue)" \
            data-validity="\(validity.rawValue)" aria-labelledby="status-title">
            <h2 id="status-title">证明状态 <span lang="en" class="en">Status</span></h2>
            <p class="verdict">\(label(verdict.zh, verdict.en))</p>
            <p>\(text(meaning.zh))</p>
            <p lang="en" class="en">\(text(meaning.en))</p>

            """
        var facts = ""
        if let reason = status.reason {
            facts += "<dt>\(label("原因", "Reason"))</dt><dd class=\"reason\">\(text(reason))</dd>\n"
        }
        if let changedAt = status.changedAt {
            let (zh, en) =
                switch status.state {
                case .revoked: ("撤销时间", "Revoked at")
                case .suspended: ("暂停时间", "Suspended at")
                case .valid: ("状态变更时间", "Status changed at")
                }
            facts += "<dt>\(label(zh, en))</dt><dd>\(text(beijingTime(changedAt))) \(label("北京时间", "Beijing time"))"
            facts += "</dd>\n"
        }
        if let cause = status.causedBy {
            facts += "<dt>\(label("起因登记事件", "Caused by the register event"))</dt><dd class=\"cause\">"
            facts += "\(text(cause.eventType))（\(label("登记部门", "department"))：\(text(cause.department))）</dd>\n"
        }
        if !facts.isEmpty { box += "<dl class=\"facts\">\n\(facts)</dl>\n" }
        box += "<p class=\"checked\">\(label("状态查询时间", "Status checked at"))："
        box += "\(text(beijingTime(model.statusCheckedAt))) \(label("北京时间", "Beijing time"))</p>\n</section>\n"
        return box
    }

    /// A section with its heading (`id` for the section, `id-title` for the heading it is labelled by).
    static func section(id: String, title: Text, content: () -> String) -> String {
        """
        <section id="\(id)" aria-labelledby="\(id)-title">
        <h2 id="\(id)-title">\(label(title.zh, title.en))</h2>
        \(content())</section>

        """
    }

    /// A table: its caption, a row of column headings when there are `columns`, and the rows as they are.
    static func table(caption: Text, columns: [Text] = [], rows: [String]) -> String {
        var table = "<table>\n<caption>\(label(caption.zh, caption.en))</caption>\n"
        if !columns.isEmpty {
            table += "<thead><tr>" + columns.map { "<th scope=\"col\">\(label($0.zh, $0.en))</th>" }.joined()
            table += "</tr></thead>\n"
        }
        return table + "<tbody>\n" + rows.joined() + "</tbody>\n</table>\n"
    }

    /// What a section with nothing to list shows.
    static let nothing = "<p>\(label("无", "None"))</p>\n"

    /// A label in Chinese with its English beside it.
    static func label(_ zh: String, _ en: String) -> String {
        "\(text(zh)) <span lang=\"en\" class=\"en\">\(text(en))</span>"
    }

    /// Any text for the page: ID-like numbers masked, then escaped for HTML (text or a quoted attribute).
    static func text(_ value: String) -> String {
        var escaped = ""
        let masked = CitizenIDMasking.maskAll(in: value)
        escaped.reserveCapacity(masked.utf8.count)
        for scalar in masked.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            case "\u{0}": escaped += "\u{FFFD}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// A moment as Beijing time (UTC+8, no daylight saving), `YYYY-MM-DD HH:MM`.
    static func beijingTime(_ date: Date) -> String {
        let seconds = Int((date.timeIntervalSince1970 + 8 * 3600).rounded(.down))
        var (days, second) = seconds.quotientAndRemainder(dividingBy: 86_400)
        if second < 0 {
            days -= 1
            second += 86_400
        }
        let hour = second / 3600
        let minute = second % 3600 / 60
        return "\(CivilDate(daysSinceEpoch: days)) \(hour < 10 ? "0" : "")\(hour):\(minute < 10 ? "0" : "")\(minute)"
    }

    /// The one stylesheet: a sheet of paper on screen, one A4 page in print (black on white, the QR code 40 mm a side
    /// beside the status box, the dates two to a row), a kinship certificate even when revoked and as-of.
    static let stylesheet = """
        :root { color-scheme: light; }
        * { box-sizing: border-box; }
        body { margin: 0; background: #eceff3; color: #1b1b1b;
          font: 16px/1.55 "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
        .sheet { max-width: 210mm; margin: 24px auto; padding: 28px 36px; background: #fff; border: 1px solid #c9ced6; }
        .en { color: #4a4a4a; }
        .top { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px;
          padding-bottom: 16px; border-bottom: 2px solid #1b1b1b; }
        .service { margin: 0; font-size: 14px; }
        h1 { margin: 6px 0; font-size: 28px; line-height: 1.3; }
        h1 .en { display: block; font-size: 18px; font-weight: normal; }
        h2 { margin: 0 0 8px; font-size: 19px; }
        h2 .en { font-weight: normal; }
        section { margin: 20px 0; }
        #qr { flex: none; margin: 0; text-align: center; }
        #qr svg { display: block; width: 180px; height: 180px; margin: 0 auto; }
        #qr figcaption { max-width: 200px; font-size: 12px; word-break: break-all; }
        .status { padding: 12px 18px; border: 3px solid #555; border-radius: 6px; }
        .status-valid { border-color: #1d7a3a; background: #edf8f0; }
        .status-suspended { border-color: #a45f00; background: #fff5e2; }
        .status-revoked, .status-expired, .status-not-found { border-color: #b3261e; background: #fdecea; }
        .verdict { margin: 2px 0 6px; font-size: 28px; font-weight: 700; }
        .as-of { padding: 10px 18px; border: 2px dashed #1b1b1b; }
        .statements { margin: 0; padding-left: 20px; }
        .statements li { margin-bottom: 8px; }
        .statements p { margin: 0; }
        table { width: 100%; border-collapse: collapse; }
        caption { padding-bottom: 4px; font-size: 13px; text-align: left; }
        th, td { padding: 6px 10px; border: 1px solid #c4c9d0; text-align: left; vertical-align: top; }
        thead th, tbody th { background: #f4f6f8; font-weight: 600; }
        .facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
        .facts dt { font-weight: 600; }
        .facts dd { margin: 0; }
        code { font-family: "DejaVu Sans Mono", "Menlo", monospace; font-size: 13px; word-break: break-all; }
        footer { margin-top: 24px; padding-top: 12px; border-top: 1px solid #c4c9d0; font-size: 13px; }
        @media (max-width: 640px) {
          .sheet { margin: 0; padding: 16px; border: 0; }
          .top { flex-direction: column; }
          #qr { align-self: center; }
        }
        @page { size: A4; margin: 10mm 14mm; }
        @media print {
          * { color: #000 !important; background: #fff !important; box-shadow: none !important; }
          body { font-size: 9.5pt; line-height: 1.35; }
          h1 { margin: 0 0 2pt; font-size: 17pt; }
          h1 .en { font-size: 11.5pt; }
          h2 { margin-bottom: 3pt; font-size: 11.5pt; }
          section { margin: 8pt 0; }
          .verdict { margin: 0 0 2pt; font-size: 17pt; }
          .status p, .as-of p { margin: 3pt 0; }
          th, td { padding: 2pt 5pt; }
          caption, code { font-size: 8.5pt; }
          .sheet { max-width: none; margin: 0; padding: 0; border: 0; }
          nav, .no-print { display: none !important; }
          .top { display: block; padding: 0; border: 0; }
          .heading { display: flow-root; margin-bottom: 8pt; padding-bottom: 4pt; border-bottom: 1.5pt solid #000; }
          .service, .number { margin: 2pt 0; }
          #qr { float: right; margin: 0 0 6pt 12pt; }
          #qr svg { width: 40mm; height: 40mm; }
          #qr figcaption { max-width: 40mm; font-size: 7pt; line-height: 1.3; }
          .status, .as-of { display: flow-root; }
          .status .facts { display: block; margin: 4pt 0; }
          .status .facts dt, .status .facts dd { display: inline; }
          .status .facts dt::after { content: "："; }
          .status .facts dd::after { content: "\\A"; white-space: pre; }
          .status { padding: 6pt 10pt; border: 2pt solid #000; }
          .status-revoked, .status-suspended, .status-expired, .status-not-found { border: 5pt double #000; }
          .as-of { padding: 4pt 10pt; border: 1.5pt dashed #000; }
          th, td { border: 0.75pt solid #000; }
          #dates tbody { display: grid; grid-template-columns: max-content 1fr max-content 1fr;
            border-top: 0.75pt solid #000; border-left: 0.75pt solid #000; }
          #dates tr { display: contents; }
          #dates th, #dates td { border-width: 0 0.75pt 0.75pt 0; }
          footer { margin-top: 10pt; padding-top: 6pt; font-size: 7.5pt; }
          footer p { margin: 2pt 0; }
          header, section, figure, table, tr, .status { break-inside: avoid; page-break-inside: avoid; }
          h1, h2, caption { break-after: avoid; page-break-after: avoid; }
          thead { display: table-header-group; }
          footer { break-before: avoid; page-break-before: avoid; }
        }

        """
}
