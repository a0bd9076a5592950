import Events
import Foundation
import HTTPTypes
import Postgres
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import APIServer

/// The pre-fill question through HTTP against the generator's ground truth, over several populations (one without
/// anomalies, two with misspelt names from other departments): identity, conflicts, household and marital status on
/// every check date, each attribute with the event it comes from; and the refusals as problems.
@Suite("#19 pre-fill over HTTP equals the ground truth (several seeds)", .sharedMachine)
struct PrefillAPITests {
    /// An answer's attributes by field.
    struct Attributes {
        var byField: [String: [String: Any]] = [:]
        var order: [String] = []

        init(_ json: [String: Any]) {
            for attribute in json["attributes"] as? [[String: Any]] ?? [] {
                let field = attribute["field"] as? String ?? "?"
                byField[field] = attribute
                order.append(field)
            }
        }

        func value(_ field: String) -> String? { byField[field]?["value"] as? String }
    }

    @Test(
        "#19 name, former names, sex, birth date, household, address, marital status, death and name conflicts",
        arguments: [(UInt64(5), 0.0), (UInt64(17), 0.05), (UInt64(59), 0.08)])
    func groundTruth(seed: UInt64, anomalyRate: Double) async throws {
        let population = try SignedPopulation.make(people: 40, seed: seed, anomalyRate: anomalyRate)
        let expected = population.expected
        if anomalyRate > 0 {
            #expect(expected.sample.contains { !$0.identity.nameConflicts.isEmpty }, "the sample has name conflicts")
        }
        try await APITestHarness.withServer(population, purpose: "form-prefill") { api in
            var counts: [String: Int] = [:]
            for person in expected.sample {
                let who = Comment(rawValue: "person \(person.id), seed \(seed)")
                // As of the ground truth's day, every field (the default).
                let json = try await api.get("/v1/prefill?subject=\(person.id)&asOf=\(expected.asOf)")
                let attributes = Attributes(json)
                let identity = person.identity
                #expect(json["known"] as? Bool == true, who)
                #expect(attributes.value("name") == identity.name, who)
                #expect(attributes.value("formerNames") == identity.formerNames.joined(separator: "、"), who)
                #expect(attributes.value("sex") == identity.sex, who)
                #expect(attributes.value("birthDate") == identity.birthDate, who)
                #expect(json["deceased"] as? Bool == identity.deceased, who)
                #expect(json["dateOfDeath"] as? String == identity.dateOfDeath, who)
                #expect(attributes.value("deceased") == identity.dateOfDeath, who)
                #expect(attributes.value("household") == person.asOf[0].householdId, who)
                #expect((attributes.value("address") != nil) == (person.asOf[0].householdId != nil), who)
                let all = PrefillQuestion.allFields.map(\.rawValue)
                #expect(attributes.order == all.filter { attributes.byField[$0] != nil }, "in the order asked")
                // Conflicts: every name another department spelt differently, listed, with the registered name.
                let conflicts = json["conflicts"] as? [[String: Any]] ?? []
                let actual = conflicts.map {
                    [
                        $0["department"] as? String ?? "?", $0["eventType"] as? String ?? "?",
                        $0["assertedValue"] as? String ?? "?",
                    ]
                }.sorted { $0.lexicographicallyPrecedes($1) }
                let wanted = identity.nameConflicts.map { [$0.department, $0.type, $0.name] }
                    .sorted { $0.lexicographicallyPrecedes($1) }
                #expect(actual == wanted, who)
                for conflict in conflicts {
                    #expect(conflict["field"] as? String == "name", who)
                    let registered = conflict["registeredValue"] as? String ?? "?"
                    #expect(([identity.name] + identity.formerNames).contains(registered), who)
                    #expect(registered != conflict["assertedValue"] as? String, who)
                }
                counts["conflicts", default: 0] += conflicts.count
                checkSources(json, who)
                if !identity.formerNames.isEmpty {
                    try await checkNameChange(api, person, attributes, who)
                    counts["renamed", default: 0] += 1
                }

                // On every check date: household, address, marital status, death, and the name before 18.
                for (index, date) in expected.checkDates.enumerated() {
                    let state = person.asOf[index]
                    let day = try await api.get(
                        "/v1/prefill?subject=\(person.id)&asOf=\(date)"
                            + "&fields=maritalStatus,household,address,deceased,name,formerNames,household")
                    let on = Attributes(day)
                    let when = Comment(rawValue: "\(who.rawValue) on \(date)")
                    let dead = identity.dateOfDeath.map { $0 <= date } ?? false
                    #expect(
                        on.order
                            == ["maritalStatus", "household", "address", "deceased", "name", "formerNames"]
                            .filter { on.byField[$0] != nil }, when)
                    #expect(on.value("household") == state.householdId, when)
                    #expect((on.value("address") != nil) == (state.householdId != nil), when)
                    #expect(day["deceased"] as? Bool == dead, when)
                    #expect(on.value("deceased") == (dead ? identity.dateOfDeath : nil), when)
                    if date < identity.birthDate {
                        #expect(day["known"] as? Bool == false, when)
                        #expect(on.order.isEmpty, when)
                        counts["unborn", default: 0] += 1
                        continue
                    }
                    if state.alive {
                        #expect(day["known"] as? Bool == true, when)
                        let status = Self.maritalStatus(of: person, on: date)
                        #expect(on.value("maritalStatus") == status, when)
                        #expect((status == "married") == (person.kinship.spouseOnCheckDates[index] != nil), when)
                        counts[status, default: 0] += 1
                        if identity.deceased { counts["dies later", default: 0] += 1 }
                        // No name changes before 18: a minor has the birth name and no former name.
                        if date < Self.eighteenthBirthday(identity.birthDate) {
                            #expect(on.value("name") == identity.formerNames.first ?? identity.name, when)
                            #expect(on.value("formerNames") == "", when)
                            counts["minor", default: 0] += 1
                        }
                    } else if dead {
                        // The status on the last day alive.
                        let last = CivilDateText.adding(days: -1, to: identity.dateOfDeath!)
                        #expect(on.value("maritalStatus") == Self.maritalStatus(of: person, on: last), when)
                        counts["dead", default: 0] += 1
                    }
                    checkSources(day, when)
                }
            }
            // The populations exercise what the checks are about.
            #expect(counts["married", default: 0] > 0 && counts["unmarried", default: 0] > 0, "\(counts)")
            #expect(counts["minor", default: 0] > 0 && counts["unborn", default: 0] > 0, "\(counts)")
            #expect(counts["dead", default: 0] > 0 && counts["dies later", default: 0] > 0, "\(counts)")
            #expect(counts["widowed", default: 0] > 0 && counts["divorced", default: 0] > 0, "\(counts)")
            #expect(counts["renamed", default: 0] > 0, "\(counts)")
            if anomalyRate > 0 { #expect(counts["conflicts", default: 0] > 0, "\(counts)") }

            try await checkQuestion(api, expected)
        }
    }

