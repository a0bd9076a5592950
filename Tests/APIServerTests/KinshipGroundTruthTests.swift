import Foundation
import Postgres
import SyntheticPopulation
import Testing
import TongbanTesting

/// The kinship question through HTTP against the generator's ground truth, over several populations: parents by
/// birth from both sides, adoptions from their first day to their dissolution, siblings and grandparents with the
/// people the relation runs through, and `tongban.relations_between()` agreeing with `tongban.relations()`; and the
/// months of social insurance paid by the same people.
@Suite("#19 kinship and months paid over HTTP equal the ground truth (several seeds)", .sharedMachine)
struct KinshipGroundTruthTests {
    /// Two small populations, and one large enough to hold adoptions and their dissolution (of its sample, the
    /// first 30 people and everyone adopted are asked about).
    @Test(
        "#19 parents, adoptions before/during/after, siblings and grandparents with their path",
        arguments: [(3, 40), (29, 40), (27, 500)] as [(UInt64, Int)])
    func groundTruth(seed: UInt64, people: Int) async throws {
        let population = try SignedPopulation.make(people: people, seed: seed, anomalyRate: 0)
        let expected = population.expected
        let asked =
            Array(expected.sample.prefix(30))
            + expected.sample.dropFirst(30).filter { !$0.kinship.adoptions.isEmpty }
        try await APITestHarness.withServer(population) { api in
            func relations(_ subject: String, _ relative: String, _ day: String) async throws -> [String: [String]] {
                let json = try await api.get("/v1/kinship?subject=\(subject)&relative=\(relative)&asOf=\(day)")
                var found: [String: [String]] = [:]
                for relation in json["relations"] as? [[String: Any]] ?? [] {
                    let name = "\(relation["relation"] as? String ?? "?")/\(relation["basis"] as? String ?? "?")"
                    found[name] = relation["via"] as? [String] ?? ["<missing via>"]
                }
                #expect(json["found"] as? Bool == !found.isEmpty)
                return found
            }
            var adoptionsChecked = 0
            var secondDegree = 0
            var dissolutions = 0
            for person in asked {
                let parents = [person.kinship.motherId, person.kinship.fatherId].compactMap { $0 }
                for parent in parents {
                    #expect(try await relations(person.id, parent, expected.asOf)["parent/birth"] == [])
                    #expect(try await relations(parent, person.id, expected.asOf)["child/birth"] == [])
                }
                for adoption in person.kinship.adoptions {
                    for parent in adoption.parentIds where !parents.contains(parent) {
                        let before = CivilDateText.adding(days: -1, to: adoption.from)
                        #expect(try await relations(person.id, parent, before)["parent/adoption"] == nil, "\(before)")
                        #expect(try await relations(person.id, parent, adoption.from)["parent/adoption"] == [])
                        #expect(try await relations(parent, person.id, adoption.from)["child/adoption"] == [])
                        if let until = adoption.until {
                            dissolutions += 1
                            let last = CivilDateText.adding(days: -1, to: until)
                            if last >= adoption.from {
                                #expect(try await relations(person.id, parent, last)["parent/adoption"] == [])
                            }
                            #expect(try await relations(person.id, parent, until)["parent/adoption"] == nil, "\(until)")
                        }
                        adoptionsChecked += 1
                    }
                }
                for sibling in person.kinship.siblingIds {
                    let via = try await relations(person.id, sibling, expected.asOf)["sibling/birth"]
                    #expect(
                        via.map { !$0.isEmpty && Set($0).isSubset(of: parents) } == true, "\(String(describing: via))")
                    secondDegree += 1
                }
                for grandparent in person.kinship.grandparentIds {
                    let via = try await relations(person.id, grandparent, expected.asOf)["grandparent/birth"]
                    #expect(
                        via.map { !$0.isEmpty && Set($0).isSubset(of: parents) } == true, "\(String(describing: via))")
                    let back = try await relations(grandparent, person.id, expected.asOf)["grandchild/birth"]
                    #expect(back == via, "the same parent, seen from the grandparent")
                    secondDegree += 1
                }
            }
            #expect(secondDegree > 10, "the populations hold siblings and grandparents")
            if people >= 500 {
                #expect(
                    adoptionsChecked > 3 && dissolutions > 0, "\(adoptionsChecked) adoptions, \(dissolutions) ended")
            }

            // Months of social insurance paid over the ground truth's period, for the same people: per type, the
            // months paid (reversals not counted), the first and last month, the gaps, continuity.
            let period = "from=\(expected.contributionsFrom)&to=\(expected.contributionsTo)"
            var paying = 0
            for person in asked {
                let json = try await api.get("/v1/social-insurance/contributions?subject=\(person.id)&\(period)")
                let insurance = json["insurance"] as? [[String: Any]] ?? []
                #expect(insurance.map { $0["insuranceType"] as? String } == person.contributions.map(\.insuranceType))
                for (actual, truth) in zip(insurance, person.contributions) {
                    #expect(actual["monthsPaid"] as? Int == truth.monthsPaid, "\(person.id)")
                    #expect(actual["firstMonth"] as? String == truth.firstMonth, "\(person.id)")
                    #expect(actual["lastMonth"] as? String == truth.lastMonth, "\(person.id)")
                    #expect(actual["unpaidMonths"] as? [String] == truth.unpaidMonths, "\(person.id)")
                    #expect(actual["continuous"] as? Bool == truth.continuous, "\(person.id)")
                }
                if !person.contributions.isEmpty { paying += 1 }
            }
            #expect(paying > 5)

            // relations_between() gives, for every pair, exactly the rows relations() gives (relation, basis and
            // evidence), on every check date.
            let differences = try await api.database.query(
                """
                WITH person(id) AS (SELECT unnest(\(asked.map(\.id))::text[])),
                day(d) AS (SELECT unnest(\(expected.checkDates)::date[])),
                everyone AS (
                    SELECT p.id, d.d, r.relative_id, r.relation, r.basis, r.evidence
                    FROM person p CROSS JOIN day d CROSS JOIN LATERAL tongban.relations(p.id, d.d) r
                ), pairwise AS (
                    SELECT e.id, e.d, e.relative_id, b.relation, b.basis, b.evidence
                    FROM (SELECT DISTINCT id, d, relative_id FROM everyone) e
                    CROSS JOIN LATERAL tongban.relations_between(e.id, e.relative_id, e.d) b
                )
                SELECT (SELECT count(*) FROM everyone),
                    (SELECT count(*) FROM ((TABLE everyone EXCEPT TABLE pairwise)
                        UNION ALL (TABLE pairwise EXCEPT TABLE everyone)) x)
                """)
            #expect(try differences[0].decode(Int.self, at: 0) > 50)
            #expect(try differences[0].decode(Int.self, at: 1) == 0)
        }
    }
}
