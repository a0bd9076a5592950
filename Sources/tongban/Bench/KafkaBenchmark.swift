import Foundation
import Kafka
import Logging

/// Producer and consumer throughput against an in-process mock cluster.
struct KafkaBenchmark {
    /// Produces `messages` event-sized JSON messages, then consumes them back with one group member.
    /// - Returns: producer and consumer figures, plus whether the mock kept every batch.
    static func run(messages: Int, partitions: Int, logger: Logger) async throws -> [BenchmarkFigure] {
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { _ = cluster }
        let topic = "bench.clients"
        try await cluster.createTopic(topic, partitions: partitions)
        var figures: [BenchmarkFigure] = []

        var producerConfiguration = KafkaProducerConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers))
        producerConfiguration.linger = .milliseconds(5)
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let payloads = (0..<1000).map { eventLikePayload($0) }
        let chunk = 20_000
        let produceStart = ContinuousClock.now
        var failures = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            var sent = 0
            var inFlight = 0
            while sent < messages {
                let count = min(chunk, messages - sent)
                let batch = (sent..<(sent + count)).map { i in
                    KafkaProducerMessage(
                        topic: topic, key: Array("11010519900307\(String(format: "%04d", i % 10_000))".utf8),
                        value: payloads[i % payloads.count])
                }
                sent += count
                group.addTask { try await producer.send(batch).filter { $0.error != nil }.count }
                inFlight += 1
                if inFlight >= 4, let f = try await group.next() {
                    failures += f
                    inFlight -= 1
                }
            }
            for try await f in group { failures += f }
        }
        let produceSeconds = (ContinuousClock.now - produceStart).seconds
        await producer.shutdown()
        figures.append(
            BenchmarkFigure(
                name: "kafka produce (acknowledged)", value: Double(messages) / produceSeconds, unit: "msgs/s",
                note:
                    "\(messages) msgs of ~\(payloads[0].count) B, lz4, idempotent, \(partitions) partitions; \(failures) failed"
            ))

        let admin = try KafkaAdmin(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let offsets = try await admin.partitionOffsets(topic: topic)
        await admin.shutdown()
        let stored = offsets.reduce(0) { $0 + Int($1.latest - $1.earliest) }
        let complete = offsets.allSatisfy { $0.earliest == 0 }

        var consumerConfiguration = KafkaConsumerConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), groupID: "bench")
        consumerConfiguration.kafka.additionalProperties["fetch.max.bytes"] = String(50 << 20)
        let consumer = try KafkaConsumer(
            configuration: consumerConfiguration, topics: [topic], handler: .always(.beginning), logger: logger)
        var received = 0
        var consumeStart: ContinuousClock.Instant?
        let deadline = ContinuousClock.now + .seconds(120)
        while received < stored && ContinuousClock.now < deadline {
            let batch = try await consumer.nextBatch(maxMessages: 10_000, maxWait: .milliseconds(100))
            if consumeStart == nil && !batch.isEmpty { consumeStart = ContinuousClock.now }
            received += batch.count
        }
        let consumeSeconds = consumeStart.map { (ContinuousClock.now - $0).seconds } ?? .infinity
        await consumer.shutdown()
        await cluster.shutdown()
        figures.append(
            BenchmarkFigure(
                name: "kafka consume (one group member)", value: Double(received) / consumeSeconds, unit: "msgs/s",
                note: "\(received) of \(stored) stored msgs, timed from the first message (group join excluded)"
                    + (complete ? "" : "; WARNING: the mock dropped old batches (earliest offset > 0)")))
        return figures
    }

    /// A payload shaped like a signed event: JSON with varying ids, ~400 bytes.
    static func eventLikePayload(_ i: Int) -> [UInt8] {
        let json = """
            {"specversion":"1.0","id":"\(UUID().uuidString.lowercased())","source":"/departments/social-insurance/110105",\
            "type":"social-insurance.contribution-posted.v1","subject":"11010519900307\(String(format: "%04d", i))",\
            "time":"2026-0\(1 + i % 9)-01T00:00:00+08:00","data":{"postingId":"P\(i * 7919)","month":"2026-0\(1 + i % 9)",\
            "insuranceType":"pension","base":"\(5000 + i % 3000).00","employerAmount":"\(800 + i % 100).00",\
            "employeeAmount":"\(400 + i % 50).00"},"tbkid":"social-insurance/2026-01",\
            "tbsig":"\(String(repeating: "A", count: 86))"}
            """
        return Array(json.utf8)
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
