public import Events
public import Kafka

/// A validated event and where it was read: what `ViewStore.apply` writes to the views.
///
/// A class: a batch passes its events through several stages (verification, lanes, the apply), and an event is
/// large (its parsed envelope, payload and catalog entry); sharing it costs one reference count per stage instead of
/// one per string it holds.
public final class StagedEvent: Sendable {
    /// The event, as `EventValidator` returned it (signature already verified by the caller).
    public let event: ValidatedEvent
    /// The topic and partition it was read from.
    public let topicPartition: KafkaTopicPartition
    /// Its offset in that partition.
    public let offset: Int64
    /// The message value the event was read from, when the caller has it: it is stored as the envelope as it is,
    /// instead of serializing `event.json` again.
    public let message: [UInt8]?
    /// The event's content and fact hashes, the idempotency keys of the views.
    public let fingerprint: EventFingerprint

    /// Creates a staged event and fingerprints it (call it where the work can run in parallel: it hashes the
    /// canonical bytes).
    /// - Parameters:
    ///   - event: the validated event.
    ///   - topicPartition: where it was read.
    ///   - offset: its offset.
    ///   - message: the message value `event` was read from (must be that very JSON), or `nil`.
    ///   - canonical: the envelope's canonical forms, if the caller computed them (verifying a signature does).
    /// - Throws: ``EventSignatureError`` `.notCanonicalizable` when the envelope has no canonical form.
    public init(
        _ event: ValidatedEvent, at topicPartition: KafkaTopicPartition, offset: Int64, message: [UInt8]? = nil,
        canonical: EventCanonicalForms? = nil
    ) throws(EventSignatureError) {
        self.event = event
        self.topicPartition = topicPartition
        self.offset = offset
        self.message = message
        self.fingerprint = try EventFingerprint(event, canonical: canonical)
    }

    /// The message as stored: the bytes read, or the envelope serialized.
    var envelopeBytes: [UInt8] { message ?? event.json.serialized }

    /// This event as a dead letter: its position, record key and original bytes, with the reason.
    func deadLetter(reason: String) -> DeadLetter {
        DeadLetter(
            at: topicPartition, offset: offset, key: Array(event.key.utf8), value: envelopeBytes, reason: reason,
            eventID: event.id, eventType: event.type)
    }

    /// Whether this event was read before `other` (topic, partition, offset): among copies of one event or one fact,
    /// the earliest counts.
    func precedes(_ other: StagedEvent) -> Bool {
        if topicPartition != other.topicPartition { return topicPartition < other.topicPartition }
        return offset < other.offset
    }
}
