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

/// `GET /v1/medical-insurance` through a real socket, over generated populations of several seeds: the scheme, the
/// e-vouchers and the filings in force of every sampled person on every check date equal the generator's ground
/// truth; `region` is covered by a filing's own region and not by an unrelated one, and a prefecture's or province's
/// filing covers its districts; the refusals are problems; every response is checked against schemas/openapi.yaml and
/// every request is in the audit log.
@Suite("#19 certificate services API: medical insurance", .sharedMachine)
struct MedicalInsuranceAPITests {
    /// The populations' seeds (40 people each).
    static let seeds: [UInt64] = [7, 31, 83]

    /// Regions of provinces the generator never files care to, to pick an unrelated region from.
    static let farRegions = ["650102", "460105", "540102", "150102"]

    @Test("#19 medical insurance of every person on every check date equals the ground truth; coverage; refusals")
    func medicalInsurance() async throws {
        // Answers seen enrolled, with filings in force, with vouchers.
        let seen = Mutex((enrolled: 0, withFilings: 0, withVouchers: 0))
        for seed in Self.seeds {
            let population = try SignedPopulation.make(people: 40, seed: seed, anomalyRate: 0)
            let expected = population.expected
            let sent = try Self.sentFacts(population)
            try await APITestHarness.withServer(population) { api in
                if seed == Self.seeds[0] { try await Self.refusals(api, expected) }
                for person in expected.sample {
                    for (index, date) in expected.checkDates.enumerated() {
                        let truth = person.asOf[index]
                        let context = "seed \(seed), \(person.id) on \(date)"
                        let uri = "/v1/medical-insurance?subject=\(person.id)&asOf=\(date)"
                        let answer = try await api.get(uri)
                        #expect(answer["enrolled"] as? Bool == (truth.medicalScheme != nil), "\(context)")
                        let enrollment = answer["enrollment"] as? [String: Any]
                        #expect(enrollment?["scheme"] as? String == truth.medicalScheme, "\(context)")
                        #expect(answer["coverage"] == nil, "\(context): no region asked about")
                        let filings = Self.filingIDs(answer)
                        #expect(filings == truth.activeFilingIds, "\(context)")
                        let vouchers = (answer["vouchers"] as? [[String: Any]] ?? []).compactMap {
                            $0["voucherId"] as? String
                        }
                        let activated = sent.vouchers[person.id, default: []].filter { $0.day <= date }.map(\.id)
                        #expect(Set(vouchers) == Set(activated) && vouchers.count == activated.count, "\(context)")
                        Self.checkEvidence(answer, context)
                        seen.withLock {
                            if truth.medicalScheme != nil { $0.enrolled += 1 }
                            if !vouchers.isEmpty { $0.withVouchers += 1 }
                        }

                        // Coverage: each filing's own region is covered (by exactly the filings to it); a region
                        // of a province no filing goes to is not.
                        for filing in truth.activeFilingIds {
                            let region = try #require(sent.filingRegions[filing], "\(context): \(filing)")
                            let coverage = try await Self.coverage(api, uri, region)
                            let covering = truth.activeFilingIds.filter { sent.filingRegions[$0] == region }
                            #expect(coverage.covered && coverage.filingIds == covering, "\(context) in \(region)")
                        }
                        let used = Set(truth.activeFilingIds.compactMap { sent.filingRegions[$0]?.prefix(2) })
                        let far = try #require(Self.farRegions.first { !used.contains($0.prefix(2)) })
                        let elsewhere = try await Self.coverage(api, uri, far)
                        #expect(!elsewhere.covered && elsewhere.filingIds.isEmpty, "\(context) in \(far)")
                        if !truth.activeFilingIds.isEmpty { seen.withLock { $0.withFilings += 1 } }
                    }
                }
                if seed == Self.seeds[0] { try await Self.constructedCases(api, expected) }
            }
        }
        let counts = seen.withLock { $0 }
        #expect(counts.enrolled > 20 && counts.withFilings > 3 && counts.withVouchers > 3, "\(counts)")
    }

