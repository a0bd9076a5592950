import Crypto
import Events
import Foundation
import Kafka

/// A batch read from Kafka and checked: what goes to the views, what goes to the dead letters, and which
/// offsets of each partition it covers.
struct PreparedBatch: Sendable {
    /// Events to apply.
    var staged: [StagedEvent] = []
    /// Messages that cannot be applied (unparsable, invalid, bad or missing signature…).
    var deadLetters: [DeadLetter] = []
    /// The first and last offset read of each partition.
    var ranges: [KafkaTopicPartition: ClosedRange<Int64>] = [:]
    /// SHA-256 (hex) of the value of each partition's last message read (at `ranges[p].upperBound`): the anchor of a
    /// verified watermark that ends there.
    var lastMessageSHA256: [KafkaTopicPartition: String] = [:]
    /// Messages below the verified watermark, not verified again.
    var trusted = 0
    /// Messages below the watermark that were rejected before: skipped.
    var skippedRejected = 0

    var isEmpty: Bool { ranges.isEmpty }
}

/// Checks the messages of a batch on all cores: parses, validates and verifies each one, unless it lies below its
/// partition's trusted watermark (then it was checked when first read by the same key set, and is only parsed and
/// decoded again, and its key id looked up: a key revoked since makes it a dead letter).
struct BatchVerifier: Sendable {
    let validator: EventValidator
    let keys: EventKeyRegistry
    let tasks: Int
    let maximumClockSkew: Duration
    /// The largest message value read as an event; a larger one is dead-lettered unparsed.
    var maximumEventBytes: Int = 1 << 20

    private enum Outcome: Sendable {
        case stage(StagedEvent, trusted: Bool)
        case deadLetter(DeadLetter)
        case skipRejected
    }

    /// Checks a batch.
    /// - Parameters:
    ///   - messages: the messages, as the consumer returned them.
    ///   - positions: the positions of their partitions (a message of a partition missing here is dropped: the
    ///     partition was revoked).
    ///   - now: the hub's clock for "not in the future" rules.
    /// - Returns: the prepared batch.
    func prepare(
        _ messages: [KafkaMessage], positions: [KafkaTopicPartition: PartitionPosition], now: Date = Date()
    ) async -> PreparedBatch {
        let owned = messages.filter { positions[$0.topicPartition] != nil }
        let outcomes: [Outcome]
        // Several chunks per task: when the cores are shared with the apply of the previous batch, chunks of equal
        // size finish at different times, and small ones keep every core busy to the end.
        let chunkCount = min(tasks * 4, max(1, owned.count / 64))
        if chunkCount <= 1 {
            outcomes = owned.map { check($0, position: positions[$0.topicPartition]!, now: now) }
        } else {
            let chunkSize = (owned.count + chunkCount - 1) / chunkCount
            outcomes = await withTaskGroup(of: (Int, [Outcome]).self) { group in
                for chunk in 0..<chunkCount {
                    let range = min(owned.count, chunk * chunkSize)..<min(owned.count, (chunk + 1) * chunkSize)
                    group.addTask {
                        (chunk, owned[range].map { self.check($0, position: positions[$0.topicPartition]!, now: now) })
                    }
                }
                var parts = [[Outcome]](repeating: [], count: chunkCount)
                for await (index, part) in group { parts[index] = part }
                return parts.flatMap { $0 }
            }
        }
        var batch = PreparedBatch()
        var last: [KafkaTopicPartition: KafkaMessage] = [:]
        for (message, outcome) in zip(owned, outcomes) {
            let partition = message.topicPartition
            if let range = batch.ranges[partition] {
                batch.ranges[partition] = min(range.lowerBound, message.offset)...max(range.upperBound, message.offset)
            } else {
                batch.ranges[partition] = message.offset...message.offset
            }
            if message.offset >= last[partition]?.offset ?? -1 { last[partition] = message }
            switch outcome {
            case .stage(let event, let trusted):
                batch.staged.append(event)
                if trusted { batch.trusted += 1 }
            case .deadLetter(let letter): batch.deadLetters.append(letter)
            case .skipRejected: batch.skippedRejected += 1
            }
        }
        for (partition, message) in last { batch.lastMessageSHA256[partition] = Self.sha256Hex(message.value) }
        return batch
    }

