public import Events
import Foundation
public import Kafka
public import Postgres
public import Projections
public import SyntheticPopulation

/// A signed generated population as departments would publish it (anomalies included), and what the hub must
/// make of it.
public struct SignedPopulation: Sendable {
    /// Every generated message, in publication order.
    public let events: [GeneratedEvent]
    /// The generator's ground truth.
    public let expected: ExpectedAnswers

    /// Generates a population signed with the development keys.
    /// - Parameters:
    ///   - people: people in the population.
    ///   - seed: the generator's seed.
    ///   - anomalyRate: the share of anomalous messages.
    /// - Returns: the population.
    /// - Throws: the generator's errors.
    public static func make(people: Int, seed: UInt64, anomalyRate: Double) throws -> SignedPopulation {
        var configuration = PopulationConfiguration(people: people, seed: seed)
        configuration.anomalyRate = anomalyRate
        configuration.signingKeys = DevKeys.all
        var events: [GeneratedEvent] = []
        let expected = try PopulationGenerator(configuration).generate { events.append($0) }
        return SignedPopulation(events: events, expected: expected)
    }

    /// The same population with only the messages `isIncluded` keeps (the ground truth is kept as it is).
    /// - Parameter isIncluded: whether a message stays.
    /// - Returns: the population.
    public func filter(_ isIncluded: (GeneratedEvent) -> Bool) -> SignedPopulation {
        SignedPopulation(events: events.filter(isIncluded), expected: expected)
    }

    /// The messages the hub must dead-letter.
    public var rejected: [GeneratedEvent] { events.filter { !$0.shouldBeApplied } }

    /// The ids of the events the views must hold (each once).
    public var appliedIDs: Set<String> { Set(events.filter(\.shouldBeApplied).compactMap(\.id)) }

    /// The same messages in another order Kafka could deliver: each (topic, key) keeps its order, the rest is
    /// shuffled with a seeded generator.
    public func interleaved(seed: UInt64) -> [GeneratedEvent] {
        var queues: [String: [GeneratedEvent]] = [:]
        var order: [String] = []
        for event in events {
            let name = event.topic + "|" + event.key
            if queues[name] == nil { order.append(name) }
            queues[name, default: []].append(event)
        }
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var live = order.map { queues[$0]![...] }
        var result: [GeneratedEvent] = []
        result.reserveCapacity(events.count)
        while !live.isEmpty {
            let index = Int(next() % UInt64(live.count))
            result.append(live[index].removeFirst())
            if live[index].isEmpty {
                live.swapAt(index, live.count - 1)
                live.removeLast()
            }
        }
        return result
    }
}

/// Department topics on a mock cluster, publishing, and watching projectors catch up.
public enum ProjectionScenario {
    /// The event catalog.
    public static let catalog: EventCatalog = try! EventCatalog.embedded()

    /// The department topics, sorted.
    public static var topics: [String] { Array(Set(catalog.topics.values)).sorted() }

    /// Creates the department topics and the dead-letter topic.
    /// - Parameters:
    ///   - cluster: the mock cluster.
    ///   - partitions: partitions per department topic.
    /// - Throws: `KafkaError`.
    public static func createTopics(on cluster: KafkaMockCluster, partitions: Int = 4) async throws {
        for topic in topics { try await cluster.createTopic(topic, partitions: partitions) }
        try await cluster.createTopic(catalog.deadLetterTopic, partitions: 2)
    }

    /// Runs `body` with `events` published to the department topics of a fresh mock cluster, and a fresh database with
    /// Tongban's migrations applied: how the projector tests begin.
    /// - Parameters:
    ///   - events: the messages to publish, in order.
    ///   - body: the test.
    /// - Throws: what `body` threw, or what setting the cluster or the database up threw.
    public static func withPublished(
        _ events: [GeneratedEvent], _ body: (KafkaMockCluster, TestDatabase) async throws -> Void
    ) async throws {
        try await withMockCluster { cluster in
            try await createTopics(on: cluster)
            try await publish(events, to: cluster)
            try await withTestDatabase { db in
                try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
                try await body(cluster, db)
            }
        }
    }

    /// Publishes messages as the departments would (key = the record key, value = the line as generated, valid or
    /// not), and waits for every acknowledgement.
    /// - Parameters:
    ///   - events: the messages, in order.
    ///   - cluster: the mock cluster.
    /// - Throws: `KafkaError`, or when a message was not stored.
    public static func publish(_ events: [GeneratedEvent], to cluster: KafkaMockCluster) async throws {
        try await publish(
            messages: events.map { KafkaProducerMessage(topic: $0.topic, key: $0.key, value: $0.line) }, to: cluster)
    }

