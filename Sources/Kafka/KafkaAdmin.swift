public import Logging
import TongbanConcurrency

public import struct Foundation.Date

/// A topic to create.
public struct KafkaTopicSpec: Sendable {
    /// The topic's name.
    public var name: String
    /// How many partitions it has.
    public var partitions: Int
    /// How many copies of each partition the cluster keeps.
    public var replicationFactor: Int
    /// Topic-level configuration (e.g. `retention.ms: "-1"`, `compression.type: "lz4"`).
    public var configs: [String: String]

    /// Creates a topic specification.
    /// - Parameters:
    ///   - name: the topic's name.
    ///   - partitions: the partition count.
    ///   - replicationFactor: the replica count.
    ///   - configs: topic configuration.
    public init(name: String, partitions: Int, replicationFactor: Int = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What the cluster said about its brokers and topics.
public struct KafkaClusterMetadata: Sendable {
    /// A broker of the cluster.
    public struct Broker: Sendable, Hashable {
        /// The broker id.
        public let id: Int32
        /// Its advertised host.
        public let host: String
        /// Its advertised port.
        public let port: Int
    }
    /// A topic of the cluster.
    public struct Topic: Sendable {
        /// The topic's name.
        public let name: String
        /// Its partition count (0 when `error` is set).
        public let partitions: Int
        /// Why the topic could not be described, e.g. `.unknownTopic`.
        public let error: KafkaError?
    }
    /// The brokers.
    public let brokers: [Broker]
    /// The topics asked about (or all of them).
    public let topics: [Topic]
}

/// The offsets a partition currently holds.
public struct KafkaPartitionOffsets: Sendable, Hashable {
    /// The partition.
    public let partition: Int32
    /// The earliest offset still stored (messages before it were deleted by retention).
    public let earliest: Int64
    /// The offset the next message will get (the high watermark).
    public let latest: Int64

    /// Creates a value.
    /// - Parameters:
    ///   - partition: the partition.
    ///   - earliest: the earliest offset stored.
    ///   - latest: the high watermark.
    public init(partition: Int32, earliest: Int64, latest: Int64) {
        self.partition = partition
        self.earliest = earliest
        self.latest = latest
    }
}

/// Creates topics and answers questions about partitions and their offsets.
///
/// - Important: call ``shutdown()`` when done.
public final class KafkaAdmin: Sendable {
    private let client: RDKafkaClient
    private let timeout: Duration

    /// Creates an admin client.
    /// - Parameters:
    ///   - configuration: where the cluster is; `requestTimeout` bounds every call.
    ///   - logger: where librdkafka's logs go.
    /// - Throws: ``KafkaError`` `.configuration` when librdkafka rejects a property.
    public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
        self.timeout = configuration.requestTimeout
        var properties = configuration.baseProperties
        // Asking about a topic must not create it.
        properties["allow.auto.create.topics"] = "false"
        self.client = try RDKafkaClient(
            kind: .producer,
            properties: properties.merging(configuration.additionalProperties) { _, new in new },
            logger: logger)
    }

    /// Describes the cluster: its brokers and a topic (or every topic).
    ///
    /// Always a request to a broker, never an answer from librdkafka's cache: asking about one topic with a short
    /// `timeout` is a cheap way to learn whether the cluster answers at all (the projectors do so every second).
    /// - Parameters:
    ///   - topic: one topic to describe, or `nil` for all.
    ///   - timeout: how long to wait for an answer; `nil` for the configuration's `requestTimeout`.
    /// - Returns: brokers and topics.
    /// - Throws: ``KafkaError`` `.connection`/`.timeout` when no broker answers within the timeout.
    public func metadata(topic: String? = nil, timeout: Duration? = nil) async throws(KafkaError)
        -> KafkaClusterMetadata
    {
        let ms = (timeout ?? self.timeout).milliseconds
        return try await request { client throws(KafkaError) in
            try client.metadataBlocking(topic: topic, timeoutMilliseconds: ms)
        }
    }

    /// Creates topics.
    /// - Parameters:
    ///   - topics: the topics to create.
    ///   - ignoreExisting: whether a topic that already exists counts as success.
    /// - Throws: ``KafkaError`` for the first topic that could not be created.
    public func createTopics(_ topics: [KafkaTopicSpec], ignoreExisting: Bool = true) async throws(KafkaError) {
        let ms = timeout.milliseconds
        let results = try await request { client throws(KafkaError) in
            try client.createTopicsBlocking(topics, timeoutMilliseconds: ms)
        }
        for (_, error) in results {
            guard let error else { continue }
            if ignoreExisting && error.code == .topicAlreadyExists { continue }
            throw error
        }
    }

    /// The earliest and latest offset of every partition of a topic.
    /// - Parameter topic: the topic.
    /// - Returns: one entry per partition, by partition number.
    /// - Throws: ``KafkaError`` `.unknownTopic` when the topic does not exist, `.timeout`/`.connection`.
    public func partitionOffsets(topic: String) async throws(KafkaError) -> [KafkaPartitionOffsets] {
        let ms = timeout.milliseconds
        return try await request { client throws(KafkaError) in
            let metadata = try client.metadataBlocking(topic: topic, timeoutMilliseconds: ms)
            guard let described = metadata.topics.first(where: { $0.name == topic }) else {
                throw KafkaError(.unknownTopic, "topic \(topic) not found")
            }
            if let error = described.error { throw error }
            return try (0..<Int32(described.partitions)).map { (p: Int32) throws(KafkaError) in
                let (low, high) = try client.watermarksBlocking(KafkaTopicPartition(topic, p), timeoutMilliseconds: ms)
                return KafkaPartitionOffsets(partition: p, earliest: low, latest: high)
            }
        }
    }

    /// For each partition, the earliest offset whose timestamp is at or after `time`
    /// (the latest offset when no such message exists): where a replay "from a time" starts.
    /// - Parameters:
    ///   - topic: the topic.
    ///   - time: the point in time.
    /// - Returns: a start offset per partition.
    /// - Throws: ``KafkaError`` `.unknownTopic`, `.timeout`/`.connection`.
    public func offsets(topic: String, at time: Date) async throws(KafkaError) -> [Int32: Int64] {
        let ms = timeout.milliseconds
        let millis = Int64((time.timeIntervalSince1970 * 1000).rounded(.down))
        return try await request { client throws(KafkaError) in
            let metadata = try client.metadataBlocking(topic: topic, timeoutMilliseconds: ms)
            guard let described = metadata.topics.first(where: { $0.name == topic }), described.error == nil else {
                throw KafkaError(.unknownTopic, "topic \(topic) not found")
            }
            let partitions = (0..<Int32(described.partitions)).map { KafkaTopicPartition(topic, $0) }
            let found = try client.offsetsForTimesBlocking(
                partitions, millisecondsSinceEpoch: millis, timeoutMilliseconds: ms)
            var result: [Int32: Int64] = [:]
            for (tp, offset) in found {
                result[tp.partition] =
                    offset >= 0 ? offset : try client.watermarksBlocking(tp, timeoutMilliseconds: ms).1
            }
            return result
        }
    }

    /// Runs a blocking request on the client's queue, refusing once the client is shut down.
    private func request<T: Sendable>(
        _ body: @escaping @Sendable (RDKafkaClient) throws(KafkaError) -> T
    ) async throws(KafkaError) -> T {
        let client = self.client
        try client.enter()
        defer { client.leave() }
        return try await client.blocking.run { () throws(KafkaError) in try body(client) }
    }

    /// Frees the client. Idempotent.
    public func shutdown() async {
        await client.destroy()
    }
}
