public import Kafka

/// A message that cannot be applied, recorded in `tongban.dead_letter` with its original bytes.
public struct DeadLetter: Sendable, Hashable {
    /// Where the message was read.
    public var topicPartition: KafkaTopicPartition
    /// Its offset.
    public var offset: Int64
    /// The Kafka key as received.
    public var key: [UInt8]?
    /// The Kafka value as received (not necessarily JSON).
    public var value: [UInt8]
    /// Why it was rejected, in plain words.
    public var reason: String
    /// The envelope id, if the message was readable enough to have one.
    public var eventID: String?
    /// The envelope type, if readable.
    public var eventType: String?

    /// Creates a dead letter.
    /// - Parameters:
    ///   - topicPartition: where the message was read.
    ///   - offset: its offset.
    ///   - key: the Kafka key as received.
    ///   - value: the Kafka value as received.
    ///   - reason: why it was rejected.
    ///   - eventID: the envelope id, if known.
    ///   - eventType: the envelope type, if known.
    public init(
        at topicPartition: KafkaTopicPartition, offset: Int64, key: [UInt8]?, value: [UInt8], reason: String,
        eventID: String? = nil, eventType: String? = nil
    ) {
        self.topicPartition = topicPartition
        self.offset = offset
        self.key = key
        self.value = value
        self.reason = reason
        self.eventID = eventID
        self.eventType = eventType
    }
}
