public import Events
import Foundation
public import Kafka

/// How a ``Projector`` reads, verifies and applies.
///
/// Every value has a default suited to one projector per core pair; `tongban project` sets them from its options.
public struct ProjectorConfiguration: Sendable {
    /// The consumer group and its Kafka settings. All instances of one deployment share the group, so Kafka
    /// spreads the partitions over them.
    public var consumer: KafkaConsumerConfiguration
    /// The producer used for the dead-letter topic (same cluster).
    public var producer: KafkaProducerConfiguration
    /// The department topics to read (default: every topic of the embedded event catalog).
    public var topics: [String]
    /// Where messages that cannot be applied go (default: the catalog's dead-letter topic).
    public var deadLetterTopic: String
    /// The checkpoint group in `tongban.checkpoint` (default `tongban.views`).
    public var viewGroup: String = "tongban.views"
    /// The schema the projector writes: `tongban` (the live views, the default), or the shadow copy a rebuild fills
    /// (``ShadowRebuild/shadowSchema``), with its own checkpoints, dead letters and rejected offsets. A projector
    /// writing a shadow copy never restores what an in-place rebuild deferred on the live views.
    public var schema: String = "tongban"
    /// Whether messages that cannot be applied are also sent to ``deadLetterTopic`` (default true). A rebuild into a
    /// shadow copy reads messages the live projectors already judged and sent there: it records its dead letters
    /// only in its own schema, so that departments are not told twice.
    public var sendsDeadLetters = true
    /// The most messages in one batch (one PostgreSQL transaction). Default 5,000.
    public var batchSize: Int = 5_000
    /// How long to wait for a batch to fill before applying what arrived. Default 200 ms.
    public var batchWait: Duration = .milliseconds(200)
    /// How many tasks verify signatures in parallel (default: the number of active cores).
    public var verificationTasks: Int
    /// How many connections apply a batch at once, each in its own transaction over its own share of the batch's
    /// partitions (a partition's facts and checkpoint always commit together). More lets PostgreSQL use more
    /// cores. Default 2; the database pool needs this many connections per projector, plus one.
    public var applyConnections: Int = 2
    /// The first pause after a failed batch; doubled on every further failure up to ``maxRetryBackoff``.
    public var retryBackoff: Duration = .milliseconds(100)
    /// The longest pause between two attempts of a failing batch. Default 5 s.
    public var maxRetryBackoff: Duration = .seconds(5)
    /// The longest clock skew accepted for "not in the future" rules. Default 5 minutes.
    public var maximumClockSkew: Duration = .seconds(300)
    /// How long Kafka may fail to answer before the projector counts it unreachable
    /// (``ProjectorStatus/isKafkaUnreachable(at:)``) and `/health/ready` answers 503. Default 10 s.
    ///
    /// The projector asks the cluster for the metadata of one of its topics every second (1 s timeout, on a small
    /// client of its own, idle or busy) and counts the connection errors its consumer reports (brokers down, all
    /// brokers down, transport or TLS errors, timed-out requests); the next answer ends the outage. So Kafka counts
    /// unreachable after about this long plus up to 2 s, and reachable again within about a second of answering.
    public var kafkaUnreachableAfter: Duration = .seconds(10)
    /// How long PostgreSQL may fail to answer before the projector counts it unreachable
    /// (``ProjectorStatus/isPostgresUnreachable(at:)``) and `/health/ready` answers 503. Default 10 s.
    ///
    /// Between batches, busy or idle, the projector reads its checkpoints once a second (a `SELECT 1` while it has no
    /// partitions); a failed read starts the outage, the next read or commit that succeeds ends it. A batch that
    /// cannot be committed fails readiness at once, whatever this says.
    public var postgresUnreachableAfter: Duration = .seconds(10)
    /// The largest message value read as an event, in bytes (default 1 MiB): a larger one is dead-lettered without
    /// being parsed ("the message has N bytes, more than …"), so that no sender can make the projector parse and
    /// hold an arbitrarily large document. Events are a few kilobytes.
    public var maximumEventBytes: Int = 1 << 20
    /// How many times a lane whose refusal by PostgreSQL no single event reproduces is tried again before its events
    /// go to the dead letters one by one (default 5): a refusal that only the batch as a whole provokes must not stall
    /// its partitions for ever.
    public var maximumUnexplainedRefusals: Int = 5

    /// Creates a configuration.
    /// - Parameters:
    ///   - kafka: the cluster (bootstrap servers and any librdkafka properties).
    ///   - groupID: the consumer group (default `tongban-projector`).
    ///   - catalog: the event catalog that names the topics and the dead-letter topic.
    public init(kafka: KafkaConfiguration, groupID: String = "tongban-projector", catalog: EventCatalog) {
        self.consumer = KafkaConsumerConfiguration(kafka: kafka, groupID: groupID)
        var producer = KafkaProducerConfiguration(kafka: kafka)
        producer.linger = .milliseconds(1)
        self.producer = producer
        self.topics = Array(Set(catalog.topics.values)).sorted()
        self.deadLetterTopic = catalog.deadLetterTopic
        self.verificationTasks = max(1, ProcessInfo.processInfo.activeProcessorCount)
    }
}
