import Events
import Foundation
import Publishing
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import tongban

@Suite("tongban publish and validate", .sharedMachine)
struct PublishCommandTests {
    @Test("#3 a bad line is reported with its line number and reason; the good ones are ready to send")
    func badLinesAreNamed() async throws {
        var generated: [GeneratedEvent] = []
        _ = try PopulationGenerator(PopulationConfiguration(people: 30, seed: 3)).generate { generated.append($0) }
        let good = generated.filter { $0.department == .household }.prefix(4).map(\.line)
        var broken = try #require(try JSONParser.parse(good[1]).objectValue)
        var data = try #require(broken["data"]?.objectValue)
        data[data.keys[0]] = "not a valid value"
        broken["data"] = .object(data)
        let text =
            [good[0], Array("{\"specversion\": \"1.0\"".utf8), good[2], JSONValue.object(broken).serialized, good[3]]
            .map { String(decoding: $0, as: UTF8.self) }.joined(separator: "\n") + "\n\n"
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("publish-\(UUID()).ndjson").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }

        let lines = try await NDJSONInput.read(path)
        #expect(lines.map(\.number) == [1, 2, 3, 4, 5])
        let signer = EventSigner(validator: try EventValidator(), key: DevKeys.key(for: .household))
        let (ready, rejected) = await PublishCommand.prepare(lines, signer: signer, now: Date())
        #expect(ready.count == 3)
        #expect(rejected.map(\.line) == [2, 4])
        #expect(rejected[0].reason.contains("JSON"))
        #expect(rejected[1].reason.contains("/data/") || rejected[1].reason.contains("data/"))

        // The validate command's verdicts agree, line for line.
        let validator = try EventValidator()
        let verdicts = lines.map {
            ValidateCommand.check($0.bytes, validator: validator, registry: nil, dataType: nil, now: Date())
        }
        #expect(verdicts.map { $0 == nil } == [true, false, true, false, true])
    }
}
