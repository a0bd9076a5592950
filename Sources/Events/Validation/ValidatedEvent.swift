public import Foundation

/// An event that passed every check: its envelope, catalog entry, typed payload, Kafka key and topic.
public struct ValidatedEvent: Sendable {
    /// The parsed envelope as received.
    public let json: JSONValue
    /// The envelope attributes.
    public let envelope: EventEnvelope
    /// The catalog entry of the type as sent (a superseded type keeps its own entry).
    public let entry: EventCatalog.Entry
    /// The typed fact, upcast to the current version.
    public let payload: EventPayload
    /// `data` upcast to the current version of the type (equal to the envelope's `data` for a current type): the
    /// JSON `payload` was decoded from.
    public let data: JSONValue
    /// The Kafka key: the string in `data` at the entry's key pointer.
    public let key: String

    /// The event id.
    public var id: String { envelope.id }
    /// The type as sent.
    public var type: String { envelope.type }
    /// The subject (citizen ID of the primary person).
    public var subject: String { envelope.subject }
    /// When the fact took legal effect.
    public var time: Date { envelope.time }
    /// The department topic the event belongs to.
    public var topic: String { entry.topic }
}
