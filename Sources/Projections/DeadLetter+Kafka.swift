import Foundation
public import Kafka
import Postgres

extension DeadLetter {
    /// Header names of a message on the dead-letter topic (its key and value are the original ones, unchanged unless
    /// they had to be cut to fit: see ``valueLength`` and ``keyLength``).
    public enum Header {
        /// Why the message was rejected, in plain words (UTF-8; at most ``DeadLetter/maximumReasonBytes``).
        public static let reason = "tongban-reason"
        /// The topic it was read from.
        public static let topic = "tongban-topic"
        /// The partition it was read from (decimal).
        public static let partition = "tongban-partition"
        /// Its offset there (decimal).
        public static let offset = "tongban-offset"
        /// The envelope id, when the message had one that is a UUID.
        public static let eventID = "tongban-event-id"
        /// Present only when the value was cut to fit the largest message the producer sends: the original value's
        /// length in bytes (decimal). `tongban.dead_letter` holds the whole value.
        public static let valueLength = "tongban-value-length"
        /// Present only when the key was cut likewise: the original key's length in bytes (decimal).
        public static let keyLength = "tongban-key-length"
    }

    /// The longest reason header, in bytes (a reason may list many violations; the table keeps it whole).
    public static let maximumReasonBytes = 8192

    /// Bytes a record may take beyond its key, value and headers (librdkafka's own framing needs less).
    static let recordFraming = 512

    /// The message for the dead-letter topic: the original key and value, with the reason and the original
    /// position as headers.
    ///
    /// A message as large as the department topic took would not fit once headers are added, and a dead letter that
    /// cannot be sent would stop its partition: the value (and a key longer than a quarter of the room) is then cut
    /// to fit `maximumBytes`, and ``Header/valueLength`` (``Header/keyLength``) gives the original length.
    /// - Parameters:
    ///   - topic: the dead-letter topic.
    ///   - maximumBytes: the largest message the producer sends (``KafkaProducerConfiguration/maximumMessageBytes``).
    /// - Returns: the message.
    public func message(to topic: String, maximumBytes: Int = 1_000_000) -> KafkaProducerMessage {
        var headers = [
            KafkaHeader(key: Header.reason, value: Self.prefix(of: reason, bytes: Self.maximumReasonBytes)),
            KafkaHeader(key: Header.topic, value: Array(topicPartition.topic.utf8)),
            KafkaHeader(key: Header.partition, value: Array(String(topicPartition.partition).utf8)),
            KafkaHeader(key: Header.offset, value: Array(String(offset).utf8)),
        ]
        // Only an id that is one (the sender's text may be anything, and as long as the message).
        if let eventID, UUID(text: eventID) != nil {
            headers.append(KafkaHeader(key: Header.eventID, value: Array(eventID.utf8)))
        }
        // Room for the two length headers, whether or not they are needed.
        var room =
            maximumBytes - Self.recordFraming - 2 * 64
            - headers.reduce(0) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) }
        var key = self.key
        if let whole = key, whole.count > max(0, room / 4), whole.count + value.count > room {
            key = Array(whole.prefix(max(0, room / 4)))
            headers.append(KafkaHeader(key: Header.keyLength, value: Array(String(whole.count).utf8)))
        }
        room -= key?.count ?? 0
        var value = self.value
        if value.count > room {
            value = Array(value.prefix(max(0, room)))
            headers.append(KafkaHeader(key: Header.valueLength, value: Array(String(self.value.count).utf8)))
        }
        return KafkaProducerMessage(topic: topic, key: key, value: value, headers: headers)
    }

    /// The UTF-8 of `text`, cut between characters to at most `bytes` bytes (ending in "…" when cut).
    private static func prefix(of text: String, bytes: Int) -> [UInt8] {
        guard text.utf8.count > bytes else { return Array(text.utf8) }
        var result: [UInt8] = []
        let ellipsis = Array("…".utf8)
        for scalar in text.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            guard result.count + encoded.count + ellipsis.count <= bytes else { break }
            result += encoded
        }
        return result + ellipsis
    }
}
