import Events
import Foundation
import SyntheticPopulation
import Testing
import TongbanTesting

@Suite("Synthetic population: anomalies", .sharedMachine)
struct AnomalyTests {
    @Test("a rate gives labelled anomalies of every kind; exactly the rejected ones fail the checks")
    func everyKindLabelledAndDetectable() throws {
        let output = try PopulationFixtures.generate(
            people: 600, seed: 21, anomalyRate: 0.02, signed: true, contributionMonths: 6)
        let kinds = Set(output.events.compactMap(\.anomaly))
        #expect(kinds == Set(AnomalyKind.all), "missing: \(Set(AnomalyKind.all).subtracting(kinds).map(\.name))")
        let verdicts = try PopulationFixtures.pythonVerdicts(for: output.events.map(\.line))
        try #require(verdicts.count == output.events.count)
        let catalog = try PopulationFixtures.catalog()
        let registry = DevKeys.registry
        var linesByID: [String: [UInt8]] = [:]
        for (event, verdict) in zip(output.events, verdicts) {
            let text = String(decoding: event.line, as: UTF8.self)
            if event.shouldBeApplied {
                #expect(verdict == "ok", "\(event.anomaly?.name ?? "plain") \(event.type): \(verdict)\n\(text)")
                let envelope = try PopulationFixtures.envelope(event)
                try registry.verify(envelope)
                if event.anomaly == .duplicate {
                    #expect(linesByID[event.id ?? ""] == event.line, "a duplicate repeats an earlier event's bytes")
                } else {
                    #expect(linesByID[event.id ?? ""] == nil, "a fresh event has a fresh id")
                }
                linesByID[event.id ?? ""] = event.line
                continue
            }
            let kind = try #require(event.anomaly)
            switch kind {
            case .unparsableJSON:
                #expect(throws: JSONParseError.self) { try JSONParser.parse(event.line) }
                #expect(event.id == nil)
            case .unknownType, .missingRequiredField, .patternViolation, .extraProperty:
                #expect(verdict != "ok", "\(kind) passes the schemas: \(text)")
            case .unsigned, .badSignature, .unknownKeyID, .wrongDepartmentKey:
                let expected: EventSignatureError.Code =
                    switch kind {
                    case .unsigned: .missingSignature
                    case .badSignature: .badSignature
                    case .unknownKeyID: .unknownKey
                    default: .departmentMismatch
                    }
                #expect(verdict == (kind == .unsigned ? verdict : "ok"))
                do {
                    try registry.verify(try PopulationFixtures.envelope(event))
                    Issue.record("\(kind) verifies: \(text)")
                } catch let error as EventSignatureError {
                    #expect(error.code == expected, "\(kind): \(error)")
                }
            default:
                #expect(verdict == "ok", "\(kind) should pass the schemas and fail a hub rule: \(verdict)")
                let envelope = try PopulationFixtures.envelope(event)
                try registry.verify(envelope)
                let data = try #require(envelope["data"])
                let entry = try #require(catalog[event.type])
                let subject = envelope["subject"]?.stringValue ?? ""
                switch kind {
                case .badCheckCharacter:
                    #expect(!ContractRules.isValidCitizenID(subject))
                case .birthDateMismatch:
                    let id = (data["childId"] ?? data["personId"])?.stringValue ?? ""
                    #expect(ContractRules.birthDate(of: id) != data["birthDate"]?.stringValue)
                case .sexMismatch:
                    let id = (data["childId"] ?? data["personId"])?.stringValue ?? ""
                    #expect(ContractRules.isMale(id) != (data["sex"] == "male"))
                case .futureDate:
                    #expect((ContractRules.date(envelope["time"]?.stringValue ?? "") ?? 0) > 20_261_122)
                case .sharesNotSummingToOne:
                    let owners = (data["owners"] ?? data["newOwners"])?.arrayValue ?? []
                    #expect(!ContractRules.sharesSumToOne(owners.compactMap { $0["share"]?.stringValue }))
                case .kafkaKeyMismatch:
                    #expect(data.value(at: entry["key"]?.stringValue ?? "")?.stringValue != event.key)
                case .subjectMismatch:
                    #expect(data.value(at: entry["subject"]?.stringValue ?? "")?.stringValue != subject)
                default:
                    Issue.record("unexpected rejected kind \(kind)")
                }
            }
        }
    }

    @Test("late arrivals come after later events of the same key or of other departments")
    func lateArrivals() throws {
        let output = try PopulationFixtures.generate(people: 400, seed: 22, anomalyRate: 0.05)
        var latestTime: [String: String] = [:]
        var overtaken = 0
        for event in output.events where event.shouldBeApplied {
            let time = try PopulationFixtures.envelope(event)["time"]?.stringValue ?? ""
            if event.anomaly == .lateArrival, let latest = latestTime[event.key], latest > time { overtaken += 1 }
            latestTime[event.key] = max(latestTime[event.key] ?? "", time)
        }
        #expect(output.events.contains { $0.anomaly == .lateArrival })
        #expect(overtaken > 0, "some late event arrives after a later event of its own key")
    }

    @Test("name conflicts are valid events with a misspelt name, listed in the expected answers")
    func nameConflicts() throws {
        let output = try PopulationFixtures.generate(people: 800, seed: 23, anomalyRate: 0.05)
        var registeredNames: [String: Set<String>] = [:]
        for event in output.events where event.department == .household && event.shouldBeApplied {
            let data = try PopulationFixtures.envelope(event)["data"]
            if let id = (data?["childId"] ?? data?["personId"])?.stringValue {
                for field in ["childName", "name", "newName"] {
                    if let name = data?[field]?.stringValue { registeredNames[id, default: []].insert(name) }
                }
            }
        }
        let conflicts = output.events.filter { $0.anomaly == .nameConflict }
        #expect(!conflicts.isEmpty)
        for event in conflicts {
            let data = try #require(try PopulationFixtures.envelope(event)["data"])
            let id = data["personId"]?.stringValue ?? ""
            let name = data["name"]?.stringValue ?? ""
            #expect(!(registeredNames[id] ?? []).contains(name), "\(name) is a registered name of \(id)")
            if let person = output.expected.sample.first(where: { $0.id == id }) {
                #expect(person.identity.nameConflicts.contains { $0.name == name && $0.type == event.type })
            }
        }
        let listed = output.expected.sample.flatMap(\.identity.nameConflicts)
        #expect(!listed.isEmpty, "the sample includes people with name conflicts")
    }
}
