/// Settings shared by every Kafka client: where the cluster is and raw librdkafka properties.
///
/// Production clusters are configured entirely through librdkafka's own property names
/// (`security.protocol`, `sasl.mechanism`, `sasl.username`, `sasl.password`, `ssl.ca.location`, …)
/// passed in `additionalProperties`; Tongban never logs their values.
public struct KafkaConfiguration: Sendable {
    /// Comma-separated `host:port` list of bootstrap brokers (`bootstrap.servers`).
    public var bootstrapServers: String
    /// The client id reported to brokers (`client.id`). Default `tongban`.
    public var clientID: String = "tongban"
    /// How long blocking requests (metadata, watermarks, topic creation) may take. Default 10 s.
    public var requestTimeout: Duration = .seconds(10)
    /// Any librdkafka property, applied last so it overrides the typed settings.
    public var additionalProperties: [String: String] = [:]

    /// Creates a configuration.
    /// - Parameter bootstrapServers: comma-separated `host:port` list.
    public init(bootstrapServers: String) {
        self.bootstrapServers = bootstrapServers
    }

    var baseProperties: [String: String] {
        [
            "bootstrap.servers": bootstrapServers,
            "client.id": clientID,
            // Bound the time spent on an unreachable cluster so that errors surface instead of hangs.
            "socket.connection.setup.timeout.ms": String(requestTimeout.milliseconds),
            "topic.metadata.refresh.interval.ms": "10000",
        ]
    }
}

extension Duration {
    /// The duration in whole milliseconds, as librdkafka properties and timeouts take them.
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
