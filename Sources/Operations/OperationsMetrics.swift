import Metrics
public import Prometheus

/// Sets up swift-metrics for a process that serves `/metrics`.
///
/// Only executables call ``bootstrap()``, once, at start-up, next to `LoggingSystem.bootstrap`. Libraries
/// never do: they create `Counter`, `Timer`, `Gauge` and `Recorder` from swift-metrics, and those reach the
/// registry that ``bootstrap()`` returned.
/// ```swift
/// let registry = OperationsMetrics.bootstrap()
/// let server = OperationsServer(registry: registry, logger: logger) { await projector.healthReport() }
/// ```
///
/// Name metrics the Prometheus way: `tongban_projector_events_total` for a counter, and a `_seconds` suffix for
/// a `Timer`, which becomes a histogram in seconds with ``latencyBuckets``. A label must always be used with
/// dimensions or always without them: mixing the two traps in swift-prometheus.
public enum OperationsMetrics {
    /// The histogram buckets of every `Timer`: 1 ms to 10 s, about three to a decade, for batch and apply latency.
    public static let latencyBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// The buckets of the API's request timer (`tongban_api_request_seconds`): 100 µs to 10 s, with 1, 2 and 5 ms
    /// so that a 2 ms p99 can be read off the histogram.
    public static let requestLatencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(10),
    ]

    private static let once = BootstrapOnce()

    /// Makes the swift-metrics factory that feeds `registry`, with ``latencyBuckets`` for timers (and
    /// ``requestLatencyBuckets`` for the API's requests).
    ///
    /// Tests use it directly, without the process-wide bootstrap:
    /// `Counter(label: "x_total", dimensions: [("view", "households")], factory: factory)`.
    /// - Parameter registry: where the metrics are kept and rendered from.
    /// - Returns: the factory.
    public static func makeFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = latencyBuckets
        factory.durationHistogramBuckets["tongban_api_request_seconds"] = requestLatencyBuckets
        return factory
    }

    /// Bootstraps swift-metrics with a Prometheus registry, once per process, and returns that registry.
    ///
    /// Later calls return the same registry and bootstrap nothing.
    /// - Important: call it from executables only, before any metric is created (metrics created earlier go to
    ///   swift-metrics' no-op handler). If anything else has already called `MetricsSystem.bootstrap` in this
    ///   process, swift-metrics traps.
    /// - Returns: the registry to hand to ``OperationsServer``.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        once.registry { MetricsSystem.bootstrap($0) }
    }
}
