import Metrics
import Prometheus
import Synchronization
import Testing
import TongbanTesting

@testable import Operations

final class InstallCount: Sendable {
    private let value = Mutex(0)
    func increment() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}

@Suite("OperationsMetrics", .sharedMachine)
struct OperationsMetricsTests {
    @Test("bootstrap installs one factory, however many callers race, and always returns that registry")
    func bootstrapOnce() async {
        // BootstrapOnce is what OperationsMetrics.bootstrap() uses; the test leaves the process-wide
        // MetricsSystem alone, so that no other suite in this process can trap on a second bootstrap.
        let once = BootstrapOnce()
        let installs = InstallCount()
        let registries = await withTaskGroup { group in
            for _ in 0..<16 {
                group.addTask { once.registry { _ in installs.increment() } }
            }
            return await group.reduce(into: [PrometheusCollectorRegistry]()) { $0.append($1) }
        }
        #expect(installs.count == 1)
        #expect(registries.allSatisfy { $0 === registries[0] })
    }

    @Test("the installed factory feeds the returned registry, with the latency buckets for timers")
    func factoryFeedsRegistry() throws {
        var installed: PrometheusMetricsFactory?
        let registry = BootstrapOnce().registry { installed = $0 }
        let factory = try #require(installed)
        #expect(factory.registry === registry)
        #expect(factory.defaultDurationHistogramBuckets == OperationsMetrics.latencyBuckets)
        #expect(OperationsMetrics.latencyBuckets.first == Duration.milliseconds(1))
        #expect(OperationsMetrics.latencyBuckets.last == Duration.seconds(10))
        Metrics.Timer(label: "t_seconds", factory: factory).record(duration: .milliseconds(20))
        #expect(registry.emitToString().contains(#"t_seconds_bucket{le="0.025"} 1"#))
    }
}
