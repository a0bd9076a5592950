public import Events
public import Foundation
public import Kafka
public import Logging

/// An event checked against the contract and signed, ready to send: no I/O has happened yet.
public struct PreparedEvent: Sendable {
    /// The envelope's `id`.
    public let id: String
    /// The event type, e.g. `household.birth-registered.v1`.
    public let type: String
    /// The department's topic.
    public let topic: String
    /// The Kafka key (the record's natural key, from `data`).
    public let key: String
    /// The signed envelope, compact JSON: the Kafka message value.
    public let bytes: [UInt8]
}

/// Where a published event was stored.
public struct PublishReceipt: Sendable {
    /// The envelope's `id`.
    public let id: String
    /// The event type.
    public let type: String
    /// The topic.
    public let topic: String
    /// The partition the key maps to.
    public let partition: Int32
    /// The event's offset in that partition.
    public let offset: Int64

    /// The position token of this event: pass it as `Tongban-Min-Position` and the hub answers only once its views
    /// include the event. `nil` when Kafka did not say where it stored the event (a producer configured with
    /// `acks=0`; the default idempotent producer always says).
    public var position: PositionToken? {
        try? PositionToken(topic: topic, partition: partition, offset: offset)
    }
}

extension PositionToken {
    /// The token covering every event `results` says was stored (those not stored are left out: the views will
    /// never include them).
    ///
    /// ```swift
    /// let results = await publisher.send(events)
    /// let token = PositionToken(delivered: results)   // for Tongban-Min-Position
    /// ```
    /// - Parameter results: what ``DepartmentPublisher/send(_:)`` returned.
    /// - Returns: the token, or `nil` when nothing was stored, or a stored event has no known offset (see
    ///   ``PublishReceipt/position``).
    public init?(delivered results: some Sequence<Result<PublishReceipt, DepartmentPublishError>>) {
        var offsets: [Partition: Int64] = [:]
        for case .success(let receipt) in results {
            guard receipt.partition >= 0, receipt.offset >= 0 else { return nil }
            let partition = Partition(receipt.topic, receipt.partition)
            offsets[partition] = max(offsets[partition] ?? receipt.offset, receipt.offset)
        }
        guard let token = try? PositionToken(offsets: offsets) else { return nil }
        self = token
    }
}

/// Publishes a department's events the way the hub expects them: each one validated against the
/// embedded contract (the same files and rules the hub applies), signed with the department's
/// key, and produced to the department's topic with the record's natural key, idempotently.
///
/// A department system embeds it:
/// ```swift
/// let key = try DepartmentSigningKey.load(jwk: keyFileBytes)
/// let publisher = try DepartmentPublisher(
///     configuration: .init(producer: .init(kafka: .init(bootstrapServers: brokers)), key: key), logger: logger)
/// let receipt = try await publisher.publish(envelope)   // envelope without tbsig/tbkid
/// let token = receipt.position                            // for Tongban-Min-Position
/// await publisher.shutdown()
/// ```
/// A question that passes the receipt's ``PublishReceipt/position`` as `Tongban-Min-Position` is answered only once
/// the hub's views include the event (read-your-writes); ``PositionToken/init(delivered:)`` makes one token for many.
/// - Important: call ``shutdown()`` when done, so that outstanding events are delivered.
public final class DepartmentPublisher: Sendable {
    /// What a publisher needs.
    public struct Configuration: Sendable {
        /// The Kafka producer settings (bootstrap servers, SASL/TLS properties, batching).
        public var producer: KafkaProducerConfiguration
        /// The department's signing key; it decides which department's events are accepted.
        public var key: DepartmentSigningKey

        /// Creates a configuration.
        /// - Parameters:
        ///   - producer: the producer settings.
        ///   - key: the department's signing key.
        public init(producer: KafkaProducerConfiguration, key: DepartmentSigningKey) {
            self.producer = producer
            self.key = key
        }
    }

    private let signer: EventSigner
    private let producer: KafkaProducer

    /// Creates a publisher.
    /// - Parameters:
    ///   - configuration: producer settings and the signing key.
    ///   - validator: the contract validator (loaded from the embedded schemas when `nil`).
    ///   - logger: where the producer logs.
    /// - Throws: ``KafkaError`` for a rejected producer property, or an error loading the embedded schemas.
    public init(configuration: Configuration, validator: EventValidator? = nil, logger: Logger) throws {
        self.signer = EventSigner(validator: try validator ?? EventValidator(), key: configuration.key)
        self.producer = try KafkaProducer(configuration: configuration.producer, logger: logger)
    }

    /// Validates and signs an envelope without sending it (no I/O; safe to call from many tasks).
    /// - Parameters:
    ///   - envelope: the envelope; `tbsig`/`tbkid` are replaced.
    ///   - now: the clock for "not in the future" rules.
    /// - Returns: the signed event and where it goes.
    /// - Throws: ``DepartmentPublishError`` `.invalid`, `.wrongDepartment` or `.signing`.
    public func prepare(_ envelope: JSONValue, now: Date = Date()) throws(DepartmentPublishError) -> PreparedEvent {
        try signer.prepare(envelope, now: now)
    }

