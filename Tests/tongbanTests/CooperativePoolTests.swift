import Foundation
import Kafka
import Postgres
import Testing
import TongbanTesting

@Suite("Blocking C calls never stall Swift's cooperative pool", .serialized, .quietMachine)
struct CooperativePoolTests {
    @Test("#2 16 pg_sleep(0.5) and a blocked Kafka poll in flight: a ticking task keeps its cadence")
    func cadenceUnderLoad() async throws {
        try await withTestDatabase(maxConnections: 16) { database in
            try await withMockCluster(brokers: 1) { cluster in
                let topic = TestNames.unique("pool")
                try await cluster.createTopic(topic, partitions: 1)
                let consumer = try KafkaConsumer(
                    configuration: testConsumerConfiguration(cluster, group: TestNames.unique("pool")), topics: [topic],
                    handler: .always(.end), logger: testLogger("pool"))
                let joined = ContinuousClock.now + .seconds(20)
                while await consumer.assignment.isEmpty && ContinuousClock.now < joined {
                    _ = try await consumer.nextBatch(maxWait: .milliseconds(100))
                }
                #expect(await consumer.assignment.count == 1)

                let clock = ContinuousClock()
                let tick = Duration.milliseconds(20)
                async let worstLateness: Duration = {
                    var worst = Duration.zero
                    let start = clock.now
                    for i in 1...75 {
                        let target = start + tick * i
                        try await Task.sleep(until: target, clock: clock)
                        worst = max(worst, clock.now - target)
                    }
                    return worst
                }()
                let start = clock.now
                let polled = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<16 {
                        group.addTask { try await database.client.query("SELECT pg_sleep(0.5)").count - 1 }
                    }
                    // Nothing is produced: this poll blocks its thread for the whole second.
                    group.addTask { try await consumer.nextBatch(maxMessages: 10, maxWait: .seconds(1)).count }
                    return try await group.reduce(0, +)
                }
                let elapsed = clock.now - start
                let lateness = try await worstLateness
                await consumer.shutdown()
                #expect(polled == 0)
                #expect(elapsed < .milliseconds(1_800), "16 × 0.5 s ran in parallel, and the poll took its second")
                #expect(lateness < .milliseconds(100), "the ticker was late by \(lateness)")
            }
        }
    }
}
