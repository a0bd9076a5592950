import Events
import Foundation
import Testing
import TongbanTesting

/// `EventValidator.readAccepted`: what a rebuild reads below the verified watermark must be exactly what
/// `validate` returned when the message was first accepted.
@Suite("Reading accepted events", .sharedMachine)
struct ReadAcceptedTests {
    @Test("every example reads as validate returned it", arguments: EventFixtures.examples)
    func sameAsValidate(_ example: EventFixtures.Example) throws {
        let envelope = EventFixtures.envelope(type: example.type, data: example.data)
        let validated = try EventFixtures.validator.validate(envelope: envelope, now: EventFixtures.now)
        let read = try EventFixtures.validator.readAccepted(envelope.serialized)
        #expect(read.json == validated.json)
        #expect(read.envelope.id == validated.envelope.id)
        #expect(read.envelope.source == validated.envelope.source)
        #expect(read.envelope.time == validated.envelope.time)
        #expect(read.subject == validated.subject)
        #expect(read.entry.type == validated.entry.type)
        #expect(read.payload == validated.payload)
        #expect(read.data == validated.data)
        #expect(read.key == validated.key)
    }

    @Test("a superseded version is upcast: data is the current version's")
    func upcast() throws {
        let data = EventFixtures.example("household.name-changed.v1")
        let envelope = EventFixtures.envelope(type: "household.name-changed.v1", data: data)
        let read = try EventFixtures.validator.readAccepted(envelope.serialized)
        #expect(read.type == "household.name-changed.v1")
        #expect(read.payload.eventType == "household.name-changed.v2")
        #expect(read.data["reasonCode"] == "unspecified")
        #expect(read.envelope.data == data, "the envelope keeps the data as sent")
    }

    @Test("what cannot be read as an event is refused, with the reason")
    func unreadable() {
        let validator = EventFixtures.validator
        #expect(throws: EventValidationError.self) { try validator.readAccepted(Array("not json".utf8)) }
        do {
            _ = try validator.readAccepted(Array("{\"nothing\":1}".utf8))
            Issue.record("an object that is no envelope was read")
        } catch {
            #expect(error.code == .schemaViolation)
        }
        let unknown = EventFixtures.envelope(type: "household.no-such-event.v1", data: ["personId": "x"])
        do {
            _ = try validator.readAccepted(unknown.serialized)
            Issue.record("an unknown type was read")
        } catch {
            #expect(error.code == .unknownType)
        }
    }

    @Test("the JSON parser reads ASCII and non-ASCII strings alike, and still refuses invalid UTF-8")
    func parserStrings() throws {
        #expect(try JSONParser.parse(#"["abc","名字","a\u00e9"]"#) == ["abc", "名字", "aé"])
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0x61, 0xC3, 0x28, 0x22]) }
    }
}
