public import Kafka

/// What `ViewStore.apply` did with a batch.
public struct ApplyOutcome: Sendable, Hashable {
    /// A staged event that was not applied.
    public struct Skipped: Sendable, Hashable {
        /// Where it was read.
        public var topicPartition: KafkaTopicPartition
        /// Its offset.
        public var offset: Int64
        /// The envelope id.
        public var eventID: String
    }

    /// How many events were applied (new event ids).
    public var applied: Int
    /// Events whose id was already applied with the same content (or earlier in the batch): ignored.
    public var duplicates: [Skipped]
    /// Events whose id was already applied with different content: not applied, recorded as dead letters.
    public var rejected: [Skipped]
}
