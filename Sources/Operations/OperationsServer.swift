import Hummingbird
public import Logging
import NIOCore
public import Prometheus
public import ServiceLifecycle

/// The operations endpoint of a long-running command: `GET /metrics` and the health endpoints over plain HTTP.
///
/// - `GET /metrics`: the Prometheus text exposition of the registry
///   (`Content-Type: text/plain; version=0.0.4; charset=utf-8`).
/// - `GET /health/live` (liveness): 200 with `{"checks":{"process":{"detail":"serving requests","status":"ok"}},
///   "status":"ok"}` whenever the process answers at all; it never asks the `health` closure, so an unreachable
///   dependency never fails it. Point a liveness probe here: a restart cannot bring Kafka or PostgreSQL back.
/// - `GET /health/ready` (readiness): the ``HealthReport`` from the `health` closure as JSON; 200 when its status is
///   `ok` or `degraded`, 503 when `failing`.
/// - `GET /health`: exactly what `/health/ready` answers, for scrapers and probes that use the older path.
/// - Anything else: 404 with `{"error":{"message":"…"}}`. HEAD works wherever GET does.
///
/// Run it in the command's `ServiceGroup`, beside the projectors; it stops when the group shuts down gracefully.
/// ```swift
/// let registry = OperationsMetrics.bootstrap()
/// let operations = OperationsServer(
///     configuration: .init(port: 9464), registry: registry, logger: logger,
///     health: { await projector.healthReport() },
///     onServerRunning: { port in logger.info("operations endpoint on port \(port)") })
/// let group = ServiceGroup(services: [pool, projector, operations], gracefulShutdownSignals: [.sigterm],
///                          logger: logger)
/// try await group.run()
/// ```
/// - Important: the endpoint has no authentication. Keep the default loopback host unless the port is reachable
///   only by the scraper (a pod network, a firewall), and keep secrets out of health details.
public struct OperationsServer: Service {
    /// Where the endpoint listens.
    public struct Configuration: Sendable {
        /// The address to bind. Default "127.0.0.1" (loopback only); "0.0.0.0" for every interface.
        public var host: String
        /// The TCP port. Default 9464 (Prometheus' registered default for exporters); 0 picks any free port, which
        /// `onServerRunning` reports.
        public var port: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - host: the address to bind; default loopback.
        ///   - port: the TCP port; 0 for any free port.
        public init(host: String = "127.0.0.1", port: Int = 9464) {
            self.host = host
            self.port = port
        }
    }

    /// Where the endpoint listens.
    public let configuration: Configuration
    let registry: PrometheusCollectorRegistry
    let health: @Sendable () async -> HealthReport
    let onServerRunning: @Sendable (_ port: Int) async -> Void
    let logger: Logger

    /// Creates the server; nothing listens until ``run()``.
    /// - Parameters:
    ///   - configuration: host and port.
    ///   - registry: the metrics to expose, usually from ``OperationsMetrics/bootstrap()``.
    ///   - logger: for server events (start, stop, failed connections).
    ///   - health: the readiness report, called on every `GET /health/ready` and `GET /health`; keep it quick and free
    ///     of I/O (report what is already known).
    ///   - onServerRunning: called once the socket is bound, with the port actually bound (useful with port 0).
    public init(
        configuration: Configuration = Configuration(),
        registry: PrometheusCollectorRegistry,
        logger: Logger,
        health: @escaping @Sendable () async -> HealthReport,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        self.health = health
        self.onServerRunning = onServerRunning
    }

    /// Binds the port and serves until graceful shutdown (ServiceLifecycle) or cancellation.
    ///
    /// In-flight requests finish before it returns.
    /// - Throws: NIO's `IOError` when the address cannot be bound (for example the port is in use); under the
    ///   default `ServiceGroup` failure behaviour that stops the whole command, which is intended.
    public func run() async throws {
        try await makeApplication().run()
    }

    /// The Hummingbird application behind ``run()``; tests drive it with HummingbirdTesting.
    func makeApplication() -> some ApplicationProtocol {
        let onServerRunning = self.onServerRunning
        let configuredPort = configuration.port
        return Application(
            router: makeRouter(),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuredPort) },
            logger: logger
        )
    }
}
