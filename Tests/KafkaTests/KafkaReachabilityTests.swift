import Kafka
import Testing
import TongbanTesting

/// What a client learns about a cluster that stops answering: what the projectors' readiness is built on.
@Suite("Kafka reachability signals", .timeLimit(.minutes(20)), .sharedMachine)
struct KafkaReachabilityTests {
    let logger = testLogger("kafka-reachability")

    @Test("metadata with a short timeout fails within it while every broker is down, and answers once one is up")
    func metadataProbe() async throws {
        try await withMockCluster(brokers: 1) { cluster in
            try await cluster.createTopic("probe", partitions: 1)
            var configuration = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers)
            configuration.additionalProperties["reconnect.backoff.max.ms"] = "500"
            let admin = try KafkaAdmin(configuration: configuration, logger: logger)
            do {
                let metadata = try await admin.metadata(topic: "probe", timeout: .seconds(1))
                #expect(metadata.topics.first?.partitions == 1)

                try await cluster.setBrokerDown(cluster.brokerIDs[0])
                let started = ContinuousClock.now
                await #expect {
                    try await admin.metadata(topic: "probe", timeout: .seconds(1))
                } throws: { error in
                    let code = (error as? KafkaError)?.code
                    return code == .connection || code == .timeout
                }
                #expect(ContinuousClock.now - started < .seconds(3))

                try await cluster.setBrokerUp(cluster.brokerIDs[0])
                let deadline = ContinuousClock.now + .seconds(10)
                var answered = false
                while !answered && ContinuousClock.now < deadline {
                    answered = (try? await admin.metadata(topic: "probe", timeout: .seconds(1))) != nil
                }
                #expect(answered)
            } catch {
                await admin.shutdown()
                throw error
            }
            await admin.shutdown()
        }
    }

    @Test("a consumer hands out the connection errors librdkafka reports while the brokers are down, each once")
    func consumerConnectionErrors() async throws {
        try await withMockCluster(brokers: 1) { cluster in
            try await cluster.createTopic("reach", partitions: 1)
            let consumer = try KafkaConsumer(
                configuration: testConsumerConfiguration(cluster, group: TestNames.unique("reach")),
                topics: ["reach"], handler: .always(.beginning), logger: logger)
            do {
                // Connected: nothing to report.
                _ = try await consumer.nextBatch(maxMessages: 10, maxWait: .milliseconds(500))
                _ = consumer.takeConnectionError()
                try await cluster.setBrokerDown(cluster.brokerIDs[0])
                let deadline = ContinuousClock.now + .seconds(10)
                var reported: KafkaError?
                while reported == nil && ContinuousClock.now < deadline {
                    _ = try await consumer.nextBatch(maxMessages: 10, maxWait: .milliseconds(200))
                    reported = consumer.takeConnectionError()
                }
                let error = try #require(reported)
                #expect(error.code == .connection || error.code == .timeout)
                #expect(consumer.takeConnectionError() == nil, "taken once")
                try await cluster.setBrokerUp(cluster.brokerIDs[0])
            } catch {
                await consumer.shutdown()
                throw error
            }
            await consumer.shutdown()
        }
    }
}
