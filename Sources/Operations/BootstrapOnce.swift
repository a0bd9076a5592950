import Prometheus
import Synchronization

/// Creates a registry and installs its factory the first time, and returns that registry every time.
final class BootstrapOnce: Sendable {
    private let installed = Mutex<PrometheusCollectorRegistry?>(nil)

    /// - Parameter install: installs the factory; called on the first call only, under the lock.
    func registry(installing install: (PrometheusMetricsFactory) -> Void) -> PrometheusCollectorRegistry {
        installed.withLock { registry in
            if let registry { return registry }
            let new = PrometheusCollectorRegistry()
            install(OperationsMetrics.makeFactory(registry: new))
            registry = new
            return new
        }
    }
}
