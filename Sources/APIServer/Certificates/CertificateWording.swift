import Events

/// A certificate's answer in words, Chinese and English, for its title and its page. ID numbers are left whole here:
/// the page masks every one it shows.
enum CertificateWording {
    /// A sentence in both languages.
    struct Line: Sendable, Hashable {
        var zh: String
        var en: String
    }

    /// The certificate's title.
    static func title(_ kind: CertificateKind, claims: JSONValue) -> Line {
        switch kind {
        case .kinship: Line(zh: "亲属关系证明", en: "Kinship certificate")
        case .socialInsurance: Line(zh: "社会保险缴费证明", en: "Social insurance contribution record")
        case .property:
            claims.objectValue?["holdsProperty"] == .bool(false)
                ? Line(zh: "无房证明", en: "No-property proof")
                : Line(zh: "不动产登记证明", en: "Property record")
        case .medicalInsurance: Line(zh: "医疗保险参保凭证", en: "Medical insurance enrollment record")
        }
    }

    /// The people the certificate names, with their role: (role, name, citizen ID).
    static func people(_ kind: CertificateKind, claims: JSONValue) -> [(role: Line, name: String?, id: String)] {
        guard let object = claims.objectValue else { return [] }
        var people: [(role: Line, name: String?, id: String)] = []
        if let subject = object["subject"]?.objectValue, let id = subject["citizenId"]?.stringValue {
            people.append((Line(zh: "申请人", en: "Applicant"), subject["name"]?.stringValue, id))
        }
        if let relative = object["relative"]?.objectValue, let id = relative["citizenId"]?.stringValue {
            people.append((Line(zh: "关系人", en: "Relative"), relative["name"]?.stringValue, id))
        }
        for member in object["members"]?.arrayValue ?? [] {
            guard let member = member.objectValue, let id = member["citizenId"]?.stringValue,
                member["role"]?.stringValue != "self"
            else { continue }
            let role =
                member["role"]?.stringValue == "spouse"
                ? Line(zh: "配偶", en: "Spouse") : Line(zh: "未成年子女", en: "Minor child")
            people.append((role, nil, id))
        }
        return people
    }

    /// The answer, sentence by sentence.
    static func statements(_ kind: CertificateKind, claims: JSONValue) -> [Line] {
        guard let object = claims.objectValue else { return [] }
        switch kind {
        case .kinship: return kinship(object)
        case .socialInsurance: return socialInsurance(object)
        case .property: return property(object)
        case .medicalInsurance: return medicalInsurance(object)
        }
    }

    private static func name(_ person: JSONValue?) -> String {
        person?.objectValue?["name"]?.stringValue ?? "—"
    }

    private static func kinship(_ claims: JSONObject) -> [Line] {
        let subject = name(claims["subject"])
        let relative = name(claims["relative"])
        let sex = claims["relative"]?.objectValue?["sex"]?.stringValue
        var lines: [Line] = []
        for relation in claims["relations"]?.arrayValue ?? [] {
            guard let relation = relation.objectValue, let kind = relation["relation"]?.stringValue else { continue }
            let basis = relation["basis"]?.stringValue ?? ""
            let role = Self.role(kind, sex: sex)
            let how =
                switch basis {
                case "birth": Line(zh: "亲生", en: "by birth")
                case "adoption": Line(zh: "收养", en: "by adoption")
                default: Line(zh: "婚姻", en: "by marriage")
                }
            lines.append(
                Line(
                    zh: "\(relative)是\(subject)的\(role.zh)（\(how.zh)）。",
                    en: "\(relative) is \(subject)'s \(role.en) (\(how.en))."))
        }
        for key in ["subject", "relative"] {
            if let person = claims[key]?.objectValue, person["living"] == .bool(false) {
                let died = person["diedOn"]?.stringValue ?? ""
                lines.append(
                    Line(zh: "\(name(claims[key]))已于\(died)死亡。", en: "\(name(claims[key])) died on \(died)."))
            }
        }
        return lines
    }