    /// SHA-256 of some bytes, as lowercase hex (a watermark's anchor).
    static func sha256Hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private func check(_ message: KafkaMessage, position: PartitionPosition, now: Date) -> Outcome {
        let trusted = message.offset < position.trustedThrough
        if trusted && position.rejected.contains(message.offset) { return .skipRejected }
        var eventID: String?
        var eventType: String?
        guard message.value.count <= maximumEventBytes else {
            return .deadLetter(
                letter(
                    message,
                    reason: "the message has \(message.value.count) bytes, more than the \(maximumEventBytes) an event "
                        + "may have: not read", eventID: nil, eventType: nil))
        }
        do {
            let event: ValidatedEvent
            if trusted, let accepted = try? validator.readAccepted(message.value) {
                // Validated and verified when it was first read: only parsed and decoded again.
                event = accepted
            } else {
                let options = EventValidator.Options(requireSignature: !trusted, maximumClockSkew: maximumClockSkew)
                event = try validator.validate(message.value, key: message.key, options: options, now: now)
            }
            eventID = event.id
            eventType = event.type
            if let misplaced = Self.misplacement(of: event, in: message) {
                return .deadLetter(letter(message, reason: misplaced, eventID: eventID, eventType: eventType))
            }
            var canonical: EventCanonicalForms?
            if trusted {
                // Verified when first read, by this same key set; but a key revoked since (a leak) or no longer
                // registered takes its events' trust away: a lookup, not a signature check.
                guard let envelope = event.json.objectValue else {
                    return .deadLetter(
                        letter(message, reason: "the envelope is not an object", eventID: eventID, eventType: eventType)
                    )
                }
                try keys.checkStillTrusted(envelope)
            } else {
                guard let envelope = event.json.objectValue else {
                    return .deadLetter(
                        letter(message, reason: "the envelope is not an object", eventID: eventID, eventType: eventType)
                    )
                }
                // One canonical pass serves the signature and the fingerprint.
                canonical = try EventCanonicalForms(envelope)
                try keys.verify(envelope, purpose: .ingest, canonical: canonical)
            }
            return .stage(
                try StagedEvent(
                    event, at: message.topicPartition, offset: message.offset, message: message.value,
                    messageKey: message.key, canonical: canonical, recorded: message.offset < position.ledgerThrough),
                trusted: trusted)
        } catch let error as EventValidationError {
            return .deadLetter(
                letter(message, reason: error.reason, eventID: error.eventID, eventType: error.eventType))
        } catch let error as EventSignatureError {
            return .deadLetter(
                letter(message, reason: "signature: \(error.reason)", eventID: eventID, eventType: eventType))
        } catch {
            return .deadLetter(letter(message, reason: "\(error)", eventID: eventID, eventType: eventType))
        }
    }

    /// Why a valid event cannot be applied from where it arrived, or `nil`. Copies of one record must share a
    /// partition for the earliest to win whatever the interleaving, so the projector takes an event only from its
    /// type's topic and with its record key (`tongban validate` checks files, which have no Kafka key).
    static func misplacement(of event: ValidatedEvent, in message: KafkaMessage) -> String? {
        if message.topic != event.topic {
            return "arrived on topic \(message.topic), but \(event.type) is published to \(event.topic)"
        }
        if message.key == nil {
            return "the message has no Kafka key; \(event.type) is keyed by data\(event.entry.keyPointer)"
        }
        return nil
    }

    private func letter(_ message: KafkaMessage, reason: String, eventID: String?, eventType: String?) -> DeadLetter {
        DeadLetter(
            at: message.topicPartition, offset: message.offset, key: message.key, value: message.value, reason: reason,
            eventID: eventID, eventType: eventType)
    }
}
