public import Events
public import Kafka

/// A validated event and where it was read: what `ViewStore.apply` stages.
public struct StagedEvent: Sendable {
    /// The event, as `EventValidator` returned it (signature already verified by the caller).
    public var event: ValidatedEvent
    /// The topic and partition it was read from.
    public var topicPartition: KafkaTopicPartition
    /// Its offset in that partition.
    public var offset: Int64
    /// The message value the event was read from, when the caller has it: it is stored as the envelope as it is,
    /// instead of serializing `event.json` again.
    public var message: [UInt8]?

    /// Creates a staged event.
    /// - Parameters:
    ///   - event: the validated event.
    ///   - topicPartition: where it was read.
    ///   - offset: its offset.
    ///   - message: the message value `event` was read from (must be that very JSON), or `nil`.
    public init(
        _ event: ValidatedEvent, at topicPartition: KafkaTopicPartition, offset: Int64, message: [UInt8]? = nil
    ) {
        self.event = event
        self.topicPartition = topicPartition
        self.offset = offset
        self.message = message
    }
}