    /// The name in force before and from the day of the last name change (found from the source of today's name):
    /// the previous name and one former name fewer the day before, the new name from that day.
    func checkNameChange(
        _ api: APITestHarness.Connection, _ person: ExpectedAnswers.Person, _ today: Attributes, _ who: Comment
    ) async throws {
        let identity = person.identity
        let source = try #require(today.byField["name"], who)
        let instant = try #require(
            (source["effectiveTime"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }, who)
        // The Beijing day of the name change's effective time: its effective date.
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        formatter.dateFormat = "yyyy-MM-dd"
        let changed = formatter.string(from: instant)
        let before = Attributes(
            try await api.get(
                "/v1/prefill?subject=\(person.id)&asOf=\(CivilDateText.adding(days: -1, to: changed))"
                    + "&fields=name,formerNames"))
        #expect(before.value("name") == identity.formerNames.last, who)
        #expect(before.value("formerNames") == identity.formerNames.dropLast().joined(separator: "、"), who)
        let on = Attributes(try await api.get("/v1/prefill?subject=\(person.id)&asOf=\(changed)&fields=name"))
        #expect(on.value("name") == identity.name, who)
        #expect(on.byField["name"]?["eventId"] as? String == source["eventId"] as? String, who)
    }

    /// Fields chosen and ordered by the client, a person nobody recorded, a requester, and the refusals.
    func checkQuestion(_ api: APITestHarness.Connection, _ expected: ExpectedAnswers) async throws {
        let person = try #require(
            expected.sample.first {
                !$0.identity.deceased && $0.asOf[0].householdId != nil && $0.identity.nameConflicts.isEmpty
            })
        let asked = try await api.get(
            "/v1/prefill?subject=\(person.id)&asOf=\(expected.asOf)&fields=birthDate,name,birthDate,sex")
        #expect(Attributes(asked).order == ["birthDate", "name", "sex"], "each field once, in the order asked")
        let evidence = Set((asked["evidence"] as? [[String: Any]] ?? []).compactMap { $0["eventId"] as? String })
        let sources = Set(Attributes(asked).byField.values.compactMap { $0["eventId"] as? String })
        #expect(evidence == sources, "the evidence cites the attributes' events, no others: \(asked)")
        // An empty `fields` is no selection: every field, as when it is absent.
        let empty = try await api.get("/v1/prefill?subject=\(person.id)&asOf=\(expected.asOf)&fields=")
        let whole = try await api.get("/v1/prefill?subject=\(person.id)&asOf=\(expected.asOf)")
        #expect(Attributes(empty).order == Attributes(whole).order && Attributes(whole).order.count >= 6)

