import Events
import Foundation
import Testing
import TongbanTesting

@Suite("Upcasting", .sharedMachine)
struct UpcastTests {
    @Test("name-changed v1 is read as v2 with reason code unspecified")
    func nameChangedV1() throws {
        let data = EventFixtures.example("household.name-changed.v1")
        let event = try EventFixtures.validate("household.name-changed.v1", data, key: "650102199502140485")
        #expect(event.type == "household.name-changed.v1")
        #expect(event.entry.status == .superseded)
        #expect(event.entry.supersededBy == "household.name-changed.v2")
        #expect(event.envelope.data == data, "the envelope keeps the data as sent")
        guard case .nameChanged(let fact) = event.payload else {
            Issue.record("payload is \(event.payload)")
            return
        }
        #expect(fact.reasonCode == .unspecified)
        #expect(fact.previousName == "阿依古丽")
        #expect(fact.newName == "阿依古丽·买买提")
        #expect(fact.effectiveDate == CivilDate(year: 2026, month: 6, day: 15))
        #expect(event.payload.eventType == NameChangedV2.eventType)
    }

    @Test("each version validates against its own schema")
    func ownSchemas() throws {
        let v2 = EventFixtures.example("household.name-changed.v2")
        // A v2 data object is not valid v1 (reasonCode is unknown there) and vice versa.
        #expect(EventFixtures.failure("household.name-changed.v1", v2)?.code == .schemaViolation)
        let v1 = EventFixtures.example("household.name-changed.v1")
        #expect(EventFixtures.failure("household.name-changed.v2", v1)?.code == .schemaViolation)
        // unspecified is only produced by the hub: never publishable as v2.
        let unspecified = EventFixtures.setting("unspecified", at: "/reasonCode", in: v2)
        #expect(EventFixtures.failure("household.name-changed.v2", unspecified)?.code == .schemaViolation)
    }

    @Test("the catalog records the upcast rule and the v2 schema agrees")
    func catalogRule() throws {
        let catalog = EventFixtures.validator.catalog
        let (target, rule) = try #require(catalog.upcast(from: "household.name-changed.v1"))
        #expect(target.type == "household.name-changed.v2")
        #expect(rule.set.map(\.pointer) == ["/reasonCode"])
        #expect(rule.set.first?.value == "unspecified")
    }
}
