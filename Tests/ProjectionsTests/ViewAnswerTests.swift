import Foundation
import Postgres
import Projections
import SyntheticPopulation
import Testing
import TongbanTesting

/// The views answer what the generator knows about its sample, through the contract views and functions.
@Suite("Views answer the expected answers", .sharedMachine)
struct ViewAnswerTests {
    @Test("validation rejects exactly the invalid anomalies")
    func validationAgreesWithTheGenerator() {
        for population in [ProjectionFixtures.answers1, ProjectionFixtures.answers2] {
            #expect(population.wronglyRejected == 0)
            #expect(population.wronglyAccepted == 0)
            #expect(population.rejected > 0)
        }
    }

    @Test("expected answers", arguments: [1, 2])
    func expectedAnswers(population index: Int) async throws {
        let population = index == 1 ? ProjectionFixtures.answers1 : ProjectionFixtures.answers2
        try await withTestDatabase { db in
            try await ProjectionFixtures.migrate(db.client)
            let store = ViewStore()
            try await ProjectionFixtures.apply(population.events, batchSize: 2_000, store: store, client: db.client)
            try await db.client.withConnection { connection in
                let expected = population.expected
                let sample = expected.sample
                #expect(sample.count > 100)
                // The sample exercises the rarer histories (otherwise the checks below prove little).
                #expect(sample.contains { !$0.identity.nameConflicts.isEmpty })
                #expect(sample.contains { !$0.identity.formerNames.isEmpty })
                #expect(sample.contains { $0.identity.deceased })
                #expect(sample.contains { !$0.kinship.adoptions.isEmpty })
                #expect(sample.contains { $0.kinship.marriages.contains { $0.endedBy == "divorce" } })
                #expect(sample.contains { $0.contributions.contains { !$0.continuous } })
                #expect(sample.contains { $0.asOf.contains { !$0.encumbrances.isEmpty } })
                #expect(sample.contains { $0.asOf.contains { !$0.activeFilingIds.isEmpty } })
                #expect(sample.contains { $0.asOf.contains { $0.titles.contains { $0.share != "1/1" } } })
                for person in expected.sample {
                    try await check(person, expected: expected, on: connection)
                }
            }
        }
    }

