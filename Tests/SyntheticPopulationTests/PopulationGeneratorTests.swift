import Events
import Foundation
import SyntheticPopulation
import Testing
import TongbanTesting

@Suite("Synthetic population: valid streams", .sharedMachine)
struct PopulationGeneratorTests {
    static let asOf = ContractRules.date("2026-11-01") ?? 0

    @Test("the same configuration gives byte-identical output; another seed differs")
    func determinism() throws {
        let first = try PopulationFixtures.generate(people: 300, seed: 7, anomalyRate: 0.05, signed: true)
        let second = try PopulationFixtures.generate(people: 300, seed: 7, anomalyRate: 0.05, signed: true)
        #expect(first.events.map(\.line) == second.events.map(\.line))
        #expect(first.events.map(\.key) == second.events.map(\.key))
        #expect(first.events.map(\.anomaly) == second.events.map(\.anomaly))
        #expect(first.expected == second.expected)
        let other = try PopulationFixtures.generate(people: 300, seed: 8)
        #expect(other.events.map(\.line) != first.events.map(\.line))
    }

    @Test("every event parses and agrees with the catalog: topic, source, key and subject pointers, id, time")
    func catalogAgreement() throws {
        let output = try PopulationFixtures.generate(people: 800, seed: 11)
        let catalog = try PopulationFixtures.catalog()
        var ids = Set<String>()
        var types = Set<String>()
        for event in output.events {
            #expect(event.anomaly == nil)
            let envelope = try PopulationFixtures.envelope(event)
            let type = try #require(envelope["type"]?.stringValue)
            let entry = try #require(catalog[type], "\(type) is not in the catalog")
            types.insert(type)
            let data = try #require(envelope["data"])
            #expect(entry["topic"]?.stringValue == event.topic)
            #expect(event.type == type)
            #expect(envelope["specversion"] == "1.0")
            #expect(envelope["source"]?.stringValue?.hasPrefix("/departments/\(event.department.name)/") == true)
            #expect(entry["department"]?.stringValue == event.department.name)
            let keyPointer = try #require(entry["key"]?.stringValue)
            let subjectPointer = try #require(entry["subject"]?.stringValue)
            #expect(data.value(at: keyPointer)?.stringValue == event.key, "\(type): Kafka key")
            #expect(data.value(at: subjectPointer) == envelope["subject"], "\(type): subject")
            let id = try #require(envelope["id"]?.stringValue)
            #expect(id == event.id)
            #expect(ids.insert(id).inserted, "duplicate id \(id)")
            #expect(id.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)
            let time = try #require(envelope["time"]?.stringValue)
            #expect(time.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00/) != nil)
            #expect((ContractRules.date(time) ?? .max) <= Self.asOf, "\(type) dated \(time), after as-of")
            #expect(ContractRules.hasOnlyStringsObjectsArrays(.object(envelope)))
            #expect(envelope["tbsig"] == nil && envelope["tbkid"] == nil)
        }
        #expect(types == Set(catalog.keys), "types never generated: \(Set(catalog.keys).subtracting(types).sorted())")
    }

