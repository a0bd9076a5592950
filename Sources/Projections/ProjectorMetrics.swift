import Kafka
import Metrics
import Synchronization

/// The projector's metrics, through swift-metrics (the executable decides the backend, e.g. Prometheus).
///
/// - `tongban_projector_events_total{outcome}`: messages handled, by outcome (`applied`, `duplicate`,
///   `dead_letter`, `skipped_rejected`); its rate is the events/s figure.
/// - `tongban_projector_dead_letters_total{topic}`: messages sent to the dead-letter topic, by source topic.
/// - `tongban_projector_batch_seconds`: the time from a batch's first PostgreSQL statement to its commit.
/// - `tongban_projector_batch_events`: messages per batch.
/// - `tongban_projector_lag{topic,partition}`: messages behind the end of each assigned partition.
/// - `tongban_projector_assigned_partitions`: partitions this instance reads.
/// - `tongban_projector_retries_total{cause}`: failed batch attempts that were retried.
final class ProjectorMetrics: Sendable {
    let applied: Counter
    let duplicates: Counter
    let deadLettered: Counter
    let skippedRejected: Counter
    let batchSeconds: Timer
    let batchEvents: Recorder
    let assigned: Gauge
    private let viewGroup: String
    private let lagGauges = Mutex<[KafkaTopicPartition: Gauge]>([:])
    private let deadLetterCounters = Mutex<[String: Counter]>([:])
    private let retryCounters = Mutex<[String: Counter]>([:])

    init(viewGroup: String) {
        self.viewGroup = viewGroup
        func events(_ outcome: String) -> Counter {
            Counter(
                label: "tongban_projector_events_total", dimensions: [("view_group", viewGroup), ("outcome", outcome)])
        }
        applied = events("applied")
        duplicates = events("duplicate")
        deadLettered = events("dead_letter")
        skippedRejected = events("skipped_rejected")
        batchSeconds = Timer(label: "tongban_projector_batch_seconds", dimensions: [("view_group", viewGroup)])
        batchEvents = Recorder(label: "tongban_projector_batch_events", dimensions: [("view_group", viewGroup)])
        assigned = Gauge(label: "tongban_projector_assigned_partitions", dimensions: [("view_group", viewGroup)])
    }

    func deadLetter(topic: String) {
        let counter = deadLetterCounters.withLock { counters in
            if let counter = counters[topic] { return counter }
            let counter = Counter(
                label: "tongban_projector_dead_letters_total",
                dimensions: [("view_group", viewGroup), ("topic", topic)])
            counters[topic] = counter
            return counter
        }
        counter.increment()
    }

    func retry(cause: String) {
        let counter = retryCounters.withLock { counters in
            if let counter = counters[cause] { return counter }
            let counter = Counter(
                label: "tongban_projector_retries_total", dimensions: [("view_group", viewGroup), ("cause", cause)])
            counters[cause] = counter
            return counter
        }
        counter.increment()
    }

    func lag(_ partition: KafkaTopicPartition, _ value: Int64) {
        let gauge = lagGauges.withLock { gauges in
            if let gauge = gauges[partition] { return gauge }
            let gauge = Gauge(
                label: "tongban_projector_lag",
                dimensions: [
                    ("view_group", viewGroup), ("topic", partition.topic), ("partition", String(partition.partition)),
                ])
            gauges[partition] = gauge
            return gauge
        }
        gauge.record(value)
    }
}
