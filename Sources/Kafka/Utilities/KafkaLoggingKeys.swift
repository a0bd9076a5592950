/// Metadata keys used in Kafka log records, so that log queries can rely on one spelling.
enum KafkaLoggingKeys {
    static let topic = "kafka.topic"
    static let partition = "kafka.partition"
    static let offset = "kafka.offset"
    static let group = "kafka.group"
    static let facility = "rdkafka.facility"
    static let client = "rdkafka.client"
    static let error = "kafka.error"
}
