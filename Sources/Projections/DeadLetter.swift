import Events
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
    /// Why it was rejected, in plain words (one line: control characters escaped).
    public var reason: String
    /// The envelope id, if the message was readable enough to have one.
    public var eventID: String?
    /// The envelope type, if readable (control characters escaped, at most ``maximumEventTypeLength`` characters:
    /// it is the sender's text when the type is not in the catalog).
    public var eventType: String?

    /// The longest ``eventType`` kept, in Unicode scalars (every catalog type is far shorter).
    public static let maximumEventTypeLength = 128

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
        // The reason and type may quote what the sender wrote: a NUL there would make PostgreSQL refuse the dead
        // letter itself, and the message would stop its partition instead of being recorded.
        self.reason = EventViolation.printable(reason)
        self.eventID = eventID
        self.eventType = eventType.map {
            EventViolation.printable(
                String(String.UnicodeScalarView($0.unicodeScalars.prefix(Self.maximumEventTypeLength))))
        }
    }
}