    /// Publishes messages as they are, and waits for every acknowledgement.
    /// - Parameters:
    ///   - messages: the messages, in order.
    ///   - cluster: the mock cluster.
    /// - Throws: `KafkaError`, or when a message was not stored.
    public static func publish(messages: [KafkaProducerMessage], to cluster: KafkaMockCluster) async throws {
        let configuration = testProducerConfiguration(cluster)
        let producer = try KafkaProducer(configuration: configuration, logger: testLogger("publish"))
        do {
            let reports = try await producer.send(messages)
            if let failed = reports.first(where: { $0.error != nil }) {
                throw ScenarioError("a message was not stored: \(failed.error!.detail)")
            }
        } catch {
            await producer.shutdown()
            throw error
        }
        await producer.shutdown()
    }

    /// The end offset of every partition of the department topics.
    /// - Parameter cluster: the mock cluster.
    /// - Returns: the high watermark of each partition.
    /// - Throws: `KafkaError`.
    public static func endOffsets(on cluster: KafkaMockCluster) async throws -> [KafkaTopicPartition: Int64] {
        let admin = try KafkaAdmin(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: testLogger("admin"))
        var ends: [KafkaTopicPartition: Int64] = [:]
        do {
            for topic in topics {
                for offsets in try await admin.partitionOffsets(topic: topic) {
                    ends[KafkaTopicPartition(topic, offsets.partition)] = offsets.latest
                }
            }
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
        return ends
    }

    /// A projector configuration for tests: short group timeouts, small batches.
    /// - Parameters:
    ///   - cluster: the mock cluster.
    ///   - group: the consumer group.
    ///   - batchSize: messages per batch.
    /// - Returns: the configuration.
    public static func projectorConfiguration(
        _ cluster: KafkaMockCluster, group: String, batchSize: Int = 500
    ) -> ProjectorConfiguration {
        var configuration = ProjectorConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), groupID: group, catalog: catalog)
        configuration.consumer = testConsumerConfiguration(cluster, group: group)
        configuration.producer = testProducerConfiguration(cluster)
        configuration.batchSize = batchSize
        configuration.batchWait = .milliseconds(50)
        configuration.retryBackoff = .milliseconds(50)
        configuration.maxRetryBackoff = .milliseconds(500)
        return configuration
    }

    /// Runs projectors until the checkpoints reach the end of every partition, then stops them gracefully.
    /// - Parameters:
    ///   - cluster: the mock cluster.
    ///   - database: the migrated database.
    ///   - instances: projectors in the consumer group.
    ///   - group: the consumer group.
    ///   - batchSize: messages per batch.
    ///   - keys: the departments' keys the projectors trust.
    ///   - during: runs while they project, before the wait for them to catch up.
    /// - Returns: each projector's status once it stopped.
    /// - Throws: what a projector or `during` threw, or ``ScenarioError`` when they did not catch up.
    public static func project(
        _ cluster: KafkaMockCluster, database: TestDatabase, instances: Int = 1, group: String,
        batchSize: Int = 500, keys: EventKeyRegistry = DevKeys.registry,
        during: (@Sendable () async throws -> Void)? = nil
    ) async throws -> [ProjectorStatus] {
        let configuration = projectorConfiguration(cluster, group: group, batchSize: batchSize)
        let projectors = try (0..<instances).map { _ in
            try Projector(
                configuration: configuration, database: database.client, keys: keys, logger: testLogger("projector"))
        }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for projector in projectors { tasks.addTask { try await projector.run() } }
            do {
                try await during?()
                let ends = try await endOffsets(on: cluster)
                try await waitUntilCaughtUp(ends, conninfo: database.conninfo)
            } catch {
                tasks.cancelAll()
                throw error
            }
            for projector in projectors { projector.stop() }
            try await tasks.waitForAll()
        }
        return projectors.map(\.status)
    }

    /// Waits until the stored checkpoints of `viewGroup` reach `ends` on every non-empty partition.
    /// - Parameters:
    ///   - ends: the end offset of each partition.
    ///   - viewGroup: the checkpoint group.
    ///   - conninfo: the database (a connection is opened for each look, so a server restart does not matter).
    ///   - timeout: how long to wait.
    /// - Throws: a description of the partitions still behind after `timeout`.
    public static func waitUntilCaughtUp(
        _ ends: [KafkaTopicPartition: Int64], viewGroup: String = "tongban.views", conninfo: String,
        timeout: Duration = .seconds(120)
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var behind: [String] = []
        while ContinuousClock.now < deadline {
            if let stored = try? await checkpoints(viewGroup: viewGroup, conninfo: conninfo) {
                behind = ends.filter { $0.value > 0 && (stored[$0.key] ?? 0) < $0.value }
                    .map { "\($0.key): \(stored[$0.key] ?? 0) of \($0.value)" }.sorted()
                if behind.isEmpty { return }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ScenarioError("the projectors did not catch up within \(timeout): \(behind.joined(separator: ", "))")
    }

    /// The stored `next_offset` of each partition of a view group.
    public static func checkpoints(
        viewGroup: String = "tongban.views", conninfo: String
    ) async throws -> [KafkaTopicPartition: Int64] {
        let connection = try await PostgresConnection.connect(conninfo, logger: TestPostgres.logger)
        do {
            let rows = try await connection.query(
                "SELECT topic, partition, next_offset FROM tongban.checkpoint WHERE view_group = \(viewGroup)")
            var result: [KafkaTopicPartition: Int64] = [:]
            for row in rows {
                result[KafkaTopicPartition(try row.decode(String.self, at: 0), try row.decode(Int32.self, at: 1))] =
                    try row.decode(Int64.self, at: 2)
            }
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Reads every message of the dead-letter topic.
    /// - Parameter cluster: the mock cluster.
    /// - Returns: the messages.
    /// - Throws: `KafkaError`.
    public static func deadLetterMessages(on cluster: KafkaMockCluster) async throws -> [KafkaMessage] {
        try await messages(of: catalog.deadLetterTopic, on: cluster)
    }

    /// Reads every message of a topic.
    /// - Parameters:
    ///   - topic: the topic.
    ///   - cluster: the mock cluster.
    /// - Returns: the messages.
    /// - Throws: `KafkaError`.
    public static func messages(of topic: String, on cluster: KafkaMockCluster) async throws -> [KafkaMessage] {
        let admin = try KafkaAdmin(
            configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: testLogger("admin"))
        let ends: [KafkaPartitionOffsets]
        do {
            ends = try await admin.partitionOffsets(topic: topic)
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
        let total = ends.reduce(0) { $0 + Int($1.latest - $1.earliest) }
        guard total > 0 else { return [] }
        let consumer = try KafkaConsumer(
            configuration: testConsumerConfiguration(cluster, group: TestNames.unique("topic-reader")),
            topics: [topic], handler: .always(.beginning), logger: testLogger("topic-reader"))
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(60)
        do {
            while messages.count < total && ContinuousClock.now < deadline {
                messages += try await consumer.nextBatch(maxMessages: 10_000, maxWait: .milliseconds(200))
            }
        } catch {
            await consumer.shutdown()
            throw error
        }
        await consumer.shutdown()
        return messages
    }

    /// The views a from-zero application of the valid events builds, straight through `ViewStore` (no Kafka).
    /// - Parameters:
    ///   - population: the population.
    ///   - client: an empty, migrated database.
    /// - Throws: validation or database errors.
    public static func applyReference(_ population: SignedPopulation, to client: PostgresClient) async throws {
        let validator = try EventValidator()
        let store = ViewStore(viewGroup: "reference")
        var staged: [StagedEvent] = []
        for (index, event) in population.events.enumerated() where event.shouldBeApplied {
            let validated = try validator.validate(event.line, key: Array(event.key.utf8))
            staged.append(try StagedEvent(validated, at: KafkaTopicPartition(event.topic, 0), offset: Int64(index)))
        }
        try await client.withConnection { connection in
            try await store.apply(staged, checkpoints: [], on: connection)
        }
    }

    /// A canonical dump of every contract view (`tongban.v_*`): each view's rows as text, sorted.
    /// - Parameter client: the database.
    /// - Returns: the text of each view.
    /// - Throws: `PostgresError`.
    public static func dump(_ client: PostgresClient) async throws -> [String: String] {
        let views = try await client.withConnection { try await ViewStore.contractViews(on: $0) }
        var dump: [String: String] = [:]
        for view in views {
            let rows = try await client.query(
                """
                SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')
                FROM tongban.\(identifier: view) t
                """)
            dump[view] = try rows[0].decode(String.self, at: 0)
        }
        return dump
    }

    /// The ids in the applied-event ledger.
    public static func ledgerIDs(_ client: PostgresClient) async throws -> Set<String> {
        Set(
            try await client.query("SELECT event_id::text FROM tongban.event").map {
                try $0.decode(String.self, at: 0)
            })
    }
}

/// A scenario did not go as a test expected.
public struct ScenarioError: Error, CustomStringConvertible {
    public let description: String
    /// Creates an error.
    /// - Parameter description: what went wrong.
    public init(_ description: String) { self.description = description }
}