    /// Cases the generator does not make, written into the facts here for a citizen nobody registered: a
    /// prefecture's filing covers its districts and itself, not its province or another prefecture, and a province's
    /// covers all of it (the generator files only to districts); a voucher activated early in the morning counts from
    /// its Beijing day, not its UTC one.
    static func constructedCases(_ api: APITestHarness.Connection, _ expected: ExpectedAnswers) async throws {
        let digits = "44010619800101123"
        let person = digits + String(CitizenIDCheck.character(for: digits))
        for (id, to) in [("MI-TEST-PREFECTURE", "440100"), ("MI-TEST-PROVINCE", "510000")] {
            try await api.database.execute(
                """
                INSERT INTO tongban.mi_filing (filing_id, person_id, from_region, to_region, category, valid_from,
                    valid_to, effective_time, event_id, fact_hash)
                VALUES (\(id), \(person), '110105', \(to), 'long-term-residence', '2020-01-01', NULL,
                    '2020-01-01T00:00:00+08:00', gen_random_uuid(), gen_random_uuid())
                """)
        }
        let uri = "/v1/medical-insurance?subject=\(person)&asOf=\(expected.asOf)"
        let cases: [(String, [String])] = [
            ("440100", ["MI-TEST-PREFECTURE"]), ("440106", ["MI-TEST-PREFECTURE"]), ("440000", []),
            ("440305", []), ("510104", ["MI-TEST-PROVINCE"]), ("510000", ["MI-TEST-PROVINCE"]),
            ("511102", ["MI-TEST-PROVINCE"]),
            ("520102", []),
        ]
        for (region, covering) in cases {
            let coverage = try await coverage(api, uri, region)
            #expect(coverage.covered == !covering.isEmpty && coverage.filingIds == covering, "\(region)")
        }
        // Before the filings held: nothing in force, nothing covered.
        let before = try await api.get(
            "/v1/medical-insurance?subject=\(person)&asOf=2019-12-31&region=440106")
        #expect(filingIDs(before).isEmpty && (before["coverage"] as? [String: Any])?["covered"] as? Bool == false)

        // A voucher activated at 07:30 Beijing time (23:30 UTC the day before) counts from its Beijing day.
        try await api.database.execute(
            """
            INSERT INTO tongban.mi_voucher (person_id, voucher_id, activated_at, effective_time, event_id, fact_hash)
            VALUES (\(person), 'EV-TEST-MORNING', '2024-03-10T07:30:00+08:00', '2024-03-10T07:30:00+08:00',
                gen_random_uuid(), gen_random_uuid())
            """)
        for (day, listed) in [("2024-03-09", false), ("2024-03-10", true)] {
            let answer = try await api.get("/v1/medical-insurance?subject=\(person)&asOf=\(day)")
            let vouchers = (answer["vouchers"] as? [[String: Any]] ?? []).compactMap { $0["voucherId"] as? String }
            #expect(vouchers == (listed ? ["EV-TEST-MORNING"] : []), "\(day)")
        }
    }

