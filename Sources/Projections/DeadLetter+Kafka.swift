public import Kafka

extension DeadLetter {
    /// Header names of a message on the dead-letter topic (its key and value are the original ones, unchanged).
    public enum Header {
        /// Why the message was rejected, in plain words (UTF-8).
        public static let reason = "tongban-reason"
        /// The topic it was read from.
        public static let topic = "tongban-topic"
        /// The partition it was read from (decimal).
        public static let partition = "tongban-partition"
        /// Its offset there (decimal).
        public static let offset = "tongban-offset"
        /// The envelope id, when the message had a readable one.
        public static let eventID = "tongban-event-id"
    }

    /// The message for the dead-letter topic: the original key and value, with the reason and the original
    /// position as headers.
    /// - Parameter topic: the dead-letter topic.
    /// - Returns: the message.
    public func message(to topic: String) -> KafkaProducerMessage {
        var headers = [
            KafkaHeader(key: Header.reason, value: Array(reason.utf8)),
            KafkaHeader(key: Header.topic, value: Array(topicPartition.topic.utf8)),
            KafkaHeader(key: Header.partition, value: Array(String(topicPartition.partition).utf8)),
            KafkaHeader(key: Header.offset, value: Array(String(offset).utf8)),
        ]
        if let eventID { headers.append(KafkaHeader(key: Header.eventID, value: Array(eventID.utf8))) }
        return KafkaProducerMessage(topic: topic, key: key, value: value, headers: headers)
    }
}
