import Foundation
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import Events

/// The validator reads payloads member by member; `Codable` (`EventPayload.decode`) is the reference.
@Suite("Reading payloads", .sharedMachine)
struct PayloadReadingTests {
    @Test("every schema example reads as Codable decodes it")
    func examples() throws {
        for example in EventFixtures.examples {
            var type = example.type
            var data = example.data
            if let (target, rule) = EventFixtures.validator.catalog.upcast(from: type) {
                for (pointer, value) in rule.set { data = EventValidator.setting(value, at: pointer, in: data) }
                type = target.type
            }
            #expect(try EventPayload.read(type: type, data: data) == EventPayload.decode(type: type, data: data))
        }
    }

    @Test("every event of a generated population reads as Codable decodes it")
    func population() throws {
        let population = try SignedPopulation.make(people: 200, seed: 3, anomalyRate: 0)
        #expect(population.events.count > 5_000)
        for event in population.events {
            let read = try EventFixtures.validator.readAccepted(event.line)
            #expect(try EventPayload.decode(type: read.payload.eventType, data: read.data) == read.payload)
        }
    }

    @Test("a member that does not fit is named")
    func misfit() throws {
        var data = try #require(EventFixtures.example("social-insurance.contribution-posted.v1").objectValue)
        data["base"] = "12"
        #expect(throws: PayloadFieldError.self) {
            try EventPayload.read(type: "social-insurance.contribution-posted.v1", data: .object(data))
        }
        data["base"] = nil
        do {
            _ = try EventPayload.read(type: "social-insurance.contribution-posted.v1", data: .object(data))
            Issue.record("read without base")
        } catch {
            #expect(error.description == "base is missing")
        }
    }
}
