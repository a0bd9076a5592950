import Foundation
import Kafka
import Postgres
import Projections
import Testing
import TongbanTesting

@testable import tongban

@Suite("tongban dead-letters redrive: a bounded result", .sharedMachine)
struct RedriveResultTests {
    @Test("a redrive counts everything but keeps at most sampleLimit positions of each kind, and says what it left out")
    func boundedResult() async throws {
        let topic = "tongban.household"
        try await withMockCluster(brokers: 1) { cluster in
            try await cluster.createTopic(topic, partitions: 1)
            try await withTestDatabase { db in
                try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
                // 120 small dead letters, then 3 larger than the producer's message.max.bytes (1,000,000): Kafka
                // takes the small ones and refuses the large ones, for good (not retriable).
                try await db.client.execute(
                    """
                    INSERT INTO tongban.dead_letter (topic, partition, message_offset, key, value, reason)
                    SELECT \(topic), 0, g, convert_to('key-' || g, 'UTF8'),
                        CASE WHEN g < 120 THEN convert_to('value-' || g, 'UTF8')
                            ELSE decode(repeat('ab', 1100000), 'hex') END,
                        'unknown key id'
                    FROM generate_series(0, 122) AS g
                    """)
                let producer = try KafkaProducer(
                    configuration: testProducerConfiguration(cluster), logger: testLogger("redrive"))
                let store = DeadLetterStore()
                let position = { (offset: Int64) in
                    DeadLetterStore.Position(KafkaTopicPartition(topic, 0), offset: offset)
                }
                do {
                    // The default: 100 of each kind.
                    let first = try await db.client.withConnection {
                        try await store.redrive(.init(topics: [topic]), producer: producer, on: $0, chunk: 50)
                    }
                    #expect(first.sampleLimit == DeadLetterStore.Redriven.defaultSampleLimit)
                    #expect(first.sampleLimit == 100)
                    #expect(first.sentCount == 120 && first.sentSample.count == 100 && first.sentLeftOut == 20)
                    #expect(first.sentSample.map(\.position) == (0..<100).map { position(Int64($0)) })
                    #expect(first.sentSample.allSatisfy { $0.offset != nil })
                    #expect(first.failedCount == 3 && first.failedSample.count == 3 && first.failedLeftOut == 0)
                    #expect(first.failedSample.map(\.position) == (120..<123).map { position(Int64($0)) })
                    #expect(!first.failuresAreRetriable && !first.stoppedEarly && !first.cancelled)
                    let marked = try await db.client.query(
                        "SELECT count(*) FROM tongban.dead_letter WHERE redriven_at IS NOT NULL")
                    #expect(try marked[0].decode(Int.self, at: 0) == 120)

                    // Everything again, keeping 2 of each: all counted, the rest left out, and the report says so.
                    var progress: [Int] = []
                    let second = try await db.client.withConnection {
                        try await store.redrive(
                            .init(topics: [topic], includingRedriven: true), producer: producer, on: $0, chunk: 50,
                            sampleLimit: 2
                        ) { done in
                            progress.append(done.sentSample.count + done.failedSample.count)
                        }
                    }
                    #expect(progress.allSatisfy { $0 <= 4 } && progress.count == 3)
                    #expect(second.sentCount == 120 && second.sentSample.map(\.position) == [position(0), position(1)])
                    #expect(second.sentLeftOut == 118)
                    #expect(second.failedCount == 3)
                    #expect(second.failedSample.map(\.position) == [position(120), position(121)])
                    #expect(second.failedLeftOut == 1)

                    var said: [String] = []
                    var warned: [String] = []
                    DeadLettersCommand.Redrive.report(second, say: { said.append($0) }, warn: { warned.append($0) })
                    #expect(warned.count == 3)
                    #expect(warned.prefix(2).allSatisfy { $0.hasPrefix("not sent: \(topic):0:12") })
                    #expect(warned.last == "not sent: 1 more, not listed")
                    #expect(said.first?.hasPrefix("sent 120 dead letters again") == true)
                    #expect(said.last?.hasPrefix("3 were not sent (the first 2 listed above, 1 left out)") == true)
                } catch {
                    await producer.shutdown()
                    throw error
                }
                await producer.shutdown()
            }
        }
    }

    @Test("an empty result keeps nothing and counts nothing")
    func emptyResult() {
        let none = DeadLetterStore.Redriven(sampleLimit: -5)
        #expect(none.sampleLimit == 0)
        #expect(none.sentCount == 0 && none.failedCount == 0 && none.sentLeftOut == 0 && none.failedLeftOut == 0)
        #expect(none.failuresAreRetriable)
    }
}
