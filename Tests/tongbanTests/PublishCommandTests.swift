import Events
import Foundation
import Kafka
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

    @Test("#20 the last line is the position token of what was stored: `position: TOKEN`, or the token alone")
    func positionLine() throws {
        let offsets = [
            KafkaTopicPartition("tongban.household", 3): Int64(12), KafkaTopicPartition("tongban.household", 0): 4,
        ]
        #expect(
            PublishCommand.positionLine(offsets, offsetsUnknown: false, positionOnly: false)
                == "position: tongban.household/0/4,tongban.household/3/12")
        #expect(
            PublishCommand.positionLine(offsets, offsetsUnknown: false, positionOnly: true)
                == "tongban.household/0/4,tongban.household/3/12")
        // Nothing stored, or stored where Kafka did not say: no token rather than one that covers too little.
        #expect(PublishCommand.positionLine([:], offsetsUnknown: false, positionOnly: false) == nil)
        #expect(PublishCommand.positionLine(offsets, offsetsUnknown: true, positionOnly: true) == nil)
    }

    @Test(
        "#20 tongban publish prints the position token Kafka's end offsets agree with; --position-only prints it alone")
    func publishPrintsPosition() async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("tongban")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw ScenarioError("the tongban executable is not at \(binary.path): build it with `swift build`")
        }
        var generated: [GeneratedEvent] = []
        _ = try PopulationGenerator(PopulationConfiguration(people: 20, seed: 20)).generate { generated.append($0) }
        let lines = generated.filter { $0.department == .household && $0.shouldBeApplied }.map {
            String(decoding: $0.line, as: UTF8.self)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("publish-position-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let events = directory.appendingPathComponent("household.ndjson")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: events)
        let key = directory.appendingPathComponent("household.private.jwk")
        try Data(DevKeys.key(for: .household).privateJWK.utf8).write(to: key)

        try await withMockCluster { cluster in
            try await ProjectionScenario.createTopics(on: cluster)
            var environment = ProcessInfo.processInfo.environment
            environment["KAFKA_BOOTSTRAP_SERVERS"] = cluster.bootstrapServers
            let arguments = ["publish", "--department", "household", "--key", key.path, events.path]
            func householdEnds() async throws -> [PositionToken.Partition: Int64] {
                var ends: [PositionToken.Partition: Int64] = [:]
                for (partition, end) in try await ProjectionScenario.endOffsets(on: cluster)
                where partition.topic == "tongban.household" && end > 0 {
                    ends[PositionToken.Partition(partition.topic, partition.partition)] = end - 1
                }
                return ends
            }

            let result = try await TestProcess.run(binary.path, arguments, environment: environment)
            #expect(result.status == 0, "\(result.errors)")
            let output = result.output.split(separator: "\n").map(String.init)
            #expect(output.first == "published \(lines.count) of \(lines.count) events")
            let last = try #require(output.last)
            #expect(last.hasPrefix("position: "), "\(result.output)")
            let token = try PositionToken(parsing: String(last.dropFirst("position: ".count)))
            #expect(token.offsets == (try await householdEnds()))

            // Again with --position-only: standard output is the token alone, covering the second copy.
            let again = try await TestProcess.run(
                binary.path, arguments + ["--position-only"], environment: environment)
            #expect(again.status == 0, "\(again.errors)")
            #expect(again.errors.contains("published \(lines.count) of \(lines.count) events"))
            #expect(again.output.hasSuffix("\n") && again.output.filter { $0 == "\n" }.count == 1, "\(again.output)")
            let second = try PositionToken(parsing: String(again.output.dropLast()))
            #expect(second.offsets == (try await householdEnds()))
            #expect(second.merged(with: token) == second)
            #expect(second != token)
        }
    }
}
