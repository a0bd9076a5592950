/// Settings of a ``KafkaConsumer``.
public struct KafkaConsumerConfiguration: Sendable {
    /// Cluster location and raw properties.
    public var kafka: KafkaConfiguration
    /// The consumer group (`group.id`); instances with the same id share the partitions.
    public var groupID: String
    /// How long the group waits for a silent member before reassigning its partitions
    /// (`session.timeout.ms`). Default 10 s.
    public var sessionTimeout: Duration = .seconds(10)
    /// The longest gap between two polls before the member is considered stuck
    /// (`max.poll.interval.ms`). Default 5 minutes.
    public var maxPollInterval: Duration = .seconds(300)
    /// Bound on prefetched data per partition queue (`queued.max.messages.kbytes`). Default 64 MiB.
    public var maxPrefetchKilobytes: Int = 65_536
    /// The partition assignment strategy (`partition.assignment.strategy`). Default `range,roundrobin`
    /// (eager); `cooperative-sticky` is supported too.
    public var assignmentStrategy: String = "range,roundrobin"
    /// What happens when a partition's start position is one Kafka does not hold (below the log start, after
    /// retention deleted the head, or beyond the end, after the topic was recreated): `false` (the default) stops
    /// fetching the partition and reports it in ``KafkaConsumer/unreadable``; `true` starts from the earliest message
    /// (`auto.offset.reset`), silently skipping what is gone. Positions live in PostgreSQL next to what they
    /// produced, so a jump over missing messages would leave the views without them. A partition started at
    /// ``KafkaOffset/beginning`` has no such position, but a failure to look its start up is reported the same way.
    public var resetOutOfRangePositions = false

    /// Creates a configuration.
    /// - Parameters:
    ///   - kafka: cluster location and raw properties.
    ///   - groupID: the consumer group.
    public init(kafka: KafkaConfiguration, groupID: String) {
        self.kafka = kafka
        self.groupID = groupID
    }

    var properties: [String: String] {
        var p = kafka.baseProperties
        p["group.id"] = groupID
        p["session.timeout.ms"] = String(sessionTimeout.milliseconds)
        p["max.poll.interval.ms"] = String(maxPollInterval.milliseconds)
        p["queued.max.messages.kbytes"] = String(maxPrefetchKilobytes)
        p["partition.assignment.strategy"] = assignmentStrategy
        // Positions live in PostgreSQL (README, "Positions live with the data"); Kafka commits are only for lag tools.
        p["enable.auto.commit"] = "false"
        p["enable.auto.offset.store"] = "false"
        p["auto.offset.reset"] = resetOutOfRangePositions ? "earliest" : "error"
        p["enable.partition.eof"] = "false"
        return p.merging(kafka.additionalProperties) { _, new in new }
    }
}
