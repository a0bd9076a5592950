import Events
import Foundation
import Testing
import TongbanTesting

@Suite("Schema examples", .sharedMachine)
struct ExampleTests {
    @Test("there is an example for every catalog type")
    func everyTypeHasExamples() {
        let types = Set(EventFixtures.examples.map(\.type))
        #expect(types.count == 26)
        for entry in EventFixtures.validator.catalog.entries {
            #expect(types.contains(entry.type), "no example for \(entry.type)")
        }
    }

    @Test("every example validates in a valid envelope", arguments: EventFixtures.examples)
    func exampleValidates(_ example: EventFixtures.Example) throws {
        let entry = try #require(EventFixtures.validator.catalog.entry(for: example.type))
        let key = example.data.value(at: entry.keyPointer)?.stringValue
        do {
            let event = try EventFixtures.validate(example.type, example.data, key: key)
            #expect(event.type == example.type)
            #expect(event.topic == entry.topic)
            #expect(event.key == key)
            #expect(event.subject == example.data.value(at: entry.subjectPointer)?.stringValue)
        } catch {
            Issue.record("\(example.testDescription): \(error.debugDescription)")
        }
    }

    @Test("every example decodes into its typed model", arguments: EventFixtures.examples)
    func exampleDecodes(_ example: EventFixtures.Example) throws {
        let payload = try EventFixtures.validator.validate(
            data: example.data, type: example.type, now: EventFixtures.now)
        let entry = try #require(EventFixtures.validator.catalog.entry(for: example.type))
        #expect(payload.eventType == (entry.supersededBy ?? example.type))
    }

    @Test("the envelope schema's own examples validate, unsigned as well")
    func envelopeExamples() throws {
        let schema = try JSONParser.parse(
            try #require(EventFixtures.validator.schemas.schemaIDs.isEmpty ? nil : readEnvelopeSchema()))
        for example in schema["examples"]?.arrayValue ?? [] {
            let event = try EventFixtures.validator.validate(example.serialized, now: EventFixtures.now)
            #expect(event.envelope.tbsig != nil)
            let unsigned = EventFixtures.setting(
                nil, at: "/tbsig", in: EventFixtures.setting(nil, at: "/tbkid", in: example))
            #expect(throws: EventValidationError.self) {
                try EventFixtures.validator.validate(envelope: unsigned, now: EventFixtures.now)
            }
            _ = try EventFixtures.validator.validate(
                envelope: unsigned, options: .init(requireSignature: false), now: EventFixtures.now)
        }
    }

    private func readEnvelopeSchema() -> [UInt8]? {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/events/envelope.v1.json")
        return (try? Data(contentsOf: url)).map { Array($0) }
    }
}