    private static func role(_ relation: String, sex: String?) -> Line {
        let female = sex == "female"
        switch relation {
        case "parent": return female ? Line(zh: "母亲", en: "mother") : Line(zh: "父亲", en: "father")
        case "child": return female ? Line(zh: "女儿", en: "daughter") : Line(zh: "儿子", en: "son")
        case "spouse": return female ? Line(zh: "妻子", en: "wife") : Line(zh: "丈夫", en: "husband")
        case "sibling": return female ? Line(zh: "姐妹", en: "sister") : Line(zh: "兄弟", en: "brother")
        case "grandparent":
            return female ? Line(zh: "祖母/外祖母", en: "grandmother") : Line(zh: "祖父/外祖父", en: "grandfather")
        default: return female ? Line(zh: "孙女/外孙女", en: "granddaughter") : Line(zh: "孙子/外孙", en: "grandson")
        }
    }

    private static let insuranceNames: [String: Line] = [
        "pension": Line(zh: "养老保险", en: "pension insurance"),
        "medical": Line(zh: "医疗保险", en: "medical insurance"),
        "unemployment": Line(zh: "失业保险", en: "unemployment insurance"),
        "work-injury": Line(zh: "工伤保险", en: "work-injury insurance"),
        "maternity": Line(zh: "生育保险", en: "maternity insurance"),
    ]

    private static func socialInsurance(_ claims: JSONObject) -> [Line] {
        let from = claims["from"]?.stringValue ?? ""
        let to = claims["to"]?.stringValue ?? ""
        let insurance = claims["insurance"]?.arrayValue ?? []
        guard !insurance.isEmpty else {
            return [Line(zh: "\(from)至\(to)期间无缴费记录。", en: "No contribution was paid from \(from) to \(to).")]
        }
        return insurance.compactMap { entry in
            guard let entry = entry.objectValue, let type = entry["insuranceType"]?.stringValue else { return nil }
            let label = insuranceNames[type] ?? Line(zh: type, en: type)
            let months: String = {
                if case .number(let text) = entry["monthsPaid"] { return text }
                return "0"
            }()
            let continuous = entry["continuous"] == .bool(true)
            return Line(
                zh: "\(from)至\(to)期间缴纳\(label.zh)\(months)个月" + (continuous ? "，连续无中断。" : "，有中断。"),
                en:
                    "\(label.en.prefix(1).uppercased() + label.en.dropFirst()): \(months) months paid from \(from) to \(to)"
                    + (continuous ? ", without a gap." : ", with gaps."))
        }
    }

    private static func property(_ claims: JSONObject) -> [Line] {
        let subject = name(claims["subject"])
        let family = claims["family"] == .bool(true)
        let titles = claims["titles"]?.arrayValue ?? []
        guard !titles.isEmpty else {
            return [
                family
                    ? Line(
                        zh: "\(subject)及其家庭成员名下无不动产登记。",
                        en: "Neither \(subject) nor their family holds a property title.")
                    : Line(zh: "\(subject)名下无不动产登记。", en: "\(subject) holds no property title.")
            ]
        }
        return titles.compactMap { title in
            guard let title = title.objectValue, let number = title["titleNumber"]?.stringValue else { return nil }
            let share = title["share"]?.stringValue ?? ""
            let encumbered = !(title["encumbrances"]?.arrayValue ?? []).isEmpty
            return Line(
                zh: "不动产单元号\(number)，份额\(share)" + (encumbered ? "，存在抵押或查封。" : "。"),
                en: "Real-estate unit \(number), share \(share)" + (encumbered ? ", encumbered." : "."))
        }
    }

    private static func medicalInsurance(_ claims: JSONObject) -> [Line] {
        let subject = name(claims["subject"])
        var lines: [Line] = []
        if let enrollment = claims["enrollment"]?.objectValue {
            let region = enrollment["regionCode"]?.stringValue ?? ""
            let start = enrollment["startDate"]?.stringValue ?? ""
            lines.append(
                Line(
                    zh: "\(subject)自\(start)起在\(region)参加基本医疗保险。",
                    en: "\(subject) has been enrolled in basic medical insurance in \(region) since \(start)."))
        } else {
            lines.append(Line(zh: "\(subject)未参加基本医疗保险。", en: "\(subject) is not enrolled in medical insurance."))
        }
        for filing in claims["filings"]?.arrayValue ?? [] {
            guard let filing = filing.objectValue else { continue }
            let to = filing["toRegion"]?.stringValue ?? ""
            let from = filing["validFrom"]?.stringValue ?? ""
            lines.append(
                Line(
                    zh: "已办理异地就医备案：就医地\(to)，自\(from)起。",
                    en: "Cross-region care filed: care in \(to), from \(from)."))
        }
        return lines
    }
}