        // A well-formed ID nobody recorded: known false, nothing to fill in (not a 404).
        let stranger = "11010119900101999" + String(CitizenIDCheck.character(for: "11010119900101999"))
        let unknown = try await api.get("/v1/prefill?subject=\(stranger)")
        #expect(unknown["known"] as? Bool == false && unknown["deceased"] as? Bool == false)
        #expect((unknown["attributes"] as? [Any])?.isEmpty == true && (unknown["conflicts"] as? [Any])?.isEmpty == true)

        // A spouse may ask for the subject; a stranger may not.
        if let married = expected.sample.first(where: { $0.kinship.spouseOnCheckDates[0] != nil }) {
            var headers = api.headers
            headers[HTTPField.Name("Tongban-Requested-By")!] = married.kinship.spouseOnCheckDates[0]!
            let reply = try await api.send(
                .get, "/v1/prefill?subject=\(married.id)&asOf=\(expected.asOf)", headers: headers)
            #expect(reply.status == .ok, "\(reply.json)")
            headers[HTTPField.Name("Tongban-Requested-By")!] = stranger
            let refused = try await api.send(.get, "/v1/prefill?subject=\(married.id)", headers: headers)
            #expect(refused.status == .forbidden && refused.json["code"] as? String == "not-a-relative")
        }

        // Refusals, each a problem with its code.
        let future = CivilDateText.adding(days: 2, to: CertificateServicesAPI.beijingToday().description)
        let cases: [(String, HTTPResponse.Status, String)] = [
            ("subject=110101199001019991", .badRequest, "invalid-citizen-id"),
            ("subject=1%27%20OR%201%3D1--", .badRequest, "invalid-citizen-id"),
            ("subject=\(person.id)&fields=name,shoeSize", .badRequest, "unknown-field"),
            ("subject=\(person.id)&fields=name,,sex", .badRequest, "unknown-field"),
            ("subject=\(person.id)&asOf=\(future)", .badRequest, "date-in-future"),
            ("subject=\(person.id)&asOf=2020-02-30", .badRequest, "invalid-date"),
            ("asOf=\(expected.asOf)", .badRequest, "malformed-request"),
        ]
        for (query, status, code) in cases {
            let reply = try await api.send(.get, "/v1/prefill?\(query)")
            #expect(reply.status == status && reply.json["code"] as? String == code, "\(query): \(reply.json)")
            #expect(reply.headers[.contentType]?.hasPrefix("application/problem+json") == true, "\(query)")
        }

