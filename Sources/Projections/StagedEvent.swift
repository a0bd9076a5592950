public import Events
import Foundation
public import Kafka
import Postgres

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
    /// The Kafka key the message had, when the caller has it (a dead letter keeps it as received).
    public let messageKey: [UInt8]?
    /// The event's content and fact hashes, the idempotency keys of the views (`nil` for an event staged as
    /// recorded: the ledger has them).
    public let fingerprint: EventFingerprint?
    /// Whether the ledger holds this event at this position already (a rebuild that kept the ledger): the apply
    /// takes the decision and the fact hash from the ledger's row and writes only the facts.
    public let isRecorded: Bool
    /// The event id as a UUID (`nil` when it is not one: the apply refuses such a batch).
    let id: UUID?
    /// The event's ledger row without its last column, `establishes` (decided at the apply), in binary COPY format
    /// (empty for a recorded event).
    let ledgerFields: [UInt8]
    /// The fact rows the event writes if it establishes its facts (for a recorded event, with a placeholder in every
    /// `fact_hash`: the apply reads the hash from the ledger and puts it in with ``FactRows/withFactHash(_:)``).
    let factRows: FactRows

    /// Creates a staged event, fingerprints it and encodes its rows (call it where the work can run in parallel:
    /// it hashes the canonical bytes and builds the COPY rows the apply gathers).
    /// - Parameters:
    ///   - event: the validated event.
    ///   - topicPartition: where it was read.
    ///   - offset: its offset.
    ///   - message: the message value `event` was read from (must be that very JSON), or `nil`.
    ///   - messageKey: the message's Kafka key, or `nil` (a dead letter then takes the record key from `data`).
    ///   - canonical: the envelope's canonical forms, if the caller computed them (verifying a signature does).
    ///   - recorded: whether the ledger holds the event at this position already (see ``isRecorded``): then nothing
    ///     is hashed, and only the fact rows are encoded.
    /// - Throws: ``EventSignatureError`` `.notCanonicalizable` when the envelope has no canonical form.
    public init(
        _ event: ValidatedEvent, at topicPartition: KafkaTopicPartition, offset: Int64, message: [UInt8]? = nil,
        messageKey: [UInt8]? = nil, canonical: EventCanonicalForms? = nil, recorded: Bool = false
    ) throws(EventSignatureError) {
        self.event = event
        self.topicPartition = topicPartition
        self.offset = offset
        self.message = message
        self.messageKey = messageKey
        self.isRecorded = recorded
        let id = UUID(text: event.id)
        self.id = id
        var ledgerFields: [UInt8] = []
        var factRows = FactRows(locatingFactHashes: recorded)
        if recorded {
            fingerprint = nil
            if let id { Self.project(event, id: id, factHash: Self.placeholderFactHash, into: &factRows) }
        } else {
            let fingerprint = try EventFingerprint(event, canonical: canonical)
            self.fingerprint = fingerprint
            if let id {
                ledgerFields.reserveCapacity((message?.count ?? 0) + 256)
                let count = PostgresCopyWriter.encodeFields(
                    id, event.type, event.subject, event.envelope.source, event.time, topicPartition.topic,
                    topicPartition.partition, offset, fingerprint.content, message ?? event.json.serialized,
                    fingerprint.fact, into: &ledgerFields)
                assert(Int(count) == ViewStore.ledger.columns.count - 1, "the ledger row must match ViewStore.ledger")
                Self.project(event, id: id, factHash: fingerprint.fact, into: &factRows)
            }
        }
        self.ledgerFields = ledgerFields
        self.factRows = factRows
    }

    /// The event id as a UUID.
    /// - Throws: `PostgresError` `.query` when it is not one.
    func uuid() throws(PostgresError) -> UUID {
        guard let id else {
            throw PostgresError(.query, "event id \(event.id) is not a UUID; validate events before applying them")
        }
        return id
    }

    /// The fact hash a recorded event's rows are encoded with until the ledger gives the real one.
    private static let placeholderFactHash = UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))

    private static func project(_ event: ValidatedEvent, id: UUID, factHash: UUID, into rows: inout FactRows) {
        ViewProjectors.project(
            FactSource(
                payload: event.payload, type: event.payload.eventType, effectiveTime: event.time, eventID: id,
                factHash: factHash),
            into: &rows)
    }

    /// The same event staged as new, fingerprinted and encoded (for a recorded event the ledger turned out not to
    /// hold).
    func stagedAsNew() throws(EventSignatureError) -> StagedEvent {
        try StagedEvent(event, at: topicPartition, offset: offset, message: message, messageKey: messageKey)
    }

    /// The message as stored: the bytes read, or the envelope serialized.
    var envelopeBytes: [UInt8] { message ?? event.json.serialized }

    /// This event as a dead letter: its position, Kafka key and original bytes, with the reason.
    func deadLetter(reason: String) -> DeadLetter {
        DeadLetter(
            at: topicPartition, offset: offset, key: messageKey ?? Array(event.key.utf8), value: envelopeBytes,
            reason: reason,
            eventID: event.id, eventType: event.type)
    }

    /// Whether this event was read before `other` (topic, partition, offset): among copies of one event or one fact,
    /// the earliest counts.
    func precedes(_ other: StagedEvent) -> Bool {
        if topicPartition != other.topicPartition { return topicPartition < other.topicPartition }
        return offset < other.offset
    }
}