    /// The views not ready, and the refusals, each a problem with its code.
    static func refusals(_ api: APITestHarness.Connection, _ expected: ExpectedAnswers) async throws {
        let person = try #require(expected.sample.first)
        let path = "/v1/medical-insurance"
        try await api.database.execute("DELETE FROM tongban.checkpoint")
        let early = try await api.send(.get, "\(path)?subject=\(person.id)")
        #expect(early.status == .serviceUnavailable && early.json["code"] as? String == "views-not-ready")
        #expect(early.headers[.retryAfter] != nil)
        try await api.database.execute(
            """
            INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
            VALUES ('tongban.views', 'tongban.household', 0, 1, 1)
            """)
        let future = CivilDateText.adding(days: 2, to: CertificateServicesAPI.beijingToday().description)
        let cases: [(String, HTTPResponse.Status, String)] = [
            ("subject=110101199001019991", .badRequest, "invalid-citizen-id"),
            ("subject=\(person.id)&asOf=2021-02-30", .badRequest, "invalid-date"),
            ("subject=\(person.id)&asOf=\(future)", .badRequest, "date-in-future"),
            ("subject=\(person.id)&region=11010", .badRequest, "invalid-region-code"),
            ("subject=\(person.id)&region=1101011", .badRequest, "invalid-region-code"),
            ("subject=\(person.id)&region=11o101", .badRequest, "invalid-region-code"),
            (
                "subject=\(person.id)&region=%EF%BC%91%EF%BC%91%EF%BC%90%EF%BC%91%EF%BC%90%EF%BC%91", .badRequest,
                "invalid-region-code"
            ),
            ("subject=\(person.id)&region=110101%27--", .badRequest, "invalid-region-code"),
            ("region=110101", .badRequest, "malformed-request"),
        ]
        for (query, status, code) in cases {
            try await api.expectRefusal("\(path)?\(query)", status, code)
        }
        try await api.expectRefusal(
            "\(path)?subject=\(person.id)", .unauthorized, "invalid_token",
            headers: [.authorization: "Bearer not.a.token", HTTPField.Name("Tongban-Purpose")!: "certificate"])
        let propertyOnly = try await api.headers(forClientWith: [.property])
        try await api.expectRefusal(
            "\(path)?subject=\(person.id)", .forbidden, "scope_not_granted", headers: propertyOnly)
    }

    /// What the departments sent that the ground truth does not list: each filing's region and each person's
    /// e-vouchers with their activation day (Beijing time).
    struct SentFacts {
        var filingRegions: [String: String] = [:]
        var vouchers: [String: [(id: String, day: String)]] = [:]
    }

    /// Reads the filings' `toRegion` and the vouchers from the population's events.
    static func sentFacts(_ population: SignedPopulation) throws -> SentFacts {
        var facts = SentFacts()
        for event in population.events where event.shouldBeApplied {
            guard
                event.type.hasPrefix("medical-insurance.cross-region-care-filed")
                    || event.type.hasPrefix("medical-insurance.e-voucher-activated")
            else { continue }
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(event.line)) as? [String: Any])
            let data = try #require(envelope["data"] as? [String: Any], "\(event.type)")
            if let filing = data["filingId"] as? String {
                facts.filingRegions[filing] = try #require(data["toRegion"] as? String)
            } else {
                let person = try #require(data["personId"] as? String)
                let activated = try #require(data["activatedAt"] as? String)
                #expect(activated.hasSuffix("+08:00"), "the activation day is the text's own day")
                facts.vouchers[person, default: []].append(
                    (try #require(data["voucherId"] as? String), String(activated.prefix(10))))
            }
        }
        return facts
    }

    /// Asks `uri` with `region`; the answer's coverage.
    static func coverage(
        _ api: APITestHarness.Connection, _ uri: String, _ region: String
    ) async throws -> (covered: Bool, filingIds: [String]) {
        let answer = try await api.get(uri + "&region=\(region)")
        let coverage = try #require(answer["coverage"] as? [String: Any], "\(uri) \(region)")
        #expect(coverage["region"] as? String == region)
        return (coverage["covered"] as? Bool ?? false, coverage["filingIds"] as? [String] ?? ["?"])
    }

    /// An answer's filing ids, in the answer's order.
    static func filingIDs(_ answer: [String: Any]) -> [String] {
        (answer["filings"] as? [[String: Any]] ?? []).compactMap { $0["filingId"] as? String }
    }

    /// Every event the answer rests on is in its evidence, and the stream position is given.
    static func checkEvidence(_ answer: [String: Any], _ context: String) {
        let cited = Set((answer["evidence"] as? [[String: Any]] ?? []).compactMap { $0["eventId"] as? String })
        var used = (answer["filings"] as? [[String: Any]] ?? []).compactMap { $0["eventId"] as? String }
        used += (answer["vouchers"] as? [[String: Any]] ?? []).compactMap { $0["eventId"] as? String }
        if let enrollment = answer["enrollment"] as? [String: Any] {
            used.append(enrollment["eventId"] as? String ?? "?")
        }
        #expect(Set(used) == cited, "\(context)")
        #expect((answer["streamPosition"] as? [Any])?.isEmpty == false, "\(context)")
    }
}