    /// Parses, validates and signs one NDJSON line without sending it.
    /// - Parameters:
    ///   - line: the envelope's JSON bytes.
    ///   - now: the clock for "not in the future" rules.
    /// - Returns: the signed event and where it goes.
    /// - Throws: ``DepartmentPublishError`` `.invalid` (also for unparsable JSON), `.wrongDepartment`, `.signing`.
    public func prepare(line: [UInt8], now: Date = Date()) throws(DepartmentPublishError) -> PreparedEvent {
        try signer.prepare(line: line, now: now)
    }

    /// Validates, signs and produces one event, and waits for Kafka to store it.
    /// - Parameters:
    ///   - envelope: the envelope; `tbsig`/`tbkid` are replaced.
    ///   - now: the clock for "not in the future" rules.
    /// - Returns: where it was stored, with its position token (``PublishReceipt/position``).
    /// - Throws: ``DepartmentPublishError``.
    @discardableResult
    public func publish(_ envelope: JSONValue, now: Date = Date()) async throws(DepartmentPublishError)
        -> PublishReceipt
    {
        try await send([try prepare(envelope, now: now)])[0].get()
    }

    /// Produces prepared events and waits until each is stored or has failed. Events with the
    /// same key keep their order.
    /// - Parameter events: prepared events.
    /// - Returns: one result per event, in order; ``PositionToken/init(delivered:)`` makes their position token.
    public func send(_ events: [PreparedEvent]) async -> [Result<PublishReceipt, DepartmentPublishError>] {
        let messages = events.map { KafkaProducerMessage(topic: $0.topic, key: $0.key, value: $0.bytes) }
        let reports: [KafkaDeliveryReport]
        do {
            reports = try await producer.send(messages)
        } catch {
            return events.map { _ in .failure(DepartmentPublishError(.delivery, error.detail, kafka: error)) }
        }
        return zip(events, reports).map { event, report in
            if let error = report.error {
                return .failure(DepartmentPublishError(.delivery, error.detail, kafka: error))
            }
            return .success(
                PublishReceipt(
                    id: event.id, type: event.type, topic: report.topic, partition: report.partition,
                    offset: report.offset))
        }
    }

    /// Delivers what is outstanding and frees the producer.
    public func shutdown() async {
        await producer.shutdown()
    }
}

/// Validation and signing with one department key: the part of publishing that needs no network.
public struct EventSigner: Sendable {
    /// The contract validator.
    public let validator: EventValidator
    /// The department key.
    public let key: DepartmentSigningKey

    /// Creates a signer.
    /// - Parameters:
    ///   - validator: the contract validator.
    ///   - key: the department's signing key.
    public init(validator: EventValidator, key: DepartmentSigningKey) {
        self.validator = validator
        self.key = key
    }

    /// Parses, validates and signs one NDJSON line.
    /// - Parameters:
    ///   - line: the envelope's JSON bytes.
    ///   - now: the clock for "not in the future" rules.
    /// - Returns: the signed event and where it goes.
    /// - Throws: ``DepartmentPublishError`` `.invalid` (also for unparsable JSON), `.wrongDepartment`, `.signing`.
    public func prepare(line: [UInt8], now: Date = Date()) throws(DepartmentPublishError) -> PreparedEvent {
        let envelope: JSONValue
        do {
            envelope = try JSONParser.parse(line)
        } catch {
            throw DepartmentPublishError(.invalid, error.description)
        }
        return try prepare(envelope, now: now)
    }

    /// Validates an unsigned (or re-signed) envelope, checks it is this key's department, signs it.
    /// - Parameters:
    ///   - envelope: the envelope.
    ///   - now: the clock for "not in the future" rules.
    /// - Returns: the signed event and where it goes.
    /// - Throws: ``DepartmentPublishError`` `.invalid`, `.wrongDepartment` or `.signing`.
    public func prepare(_ envelope: JSONValue, now: Date = Date()) throws(DepartmentPublishError) -> PreparedEvent {
        var unsigned = envelope
        if var object = envelope.objectValue {
            object["tbsig"] = nil
            object["tbkid"] = nil
            unsigned = .object(object)
        }
        let validated: ValidatedEvent
        do {
            validated = try validator.validate(
                envelope: unsigned, options: EventValidator.Options(requireSignature: false), now: now)
        } catch {
            throw DepartmentPublishError(.invalid, error.reason, validation: error)
        }
        guard validated.entry.department == key.department else {
            throw DepartmentPublishError(
                .wrongDepartment,
                "a \(validated.entry.department) event cannot be signed with the \(key.department) key \(key.keyID)")
        }
        let signed: JSONValue
        do {
            signed = try key.sign(unsigned)
        } catch {
            throw DepartmentPublishError(.signing, error.reason)
        }
        return PreparedEvent(
            id: validated.id, type: validated.type, topic: validated.topic, key: validated.key, bytes: signed.serialized
        )
    }
}