        // While the views are rebuilt (no checkpoint): 503 with Retry-After, never a partial answer.
        try await api.database.execute("DELETE FROM tongban.checkpoint")
        let early = try await api.send(.get, "/v1/prefill?subject=\(person.id)")
        #expect(early.status == .serviceUnavailable && early.json["code"] as? String == "views-not-ready")
        #expect(early.headers[.retryAfter] != nil)

        // The audit log names the fields answered, never a value.
        let summaries = try await api.database.query(
            "SELECT answer_summary FROM tongban.audit_log WHERE question = 'prefill' AND outcome = 'answered'"
        ).map { try $0.decode(String.self, at: 0) }
        #expect(summaries.contains("not known"))
        #expect(!summaries.contains { $0.contains(person.identity.name) || $0.contains(person.identity.birthDate) })
    }

    /// Every attribute cites an event of the evidence, from the department and of the kind its field comes from.
    func checkSources(_ json: [String: Any], _ who: Comment) {
        var evidence: [String: [String: Any]] = [:]
        for item in json["evidence"] as? [[String: Any]] ?? [] { evidence[item["eventId"] as? String ?? "?"] = item }
        let registration = ["household.birth-registered", "household.person-registered"]
        for (field, attribute) in Attributes(json).byField {
            let cited = evidence[attribute["eventId"] as? String ?? "?"]
            let type = cited?["type"] as? String ?? "<not in the evidence>"
            #expect(attribute["department"] as? String == cited?["department"] as? String, who)
            #expect(attribute["effectiveTime"] as? String == cited?["effectiveTime"] as? String, who)
            let kinds: [String]
            switch (field, attribute["value"] as? String) {
            case ("name", _): kinds = registration + ["household.name-changed"]
            case ("formerNames", ""): kinds = registration
            case ("formerNames", _): kinds = ["household.name-changed"]
            case ("sex", _), ("birthDate", _), ("maritalStatus", "unmarried"): kinds = registration
            case ("household", _): kinds = registration + ["household.member-moved-in"]
            case ("address", _): kinds = ["household.household-established"]
            case ("maritalStatus", "married"): kinds = ["civil-affairs.marriage-registered"]
            case ("maritalStatus", "divorced"): kinds = ["civil-affairs.divorce-registered"]
            case ("maritalStatus", "widowed"), ("deceased", _): kinds = ["household.death-registered"]
            default: kinds = []
            }
            #expect(kinds.contains { type.hasPrefix($0 + ".") }, "\(who.rawValue): \(field) from \(type)")
        }
    }

    /// Marital status at the end of `day`, from the ground truth's marriages: married while one lasts, else how
    /// the last one to end ended, else unmarried.
    static func maritalStatus(of person: ExpectedAnswers.Person, on day: String) -> String {
        let begun = person.kinship.marriages.filter { $0.from <= day }
        if begun.contains(where: { $0.until.map { day < $0 } ?? true }) { return "married" }
        guard let last = begun.max(by: { ($0.until ?? "") < ($1.until ?? "") }) else { return "unmarried" }
        return last.endedBy == "divorce" ? "divorced" : "widowed"
    }

    /// The day a person born on `birthDate` turns 18 (`YYYY-MM-DD`; 29 February stays as text, which still orders
    /// correctly).
    static func eighteenthBirthday(_ birthDate: String) -> String {
        let year = Int(birthDate.prefix(4))! + 18
        return "\(year)" + birthDate.dropFirst(4)
    }
}