    func check(
        _ person: ExpectedAnswers.Person, expected: ExpectedAnswers, on connection: PostgresConnection
    ) async throws {
        let id = person.id
        let who = Comment(rawValue: "person \(id)")

        // Identity.
        let identity = try await connection.query(
            """
            SELECT name, former_names, sex, birth_date::text, date_of_death::text, status, registered_on::text
            FROM tongban.v_identity WHERE person_id = \(id)
            """)
        try #require(identity.count == 1, who)
        let row = identity[0]
        #expect(try row.decode(String.self, at: 0) == person.identity.name, who)
        #expect(try row.decode([String].self, at: 1) == person.identity.formerNames, who)
        #expect(try row.decode(String.self, at: 2) == person.identity.sex, who)
        #expect(try row.decode(String.self, at: 3) == person.identity.birthDate, who)
        #expect(try row.decode(String?.self, at: 4) == person.identity.dateOfDeath, who)
        let status = try row.decode(String.self, at: 5)
        if person.identity.deceased {
            #expect(status == "deceased", who)
        } else {
            #expect(status == (person.identity.nameConflicts.isEmpty ? "verified" : "conflict"), who)
        }
        let registeredOn = try row.decode(String?.self, at: 6)
        let conflicts = try await connection.query(
            """
            SELECT department, event_type, asserted_value FROM tongban.v_identity_conflict
            WHERE person_id = \(id) AND attribute = 'name'
            """)
        let actualConflicts = try conflicts.map {
            [try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode(String.self, at: 2)]
        }.sorted { $0.lexicographicallyPrecedes($1) }
        let expectedConflicts = person.identity.nameConflicts.map { [$0.department, $0.type, $0.name] }
            .sorted { $0.lexicographicallyPrecedes($1) }
        #expect(actualConflicts == expectedConflicts, who)

        // Kinship: parentage by birth, adoptions, marriages.
        let parents = try await connection.query(
            "SELECT role, parent_id FROM tongban.v_parentage WHERE child_id = \(id) AND basis = 'birth'")
        var birthParents: [String: String] = [:]
        for parent in parents {
            birthParents[try parent.decode(String.self, at: 0)] = try parent.decode(String.self, at: 1)
        }
        #expect(birthParents["mother"] == person.kinship.motherId, who)
        #expect(birthParents["father"] == person.kinship.fatherId, who)

        let adoptions = try await connection.query(
            """
            SELECT adoption_record_number, adoptive_parent_ids, birth_parent_ids, valid_from::text, valid_until::text
            FROM tongban.v_adoption WHERE child_id = \(id) ORDER BY valid_from, adoption_record_number
            """)
        #expect(adoptions.count == person.kinship.adoptions.count, who)
        for (actual, adoption) in zip(adoptions, person.kinship.adoptions) {
            #expect(try actual.decode(String.self, at: 0) == adoption.adoptionRecordNumber, who)
            #expect(try actual.decode([String].self, at: 1) == adoption.parentIds, who)
            #expect(try actual.decode([String].self, at: 2) == adoption.birthParentIds, who)
            #expect(try actual.decode(String.self, at: 3) == adoption.from, who)
            #expect(try actual.decode(String?.self, at: 4) == adoption.until, who)
        }

        let marriages = try await connection.query(
            """
            SELECT marriage_record_number, CASE WHEN spouse_a_id = \(id) THEN spouse_b_id ELSE spouse_a_id END,
                married_on::text, ended_on::text, ended_by
            FROM tongban.v_marriage WHERE spouse_a_id = \(id) OR spouse_b_id = \(id)
            ORDER BY married_on, marriage_record_number
            """)
        #expect(marriages.count == person.kinship.marriages.count, who)
        for (actual, marriage) in zip(marriages, person.kinship.marriages) {
            #expect(try actual.decode(String.self, at: 0) == marriage.marriageRecordNumber, who)
            #expect(try actual.decode(String.self, at: 1) == marriage.spouseId, who)
            #expect(try actual.decode(String.self, at: 2) == marriage.from, who)
            #expect(try actual.decode(String?.self, at: 3) == marriage.until, who)
            #expect(try actual.decode(String?.self, at: 4) == marriage.endedBy, who)
        }

        // Relations through relations(): spouse on each check date; siblings and grandparents by birth.
        for (date, spouse) in zip(expected.checkDates, person.kinship.spouseOnCheckDates) {
            let spouses = try await connection.query(
                """
                SELECT relative_id FROM tongban.relations(\(id), \(date)::date) WHERE relation = 'spouse'
                """)
            #expect(try spouses.map { try $0.decode(String.self, at: 0) } == (spouse.map { [$0] } ?? []), who)
        }
        let relatives = try await connection.query(
            """
            SELECT relation, relative_id, cardinality(evidence) FROM tongban.relations(\(id), \(expected.asOf)::date)
            WHERE basis = 'birth' AND relation IN ('sibling', 'grandparent') ORDER BY relation, relative_id
            """)
        var siblings: [String] = []
        var grandparents: [String] = []
        for relative in relatives {
            let relativeID = try relative.decode(String.self, at: 1)
            #expect(try relative.decode(Int.self, at: 2) >= 2, "second-degree relations cite both links")
            if try relative.decode(String.self, at: 0) == "sibling" {
                siblings.append(relativeID)
            } else {
                grandparents.append(relativeID)
            }
        }
        #expect(siblings == person.kinship.siblingIds, who)
        #expect(grandparents == person.kinship.grandparentIds, who)

        // Contributions over the expected period.
        let contributions = try await connection.query(
            """
            SELECT insurance_type, months_paid, to_char(first_month, 'YYYY-MM'), to_char(last_month, 'YYYY-MM'),
                ARRAY(SELECT to_char(u, 'YYYY-MM') FROM unnest(unpaid_months) u ORDER BY u), continuous, longest_run
            FROM tongban.contribution_summary(\(id), (\(expected.contributionsFrom) || '-01')::date,
                (\(expected.contributionsTo) || '-01')::date)
            ORDER BY array_position(ARRAY['pension', 'medical', 'unemployment', 'work-injury', 'maternity'],
                insurance_type)
            """)
        #expect(contributions.count == person.contributions.count, who)
        for (actual, line) in zip(contributions, person.contributions) {
            #expect(try actual.decode(String.self, at: 0) == line.insuranceType, who)
            #expect(try actual.decode(Int.self, at: 1) == line.monthsPaid, who)
            #expect(try actual.decode(String.self, at: 2) == line.firstMonth, who)
            #expect(try actual.decode(String.self, at: 3) == line.lastMonth, who)
            #expect(try actual.decode([String].self, at: 4) == line.unpaidMonths, who)
            #expect(try actual.decode(Bool.self, at: 5) == line.continuous, who)
            let longest = try actual.decode(Int.self, at: 6)
            #expect(line.continuous ? longest == line.monthsPaid : longest < line.monthsPaid, who)
        }

        // State on each check date.
        for asOf in person.asOf {
            let date = asOf.date
            let on = Comment(rawValue: "person \(id) on \(date)")
            let alive =
                registeredOn.map { $0 <= date } == true
                && (person.identity.dateOfDeath.map { date < $0 } ?? true)
            #expect(alive == asOf.alive, on)
            let household = try await connection.query(
                "SELECT household_id FROM tongban.household_of(\(id), \(date)::date)")
            #expect(try household.first?.decode(String.self, at: 0) == asOf.householdId, on)

            let titles = try await connection.query(
                """
                SELECT title_number, share, co_ownership, share_numerator, share_denominator
                FROM tongban.titles_as_of(\(id), \(date)::date) ORDER BY title_number
                """)
            #expect(titles.count == asOf.titles.count, on)
            for (actual, title) in zip(titles, asOf.titles) {
                #expect(try actual.decode(String.self, at: 0) == title.titleNumber, on)
                #expect(try actual.decode(String.self, at: 1) == title.share, on)
                #expect(try actual.decode(String.self, at: 2) == title.coOwnership, on)
                let fraction = "\(try actual.decode(Int.self, at: 3))/\(try actual.decode(Int.self, at: 4))"
                #expect(fraction == title.share, on)
            }
            let encumbrances = try await connection.query(
                """
                SELECT title_number, kind, record_number FROM tongban.encumbrances_as_of(\(id), \(date)::date)
                ORDER BY title_number, record_number
                """)
            let actualEncumbrances = try encumbrances.map {
                "\(try $0.decode(String.self, at: 0)) \(try $0.decode(String.self, at: 1)) "
                    + "\(try $0.decode(String.self, at: 2))"
            }
            #expect(
                actualEncumbrances == asOf.encumbrances.map { "\($0.titleNumber) \($0.kind) \($0.recordNumber)" }, on)

            let scheme = try await connection.query(
                "SELECT scheme FROM tongban.medical_enrollment_as_of(\(id), \(date)::date)")
            #expect(try scheme.first?.decode(String.self, at: 0) == asOf.medicalScheme, on)
            let filings = try await connection.query(
                "SELECT filing_id FROM tongban.active_filings(\(id), \(date)::date) ORDER BY filing_id")
            #expect(try filings.map { try $0.decode(String.self, at: 0) } == asOf.activeFilingIds, on)
        }
    }
}
