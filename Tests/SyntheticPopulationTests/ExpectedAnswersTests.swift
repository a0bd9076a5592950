import Events
import Foundation
import SyntheticPopulation
import Testing
import TongbanTesting

@Suite("Synthetic population: expected answers", .sharedMachine)
struct ExpectedAnswersTests {
    @Test("expected answers agree with what the events say")
    func agreeWithEvents() throws {
        let output = try PopulationFixtures.generate(people: 1500, seed: 31, anomalyRate: 0.01)
        let expected = output.expected
        #expect(expected.sample.count >= 100)
        var births: [String: JSONValue] = [:]
        var names: [String: String] = [:]
        var deaths: [String: String] = [:]
        var marriages: [String: [String]] = [:]  // person → record numbers
        var net: [String: [String: Int]] = [:]  // person → "type month" → postings − reversals
        var postings: [String: (person: String, key: String)] = [:]
        var owners: [String: [(String, String)]] = [:]  // title → owners (id, share) after the last event
        for event in output.events where event.shouldBeApplied && event.anomaly != .duplicate {
            let envelope = try PopulationFixtures.envelope(event)
            let data = try #require(envelope["data"])
            switch event.type {
            case "household.birth-registered.v1":
                births[data["childId"]?.stringValue ?? ""] = data
                names[data["childId"]?.stringValue ?? ""] = data["childName"]?.stringValue
            case "household.person-registered.v1":
                names[data["personId"]?.stringValue ?? ""] = data["name"]?.stringValue
            case "household.name-changed.v1", "household.name-changed.v2":
                names[data["personId"]?.stringValue ?? ""] = data["newName"]?.stringValue
            case "household.death-registered.v1":
                deaths[data["personId"]?.stringValue ?? ""] = data["dateOfDeath"]?.stringValue
            case "civil-affairs.marriage-registered.v1":
                for spouse in ["spouseA", "spouseB"] {
                    marriages[data[spouse]?["id"]?.stringValue ?? "", default: []].append(
                        data["marriageRecordNumber"]?.stringValue ?? "")
                }
            case "social-insurance.contribution-posted.v1":
                let person = data["personId"]?.stringValue ?? ""
                let key = "\(data["insuranceType"]?.stringValue ?? "") \(data["month"]?.stringValue ?? "")"
                postings[data["postingId"]?.stringValue ?? ""] = (person, key)
                net[person, default: [:]][key, default: 0] += 1
            case "social-insurance.contribution-reversed.v1":
                if let posting = postings[data["postingId"]?.stringValue ?? ""] {
                    net[posting.person, default: [:]][posting.key, default: 0] -= 1
                }
            case "property.title-registered.v1", "property.title-transferred.v1":
                let list = (data["owners"] ?? data["newOwners"])?.arrayValue ?? []
                owners[data["titleNumber"]?.stringValue ?? ""] = list.map {
                    ($0["personId"]?.stringValue ?? "", $0["share"]?.stringValue ?? "")
                }
            default: break
            }
        }
        let from = expected.contributionsFrom
        let to = expected.contributionsTo
        var checkedMothers = 0
        for person in expected.sample {
            #expect(names[person.id] == person.identity.name, "name of \(person.id)")
            #expect(deaths[person.id] == person.identity.dateOfDeath)
            #expect(person.identity.deceased == (deaths[person.id] != nil))
            #expect(ContractRules.birthDate(of: person.id) == person.identity.birthDate)
            if let birth = births[person.id] {
                #expect(birth["motherId"]?.stringValue == person.kinship.motherId)
                #expect(birth["fatherId"]?.stringValue == person.kinship.fatherId)
                checkedMothers += 1
            } else {
                #expect(person.kinship.motherId == nil && person.kinship.fatherId == nil)
            }
            #expect(Set(marriages[person.id] ?? []) == Set(person.kinship.marriages.map(\.marriageRecordNumber)))
            for contributions in person.contributions {
                let paid = (net[person.id] ?? [:]).filter { entry in
                    let parts = entry.key.split(separator: " ")
                    return parts[0] == contributions.insuranceType && String(parts[1]) >= from && String(parts[1]) <= to
                        && entry.value > 0
                }
                #expect(paid.count == contributions.monthsPaid, "\(person.id) \(contributions.insuranceType)")
            }
            let held = owners.filter { $0.value.contains { $0.0 == person.id } }
            let current = try #require(person.asOf.first)
            #expect(current.date == expected.asOf)
            #expect(Set(held.keys) == Set(current.titles.map(\.titleNumber)), "titles of \(person.id)")
            for title in current.titles {
                #expect(held[title.titleNumber]?.first { $0.0 == person.id }?.1 == title.share)
            }
        }
        #expect(checkedMothers > 20)
        #expect(expected.sample.contains { !$0.kinship.adoptions.isEmpty })
        #expect(
            expected.sample.contains { $0.kinship.motherId != nil && $0.kinship.fatherId == nil }, "unknown fathers")
        #expect(expected.sample.contains { !$0.identity.formerNames.isEmpty })
        #expect(expected.sample.contains { $0.kinship.marriages.count > 1 }, "remarriages")
        #expect(expected.sample.contains { !$0.kinship.grandparentIds.isEmpty })
        #expect(expected.sample.contains { $0.kinship.marriages.contains { $0.endedBy == "divorce" } })
        #expect(expected.sample.contains { $0.contributions.contains { !$0.continuous } })
        #expect(expected.sample.contains { $0.asOf.contains { !$0.encumbrances.isEmpty } })
        #expect(expected.sample.contains { $0.asOf.contains { !$0.activeFilingIds.isEmpty } })
    }

    @Test("expected answers encode to JSON and decode to the same value; they do not depend on emitting")
    func codable() throws {
        var configuration = PopulationConfiguration(people: 300, seed: 32)
        configuration.expectedSampleSize = 50
        let generator = try PopulationGenerator(configuration)
        let expected = generator.expectedAnswers()
        let encoded = try JSONEncoder().encode(expected)
        #expect(try JSONDecoder().decode(ExpectedAnswers.self, from: encoded) == expected)
        #expect(try generator.generate { _ in } == expected)
    }

    @Test("configuration errors are reported")
    func invalidConfiguration() {
        var configuration = PopulationConfiguration(people: 10, seed: 1)
        configuration.asOf = "2026-02-30"
        #expect(throws: PopulationError.self) { try PopulationGenerator(configuration) }
        configuration.asOf = "2026-11-01"
        configuration.anomalyRate = 2
        #expect(throws: PopulationError.self) { try PopulationGenerator(configuration) }
    }

    @Test("benchmark: events per second and counts by type (prints figures, no timing assertion)")
    func benchmark() throws {
        let result = try PopulationBenchmark.run(people: 5000, seed: 1)
        print(
            "generated \(result.events) events, \(result.bytes) bytes in \(result.seconds) s: \(Int(Double(result.events) / result.seconds)) events/s"
        )
        #expect(result.events > 50_000)
    }
}
