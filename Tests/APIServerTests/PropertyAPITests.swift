import API
import Events
import Foundation
import HTTPTypes
import Postgres
import Synchronization
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import APIServer

/// `GET /v1/property/titles` through a real socket, over generated populations of several seeds: the titles, shares,
/// co-ownership and encumbrances of every sampled person, alone and with their family, on every check date, equal the
/// generator's ground truth; the family's no-property answer; the refusals as problems; every response against
/// schemas/openapi.yaml and every request in the audit log (with the family members looked up as its subjects).
@Suite("#19 certificate services API: property titles", .sharedMachine)
struct PropertyAPITests {
    /// The populations' seeds (40 people each; every person is in the ground truth's sample).
    static let seeds: [UInt64] = [5, 23, 61]

    /// How often each case the ground truth must exercise was seen, over all seeds.
    struct Seen {
        var titles = 0
        var coOwned = 0
        var encumbrances = 0
        var families = 0
        var minorChildren = 0
        var familyWithoutProperty = 0
        var spouseHoldsForPersonWithout = 0
    }

    @Test("#19 titles of every person and family on every check date equal the ground truth; refusals are problems")
    func titles() async throws {
        let seen = Mutex(Seen())
        for seed in Self.seeds {
            let population = try SignedPopulation.make(people: 40, seed: seed, anomalyRate: 0)
            let expected = population.expected
            // The family ground truth below needs every relative's answers: the sample must be the whole population.
            try #require(expected.sample.count == expected.people, "seed \(seed)")
            let people = Dictionary(uniqueKeysWithValues: expected.sample.map { ($0.id, $0) })
            try await APITestHarness.withServer(population) { api in
                if seed == Self.seeds[0] { try await Self.refusals(api, expected) }
                for person in expected.sample {
                    for (index, date) in expected.checkDates.enumerated() {
                        let truth = person.asOf[index]
                        let uri = "/v1/property/titles?subject=\(person.id)&asOf=\(date)"

                        // The person alone.
                        let alone = try await api.get(uri)
                        let context = "seed \(seed), \(person.id) on \(date)"
                        #expect(alone["family"] as? Bool == false, "\(context)")
                        #expect(Self.members(alone) == ["\(person.id):self"], "\(context)")
                        #expect(Self.titles(alone) == Self.expectedTitles([person.id], index, people), "\(context)")
                        #expect(
                            Self.encumbrances(alone) == Self.expectedEncumbrances([person.id], index, people),
                            "\(context)")
                        #expect(alone["holdsProperty"] as? Bool == !truth.titles.isEmpty, "\(context)")
                        Self.checkFields(alone, on: date, context)
                        seen.withLock {
                            $0.titles += truth.titles.count
                            $0.coOwned += truth.titles.filter { $0.coOwnership != "sole" }.count
                            $0.encumbrances += truth.encumbrances.count
                        }

                        // The family: the person, the spouse that day, the children under 18 living that day.
                        let family = Self.family(of: person, at: index, in: expected)
                        let together = try await api.get(uri + "&family=true")
                        #expect(together["family"] as? Bool == true, "\(context)")
                        #expect(Self.members(together) == Set(family.map { "\($0.key):\($0.value)" }), "\(context)")
                        #expect(
                            Self.titles(together) == Self.expectedTitles(Array(family.keys), index, people),
                            "\(context)")
                        #expect(
                            Self.encumbrances(together) == Self.expectedEncumbrances(Array(family.keys), index, people),
                            "\(context)")
                        let familyHolds = family.keys.contains { !people[$0]!.asOf[index].titles.isEmpty }
                        #expect(together["holdsProperty"] as? Bool == familyHolds, "\(context)")
                        Self.checkFields(together, on: date, context)
                        if family.count > 1 {
                            seen.withLock {
                                $0.families += 1
                                if !familyHolds { $0.familyWithoutProperty += 1 }
                            }
                            // Everyone looked up is a subject of the audited request.
                            #expect(
                                Set(try await api.lastAuditedSubjects(of: "property")) == Set(family.keys),
                                "\(context)")
                        }
                        seen.withLock { $0.minorChildren += family.values.filter { $0 == "minor-child" }.count }
                        if truth.titles.isEmpty, let spouse = person.kinship.spouseOnCheckDates[index],
                            !people[spouse]!.asOf[index].titles.isEmpty
                        {
                            // The spouse holds a title, the person none: the family holds property.
                            #expect(alone["holdsProperty"] as? Bool == false, "\(context)")
                            #expect(together["holdsProperty"] as? Bool == true, "\(context)")
                            seen.withLock { $0.spouseHoldsForPersonWithout += 1 }
                        }
                    }
                }
            }
        }
        // The populations exercise every case the answers must get right.
        let counts = seen.withLock { $0 }
        #expect(counts.titles > 20 && counts.coOwned > 5 && counts.encumbrances > 3, "\(counts)")
        #expect(counts.families > 20 && counts.minorChildren > 5, "\(counts)")
        #expect(counts.familyWithoutProperty > 0, "a family no-property answer: \(counts)")
        #expect(counts.spouseHoldsForPersonWithout > 0, "a spouse's title makes the family hold property: \(counts)")
    }

    /// The views not ready, a relative asking for the subject, and the refusals, each a problem with its code.
    static func refusals(_ api: APITestHarness.Connection, _ expected: ExpectedAnswers) async throws {
        let person = try #require(expected.sample.first { $0.kinship.spouseOnCheckDates[0] != nil })
        let spouse = try #require(person.kinship.spouseOnCheckDates[0])
        let path = "/v1/property/titles"

        // Nothing certain while the views are rebuilt (no checkpoint): 503 with Retry-After.
        try await api.database.execute("DELETE FROM tongban.checkpoint")
        let early = try await api.send(.get, "\(path)?subject=\(person.id)")
        #expect(early.status == .serviceUnavailable && early.json["code"] as? String == "views-not-ready")
        #expect(early.headers[.retryAfter] != nil)
        try await api.database.execute(
            """
            INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
            VALUES ('tongban.views', 'tongban.household', 0, 1, 1)
            """)

        // The spouse may ask for the person; the audit log names the spouse as acting for them.
        var onBehalf = api.headers
        onBehalf[HTTPField.Name("Tongban-Requested-By")!] = spouse
        let asked = try await api.send(
            .get, "\(path)?subject=\(person.id)&asOf=\(expected.asOf)&family=true", headers: onBehalf)
        #expect(asked.status == .ok, "\(asked.json)")
        let actor = try await api.database.query(
            "SELECT on_behalf_of FROM tongban.audit_log WHERE question = 'property' ORDER BY seq DESC LIMIT 1")
        #expect(try actor[0].decode(String?.self, at: 0) == spouse)

        let future = CivilDateText.adding(days: 2, to: CertificateServicesAPI.beijingToday().description)
        let cases: [(String, HTTPResponse.Status, String)] = [
            ("subject=110101199001019991", .badRequest, "invalid-citizen-id"),
            ("subject=1%27%20OR%201%3D1--", .badRequest, "invalid-citizen-id"),
            ("subject=\(person.id)&asOf=2020-13-01", .badRequest, "invalid-date"),
            ("subject=\(person.id)&asOf=yesterday", .badRequest, "invalid-date"),
            ("subject=\(person.id)&asOf=\(future)", .badRequest, "date-in-future"),
            ("subject=\(person.id)&family=maybe", .badRequest, "malformed-request"),
            ("asOf=\(expected.asOf)", .badRequest, "malformed-request"),
        ]
        for (query, status, code) in cases {
            try await api.expectRefusal("\(path)?\(query)", status, code)
        }
        // Without a token, and with a token whose client may not ask about property.
        try await api.expectRefusal(
            "\(path)?subject=\(person.id)", .unauthorized, "missing_token",
            headers: [HTTPField.Name("Tongban-Purpose")!: "certificate"])
        let kinshipOnly = try await api.headers(forClientWith: [.kinship])
        try await api.expectRefusal(
            "\(path)?subject=\(person.id)", .forbidden, "scope_not_granted", headers: kinshipOnly)
    }

    /// The family of `person` on check date `index`, from the ground truth: id → role.
    ///
    /// The person; the spouse that day; every child by birth (a registered mother or father) or by an adoption in
    /// force that day who is born, under 18 and not dead that day.
    static func family(
        of person: ExpectedAnswers.Person, at index: Int, in expected: ExpectedAnswers
    ) -> [String: String] {
        let date = expected.checkDates[index]
        var members = [person.id: "self"]
        if let spouse = person.kinship.spouseOnCheckDates[index] { members[spouse] = "spouse" }
        for child in expected.sample where members[child.id] == nil {
            let byBirth = child.kinship.motherId == person.id || child.kinship.fatherId == person.id
            let byAdoption = child.kinship.adoptions.contains { adoption in
                adoption.parentIds.contains(person.id) && adoption.from <= date
                    && adoption.until.map { date < $0 } ?? true
            }
            let born = child.identity.birthDate
            guard byBirth || byAdoption, born <= date, date < CheckDay.adding(years: 18, to: born) else { continue }
            if let death = child.identity.dateOfDeath, death <= date { continue }
            members[child.id] = "minor-child"
        }
        return members
    }

    /// The titles the ground truth gives `holders` on check date `index`, as `title|holder|share|coOwnership`.
    static func expectedTitles(
        _ holders: [String], _ index: Int, _ people: [String: ExpectedAnswers.Person]
    ) -> Set<String> {
        Set(
            holders.flatMap { holder in
                people[holder]!.asOf[index].titles.map { "\($0.titleNumber)|\(holder)|\($0.share)|\($0.coOwnership)" }
            })
    }

    /// The encumbrances the ground truth gives `holders` on check date `index`, as `title|kind|record`.
    static func expectedEncumbrances(
        _ holders: [String], _ index: Int, _ people: [String: ExpectedAnswers.Person]
    ) -> Set<String> {
        Set(
            holders.flatMap { holder in
                people[holder]!.asOf[index].encumbrances.map { "\($0.titleNumber)|\($0.kind)|\($0.recordNumber)" }
            })
    }

    /// An answer's members, as `id:role`.
    static func members(_ answer: [String: Any]) -> Set<String> {
        Set(
            (answer["members"] as? [[String: Any]] ?? []).map {
                "\($0["personId"] as? String ?? "?"):\($0["role"] as? String ?? "?")"
            })
    }

    /// An answer's titles, as `title|holder|share|coOwnership`.
    static func titles(_ answer: [String: Any]) -> Set<String> {
        Set(
            (answer["titles"] as? [[String: Any]] ?? []).map { title in
                ["titleNumber", "holderId", "share", "coOwnership"].map { title[$0] as? String ?? "?" }
                    .joined(separator: "|")
            })
    }

    /// An answer's encumbrances, as `title|kind|record`.
    static func encumbrances(_ answer: [String: Any]) -> Set<String> {
        Set(
            (answer["titles"] as? [[String: Any]] ?? []).flatMap { title in
                (title["encumbrances"] as? [[String: Any]] ?? []).map {
                    "\(title["titleNumber"] as? String ?? "?")|\($0["kind"] as? String ?? "?")|"
                        + "\($0["recordNumber"] as? String ?? "?")"
                }
            })
    }

    /// What the schema cannot say: decimal strings, dates not after the day, every cited event in `evidence`.
    static func checkFields(_ answer: [String: Any], on date: String, _ context: String) {
        let decimal = #/[0-9]+\.[0-9]{2}/#
        let cited = Set((answer["evidence"] as? [[String: Any]] ?? []).compactMap { $0["eventId"] as? String })
        for title in answer["titles"] as? [[String: Any]] ?? [] {
            #expect((title["areaSquareMeters"] as? String)?.wholeMatch(of: decimal) != nil, "\(context): \(title)")
            #expect((title["ownedFrom"] as? String ?? "9999") <= date, "\(context): \(title)")
            let evidence = title["evidence"] as? [String] ?? []
            #expect(!evidence.isEmpty && Set(evidence).isSubset(of: cited), "\(context): \(title)")
            for burden in title["encumbrances"] as? [[String: Any]] ?? [] {
                #expect((burden["registeredOn"] as? String ?? "9999") <= date, "\(context): \(burden)")
                #expect(cited.contains(burden["eventId"] as? String ?? "?"), "\(context): \(burden)")
                if burden["kind"] as? String == "mortgage" {
                    #expect((burden["amount"] as? String)?.wholeMatch(of: decimal) != nil, "\(context): \(burden)")
                } else {
                    #expect(burden["caseNumber"] is String, "\(context): \(burden)")
                }
            }
        }
        for member in answer["members"] as? [[String: Any]] ?? [] where member["role"] as? String != "self" {
            let evidence = member["evidence"] as? [String] ?? []
            #expect(!evidence.isEmpty && Set(evidence).isSubset(of: cited), "\(context): \(member)")
        }
        #expect((answer["streamPosition"] as? [Any])?.isEmpty == false, "\(context)")
    }
}