    @Test("citizen IDs are valid and agree with birth date and sex; dates are real; shares sum to 1")
    func contractRules() throws {
        let output = try PopulationFixtures.generate(people: 800, seed: 12)
        for event in output.events {
            let envelope = try PopulationFixtures.envelope(event)
            let data = try #require(envelope["data"])
            for id in ContractRules.citizenIDs(in: data) + [envelope["subject"]?.stringValue ?? ""] {
                #expect(ContractRules.isValidCitizenID(id), "\(event.type): \(id)")
            }
            if let birthDate = data["birthDate"]?.stringValue,
                let id = (data["childId"] ?? data["personId"])?.stringValue
            {
                #expect(ContractRules.birthDate(of: id) == birthDate)
                #expect(ContractRules.isMale(id) == (data["sex"]?.stringValue == "male"))
            }
            for case .string(let text) in data.objectValue?.members.map(\.value) ?? []
            where text.count == 10 && text.dropFirst(4).first == "-" {
                #expect(ContractRules.date(text) != nil, "\(event.type): \(text) is not a real date")
            }
            if let owners = (data["owners"] ?? data["newOwners"])?.arrayValue {
                let shares = owners.compactMap { $0["share"]?.stringValue }
                #expect(ContractRules.sharesSumToOne(shares), "\(event.type): \(shares)")
                #expect(Set(owners.compactMap { $0["personId"] }).count == owners.count)
                if data["coOwnership"] == "sole" { #expect(shares == ["1/1"]) }
                if data["coOwnership"] == "joint" { #expect(Set(shares) == ["1/\(shares.count)"]) }
            }
            if let previous = data["previousName"] { #expect(previous != data["newName"]) }
        }
    }

    @Test("people in other departments' events are registered; nobody acts before birth or after death")
    func crossDepartmentConsistency() throws {
        let output = try PopulationFixtures.generate(people: 800, seed: 13)
        var registered: [String: Int] = [:]  // ID → registration date
        var deaths: [String: Int] = [:]
        var parsed: [(GeneratedEvent, JSONObject)] = []
        for event in output.events {
            let envelope = try PopulationFixtures.envelope(event)
            parsed.append((event, envelope))
            let data = envelope["data"]
            let date = ContractRules.date(envelope["time"]?.stringValue ?? "") ?? 0
            switch event.type {
            case "household.birth-registered.v1": registered[data?["childId"]?.stringValue ?? ""] = date
            case "household.person-registered.v1": registered[data?["personId"]?.stringValue ?? ""] = date
            case "household.death-registered.v1": deaths[data?["personId"]?.stringValue ?? ""] = date
            default: break
            }
        }
        for (event, envelope) in parsed {
            let date = ContractRules.date(envelope["time"]?.stringValue ?? "") ?? 0
            for id in ContractRules.citizenIDs(in: envelope["data"] ?? .null) {
                #expect(registered[id] != nil, "\(event.type) names \(id), never registered")
                #expect(
                    (ContractRules.date(ContractRules.birthDate(of: id)) ?? 0) <= date,
                    "\(event.type) before \(id) was born")
                if event.type != "household.household-established.v1" && !event.type.contains("person-registered") {
                    #expect((registered[id] ?? .max) <= date, "\(event.type) on \(date) before \(id) was registered")
                }
            }
            if let subject = envelope["subject"]?.stringValue, let death = deaths[subject] {
                #expect(date <= death, "\(event.type) on \(date) after \(subject) died on \(death)")
            }
            if event.type == "civil-affairs.marriage-registered.v1", let data = envelope["data"] {
                for spouse in ["spouseA", "spouseB"] {
                    let id = data[spouse]?["id"]?.stringValue ?? ""
                    let age = (date - (ContractRules.date(ContractRules.birthDate(of: id)) ?? 0)) / 10_000
                    #expect(age >= (ContractRules.isMale(id) ? 22 : 20), "married at \(age)")
                }
            }
        }
    }

    @Test("signed events pass Python jsonschema against schemas/events and verify with the dev keys")
    func pythonSchemaCheck() throws {
        let output = try PopulationFixtures.generate(people: 400, seed: 14, signed: true, contributionMonths: 6)
        let verdicts = try PopulationFixtures.pythonVerdicts(for: output.events.map(\.line))
        #expect(verdicts.count == output.events.count)
        for (event, verdict) in zip(output.events, verdicts) where verdict != "ok" {
            Issue.record("\(event.type): \(verdict)\n\(String(decoding: event.line, as: UTF8.self))")
        }
        let registry = DevKeys.registry
        for event in output.events { try registry.verify(try PopulationFixtures.envelope(event)) }
    }

    @Test("#18 development keys are made afresh for each run, one per department, marked as development keys")
    func devKeys() {
        let run = DevKeys.key(for: .household).keyID.split(separator: "-").last.map(String.init) ?? ""
        #expect(run.count == 8)
        for department in GeneratedEvent.Department.all {
            let key = DevKeys.key(for: department)
            #expect(key.keyID == "\(department.name)/dev-only-\(run)")
            #expect(EventKeyRegistry.isDevelopmentKeyID(key.keyID))
            #expect(key.publicKeyBytes == DevKeys.key(for: department).publicKeyBytes, "one key per process")
        }
        #expect(Set(GeneratedEvent.Department.all.map { DevKeys.key(for: $0).publicKeyBytes }).count == 5)
        // Another run: other keys, other ids; nothing derives them from the source.
        let other = DevKeys.generate()
        #expect(other[.household]?.keyID != DevKeys.key(for: .household).keyID)
        #expect(other[.household]?.publicKeyBytes != DevKeys.key(for: .household).publicKeyBytes)
        #expect(DevKeys.registry.developmentKeyIDs.count == 5)
        #expect(!EventKeyRegistry.isDevelopmentKeyID("household/2026-01"))
    }
}
