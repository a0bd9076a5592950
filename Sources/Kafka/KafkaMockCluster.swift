public import Logging

/// An in-process Kafka cluster speaking the real wire protocol (librdkafka's mock cluster).
///
/// It listens on loopback TCP ports, so any Kafka client — in this process or another — can use
/// ``bootstrapServers``. Faults can be injected: request errors, brokers going down and up,
/// round-trip delays. Used by the tests and by `tongban dev`.
///
/// Limits (librdkafka 2.0.2): each partition keeps at most 5 MiB of message batches (and 100,000
/// batches); older ones are dropped silently. Compress and use enough partitions for big runs.
///
/// - Important: call ``shutdown()`` when done.
public final class KafkaMockCluster: Sendable {
    /// A Kafka protocol request type, for fault injection.
    public struct APIKey: Hashable, Sendable {
        /// The protocol's numeric API key.
        public let rawValue: Int16
        /// Creates a key from its number.
        /// - Parameter rawValue: the Kafka protocol API key.
        public init(rawValue: Int16) { self.rawValue = rawValue }
        public static let produce = APIKey(rawValue: 0)
        public static let fetch = APIKey(rawValue: 1)
        public static let listOffsets = APIKey(rawValue: 2)
        public static let metadata = APIKey(rawValue: 3)
        public static let offsetCommit = APIKey(rawValue: 8)
        public static let offsetFetch = APIKey(rawValue: 9)
        public static let findCoordinator = APIKey(rawValue: 10)
        public static let joinGroup = APIKey(rawValue: 11)
        public static let heartbeat = APIKey(rawValue: 12)
        public static let syncGroup = APIKey(rawValue: 14)
        public static let initProducerID = APIKey(rawValue: 22)
    }

    /// A Kafka protocol error code a broker can answer with.
    public struct ProtocolError: Hashable, Sendable {
        /// The protocol's numeric error code.
        public let rawValue: Int32
        /// Creates an error from its number.
        /// - Parameter rawValue: the Kafka protocol error code.
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let unknownTopicOrPartition = ProtocolError(rawValue: 3)
        public static let leaderNotAvailable = ProtocolError(rawValue: 5)
        public static let notLeaderForPartition = ProtocolError(rawValue: 6)
        public static let requestTimedOut = ProtocolError(rawValue: 7)
        public static let networkException = ProtocolError(rawValue: 13)
        public static let coordinatorNotAvailable = ProtocolError(rawValue: 15)
        public static let notCoordinator = ProtocolError(rawValue: 16)
        public static let notEnoughReplicas = ProtocolError(rawValue: 19)
        public static let topicAuthorizationFailed = ProtocolError(rawValue: 29)
        public static let invalidRequest = ProtocolError(rawValue: 42)
    }

    private let mock: RDKafkaMock

    /// `host:port,…` of the cluster's brokers, for any client's `bootstrap.servers`.
    public var bootstrapServers: String { mock.bootstrapServers }

    /// The broker ids, from 1.
    public let brokerIDs: [Int32]

    /// Starts a cluster.
    /// - Parameters:
    ///   - brokers: how many brokers (at least 1).
    ///   - logger: where the hosting client's logs go.
    /// - Throws: ``KafkaError`` `.mock` when the cluster cannot start.
    public init(brokers: Int = 3, logger: Logger) throws(KafkaError) {
        mock = try RDKafkaMock(brokers: max(brokers, 1), logger: logger)
        brokerIDs = (1...Int32(max(brokers, 1))).map { $0 }
    }

    /// Creates a topic (topics are otherwise auto-created with the mock's default partition count).
    /// - Parameters:
    ///   - name: the topic.
    ///   - partitions: the partition count.
    ///   - replicationFactor: replicas per partition (at most the broker count).
    /// - Throws: ``KafkaError`` when the mock refuses (e.g. the topic exists).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) async throws(KafkaError) {
        try await mock.createTopic(name, partitions: partitions, replicationFactor: replicationFactor)
    }

    /// Takes a broker down: its connections close and it accepts no new ones.
    /// - Parameter id: the broker id.
    /// - Throws: ``KafkaError`` for an unknown broker.
    public func setBrokerDown(_ id: Int32) async throws(KafkaError) { try await mock.setBroker(id, up: false) }

    /// Brings a broker back up.
    /// - Parameter id: the broker id.
    /// - Throws: ``KafkaError`` for an unknown broker.
    public func setBrokerUp(_ id: Int32) async throws(KafkaError) { try await mock.setBroker(id, up: true) }

    /// Delays every response of a broker.
    /// - Parameters:
    ///   - delay: the added round-trip time.
    ///   - broker: the broker id.
    /// - Throws: ``KafkaError`` for an unknown broker.
    public func setRoundTripTime(_ delay: Duration, broker: Int32) async throws(KafkaError) {
        try await mock.setRoundTripTime(delay.milliseconds, broker: broker)
    }

    /// Makes the next requests of one type fail with the given errors, one error per request, in order.
    /// - Parameters:
    ///   - api: the request type.
    ///   - errors: the errors to answer with.
    /// - Throws: ``KafkaError`` `.closed` after ``shutdown()``.
    public func pushRequestErrors(_ api: APIKey, _ errors: [ProtocolError]) async throws(KafkaError) {
        try await mock.pushRequestErrors(apiKey: api.rawValue, errors: errors.map(\.rawValue))
    }

    /// Forgets errors pushed for a request type and not yet used.
    /// - Parameter api: the request type.
    /// - Throws: ``KafkaError`` `.closed` after ``shutdown()``.
    public func clearRequestErrors(_ api: APIKey) async throws(KafkaError) {
        try await mock.clearRequestErrors(apiKey: api.rawValue)
    }

    /// Stops the cluster and frees it. Idempotent.
    public func shutdown() async { await mock.destroy() }
}

/// Facts about the linked Kafka client library.
public enum KafkaLibrary {
    /// The version of the linked librdkafka, e.g. `2.0.2`.
    public static var version: String { RDKafkaClient.version }
}
