public import Foundation
public import Kafka

/// What a ``Projector`` is doing, for `/health` and operators.
public struct ProjectorStatus: Sendable {
    /// The projector's phase.
    public struct Phase: Hashable, Sendable, CustomStringConvertible {
        let rawValue: String
        /// Joining the consumer group or reading checkpoints.
        public static let starting = Phase(rawValue: "starting")
        /// Reading and applying batches.
        public static let running = Phase(rawValue: "running")
        /// A batch failed and is being retried (PostgreSQL or Kafka unavailable); ``ProjectorStatus/lastError`` says why.
        public static let retrying = Phase(rawValue: "retrying")
        /// Shut down.
        public static let stopped = Phase(rawValue: "stopped")
        public var description: String { rawValue }
    }

    /// The phase.
    public var phase: Phase = .starting
    /// The partitions this instance reads.
    public var assignment: [KafkaTopicPartition] = []
    /// When the last batch committed.
    public var lastCommit: Date?
    /// The last failure, in plain words (cleared by the next commit).
    public var lastError: String?
    /// Events applied to the views since start.
    public var applied: Int = 0
    /// Events ignored as re-sent duplicates since start.
    public var duplicates: Int = 0
    /// Messages dead-lettered since start.
    public var deadLetters: Int = 0
    /// Messages read below the verified watermark (not verified again) since start.
    public var trusted: Int = 0
    /// Failed attempts (of a batch, or of a consumer session) that were retried since start.
    public var retries: Int = 0
    /// Whether a rebuild of the view group is under way: the views are partial, and without their readers' indexes,
    /// until every checkpoint is back at its verified watermark (see `ViewStore.resetForRebuild(keepingLedger:on:)`).
    public var rebuilding = false
    /// Assigned partitions whose checkpoint Kafka does not hold (retention deleted those messages, or the topic was
    /// recreated), with librdkafka's words: nothing of them is read or applied, because going on from another offset
    /// would leave the views without what is missing. An operator must act (see `tongban project --help`).
    public var unreadable: [KafkaTopicPartition: String] = [:]
    /// Messages behind the newest one, per assigned partition (as librdkafka last saw the end of each).
    public var lag: [KafkaTopicPartition: Int64] = [:]

    /// Creates an empty status.
    public init() {}

    /// The sum of ``lag``.
    public var totalLag: Int64 { lag.values.reduce(0, +) }
}
