/// Settings of a ``KafkaProducer``.
public struct KafkaProducerConfiguration: Sendable {
    /// Cluster location and raw properties.
    public var kafka: KafkaConfiguration
    /// How long to wait for more messages before sending a batch (`linger.ms`). Default 5 ms.
    public var linger: Duration = .milliseconds(5)
    /// The most messages in one batch (`batch.num.messages`). Default 10,000.
    public var batchMessages: Int = 10_000
    /// The most bytes in one batch (`batch.size`). Default 1 MiB.
    public var batchBytes: Int = 1 << 20
    /// Compression codec (`compression.codec`): none, gzip, snappy, lz4, zstd. Default lz4.
    public var compression: String = "lz4"
    /// Whether the producer is idempotent (`enable.idempotence`): no duplicates or reordering
    /// on retries. Default true.
    public var idempotent: Bool = true
    /// How long a message may wait for acknowledgement before it fails (`message.timeout.ms`).
    /// Default 30 s, so that an unreachable cluster is reported instead of waited for.
    public var messageTimeout: Duration = .seconds(30)
    /// The most messages waiting in the local queue (`queue.buffering.max.messages`). Default 500,000.
    public var maxQueuedMessages: Int = 500_000

    /// Creates a configuration.
    /// - Parameter kafka: cluster location and raw properties.
    public init(kafka: KafkaConfiguration) {
        self.kafka = kafka
    }

    /// The largest message librdkafka sends (`message.max.bytes` when the raw properties set it, else librdkafka's
    /// default, 1,000,000): key, value and headers together, with their framing.
    public var maximumMessageBytes: Int { properties["message.max.bytes"].flatMap { Int($0) } ?? 1_000_000 }

    var properties: [String: String] {
        var p = kafka.baseProperties
        p["linger.ms"] = String(linger.milliseconds)
        p["batch.num.messages"] = String(batchMessages)
        p["batch.size"] = String(batchBytes)
        p["compression.codec"] = compression
        // The same key-to-partition mapping as the Java client, so that every publisher agrees.
        p["partitioner"] = "murmur2_random"
        p["enable.idempotence"] = idempotent ? "true" : "false"
        p["message.timeout.ms"] = String(messageTimeout.milliseconds)
        p["queue.buffering.max.messages"] = String(maxQueuedMessages)
        p["queue.buffering.max.kbytes"] = String(1 << 20)
        return p.merging(kafka.additionalProperties) { _, new in new }
    }
}
