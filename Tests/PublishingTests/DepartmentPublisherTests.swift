import Events
import Foundation
import Kafka
import Publishing
import SyntheticPopulation
import Testing
import TongbanTesting

@Suite("Publishing a department's events", .timeLimit(.minutes(20)), .sharedMachine)
struct DepartmentPublisherTests {
    let logger = testLogger("publishing-tests")

    @Test(
        "#3 a generated population lands every valid event on its topic and key partition, signed; bad ones are refused"
    )
    func publishPopulation() async throws {
        var configuration = PopulationConfiguration(people: 300, seed: 42)
        configuration.anomalyRate = 0.03
        var generated: [GeneratedEvent] = []
        _ = try PopulationGenerator(configuration).generate { generated.append($0) }
        let validator = try EventValidator()

        try await withMockCluster(brokers: 3) { cluster in
            for department in GeneratedEvent.Department.all {
                try await cluster.createTopic(department.topic, partitions: 4)
            }
            var published: [String: PreparedEvent] = [:]  // by envelope id (a duplicate re-sends the same id)
            var sentCount = 0
            for department in GeneratedEvent.Department.all {
                let key = DevKeys.key(for: department)
                let publisher = try DepartmentPublisher(
                    configuration: .init(producer: testProducerConfiguration(cluster), key: key), validator: validator,
                    logger: logger)
                var ready: [PreparedEvent] = []
                for event in generated where event.department == department {
                    do throws(DepartmentPublishError) {
                        let prepared = try publisher.prepare(line: event.line)
                        // Kafka-key mismatches cannot show in a line: the publisher derives the key from data.
                        #expect(
                            event.shouldBeApplied || event.anomaly == .kafkaKeyMismatch,
                            "\(event.anomaly?.name ?? "") was accepted")
                        #expect(prepared.topic == department.topic)
                        if event.anomaly != .kafkaKeyMismatch { #expect(prepared.key == event.key) }
                        ready.append(prepared)
                    } catch {
                        #expect(!event.shouldBeApplied, "a valid event was refused: \(error.reason)")
                        #expect(error.code == .invalid)
                    }
                }
                for (event, result) in zip(ready, await publisher.send(ready)) {
                    let receipt = try result.get()
                    #expect(receipt.topic == department.topic && receipt.offset >= 0)
                    published[event.id] = event
                }
                sentCount += ready.count
                await publisher.shutdown()
            }
            #expect(sentCount > 1_000)

            let consumer = try KafkaConsumer(
                configuration: testConsumerConfiguration(cluster, group: TestNames.unique("publish-check")),
                topics: GeneratedEvent.Department.all.map(\.topic), handler: .always(.beginning), logger: logger)
            var received: [KafkaMessage] = []
            let deadline = ContinuousClock.now + .seconds(60)
            while received.count < sentCount && ContinuousClock.now < deadline {
                received += try await consumer.nextBatch(maxMessages: 2_000, maxWait: .milliseconds(200))
            }
            await consumer.shutdown()
            #expect(received.count == sentCount)

            let registry = DevKeys.registry
            var partitionOfKey: [String: Int32] = [:]
            for message in received {
                let key = String(decoding: message.key ?? [], as: UTF8.self)
                let event = try validator.validate(message.value, key: message.key)  // signature required
                try registry.verify(try #require(event.json.objectValue))
                #expect(published[event.id]?.topic == message.topic)
                let topicKey = "\(message.topic)/\(key)"
                #expect(partitionOfKey[topicKey, default: message.partition] == message.partition)
                partitionOfKey[topicKey] = message.partition
            }
        }
    }

    @Test("#20 receipts carry position tokens: where each event was stored, and per partition the last one stored")
    func positionTokens() async throws {
        var generated: [GeneratedEvent] = []
        _ = try PopulationGenerator(PopulationConfiguration(people: 30, seed: 20)).generate { generated.append($0) }
        let household = generated.filter { $0.department == .household && $0.shouldBeApplied }
        #expect(household.count > 20)
        try await withMockCluster { cluster in
            try await cluster.createTopic("tongban.household", partitions: 4)
            let publisher = try DepartmentPublisher(
                configuration: .init(producer: testProducerConfiguration(cluster), key: DevKeys.key(for: .household)),
                logger: logger)
            // One at a time: each receipt's token names exactly where its event went.
            let first = try await publisher.publish(try JSONParser.parse(household[0].line))
            let token = try #require(first.position)
            #expect(token.description == "tongban.household/\(first.partition)/\(first.offset)")
            #expect(try PositionToken(parsing: token.description) == token)

            // Many at once: the token of what was stored holds the last offset of each partition written to.
            let prepared = try household.dropFirst().map { try publisher.prepare(line: $0.line) }
            let results = await publisher.send(prepared)
            let receipts = try results.map { try $0.get() }
            let merged = try #require(PositionToken(delivered: results))
            var last: [PositionToken.Partition: Int64] = [:]
            for receipt in receipts {
                let partition = PositionToken.Partition(receipt.topic, receipt.partition)
                last[partition] = max(last[partition] ?? -1, receipt.offset)
            }
            #expect(merged.offsets == last)
            #expect(PositionToken.merging(receipts.compactMap(\.position)) == merged)
            #expect(PositionToken(delivered: [Result<PublishReceipt, DepartmentPublishError>]()) == nil)
            await publisher.shutdown()

            // What Kafka holds agrees: each offset is the partition's last (its end offset − 1).
            let admin = try KafkaAdmin(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
            let ends = try await admin.partitionOffsets(topic: "tongban.household")
            await admin.shutdown()
            let all = merged.merged(with: token)
            for end in ends where end.latest > 0 {
                #expect(all.offsets[PositionToken.Partition("tongban.household", end.partition)] == end.latest - 1)
            }
            #expect(all.offsets.count == ends.filter { $0.latest > 0 }.count)
        }
    }

    @Test("an event of another department is refused before anything is sent")
    func wrongDepartment() throws {
        let signer = EventSigner(validator: try EventValidator(), key: DevKeys.key(for: .property))
        var generated: [GeneratedEvent] = []
        _ = try PopulationGenerator(PopulationConfiguration(people: 20, seed: 1)).generate { generated.append($0) }
        let household = try #require(generated.first { $0.department == .household })
        #expect {
            try signer.prepare(line: household.line)
        } throws: { error in
            (error as? DepartmentPublishError)?.code == .wrongDepartment
        }
        let property = try #require(generated.first { $0.department == .property })
        let prepared = try signer.prepare(line: property.line)
        #expect(prepared.topic == "tongban.property")
    }
}
