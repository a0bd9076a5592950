import ArgumentParser
import Foundation
import Kafka
import Logging
import Operations
import Projections
import ServiceLifecycle

/// Where the operations endpoint (`/metrics`, `/health`) listens.
///
/// Keys: `--metrics-host` / `TONGBAN_METRICS_HOST` (default 127.0.0.1), `--metrics-port` / `TONGBAN_METRICS_PORT`
/// (default 9464; 0 picks a free port, logged at start); `--no-metrics` serves nothing.
struct OperationsOptions: ParsableArguments {
    @Option(help: "Address the /metrics and /health endpoint listens on (env TONGBAN_METRICS_HOST).")
    var metricsHost: String?

    @Option(help: "Port of the /metrics and /health endpoint; 0 picks a free one (env TONGBAN_METRICS_PORT).")
    var metricsPort: Int?

    @Flag(inversion: .prefixedNo, help: "Serve /metrics and /health.")
    var metrics = true

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The endpoint's configuration.
    func configuration() throws -> OperationsServer.Configuration {
        var configuration = OperationsServer.Configuration()
        if let host = metricsHost ?? environment["TONGBAN_METRICS_HOST"], !host.isEmpty { configuration.host = host }
        if let port = metricsPort ?? environment["TONGBAN_METRICS_PORT"].flatMap({ Int($0) }) {
            guard (0...65_535).contains(port) else { throw ValidationError("the metrics port must be 0…65535") }
            configuration.port = port
        }
        return configuration
    }

    /// The endpoint serving the projectors' metrics and health, or `nil` with `--no-metrics`. Bootstraps the
    /// process's metrics backend (Prometheus) — call it before creating the projectors.
    func server(health: @escaping @Sendable () async -> HealthReport, logger: Logger) throws -> OperationsServer? {
        guard metrics else { return nil }
        let configuration = try configuration()
        let registry = OperationsMetrics.bootstrap()
        return OperationsServer(
            configuration: configuration, registry: registry, logger: logger, health: health,
            onServerRunning: { port in
                logger.notice("serving /metrics and /health on http://\(configuration.host):\(port)")
            })
    }
}

extension HealthReport {
    /// The health of projectors: each one ok while it commits, degraded while it joins the group or rebuilds the views,
    /// failing while it retries a batch it cannot write (PostgreSQL or Kafka unavailable), while a partition cannot be
    /// read from its checkpoint, or once it stopped.
    /// - Parameter statuses: the projectors' statuses.
    init(projectors statuses: [ProjectorStatus], now: Date = Date()) {
        var checks: [String: Check] = [:]
        for (index, status) in statuses.enumerated() {
            let name = statuses.count == 1 ? "projector" : "projector-\(index + 1)"
            let lastCommit =
                status.lastCommit.map { String(format: "%.1f s ago", now.timeIntervalSince($0)) } ?? "none yet"
            let summary =
                "\(status.assignment.count) partitions, lag \(status.totalLag), last commit \(lastCommit), "
                + "\(status.applied) applied, \(status.deadLetters) dead letters"
            switch status.phase {
            case .running where !status.unreadable.isEmpty, .starting where !status.unreadable.isEmpty:
                let partitions = status.unreadable.keys.sorted().map(\.description).joined(separator: ", ")
                checks[name] = .failing(
                    "cannot read \(partitions) from its checkpoint: Kafka no longer (or not yet) holds that offset "
                        + "(retention? a recreated topic?); nothing of it is applied until an operator acts: "
                        + "\(status.unreadable.values.sorted().first ?? ""); " + summary)
            case .running where status.rebuilding:
                checks[name] = .degraded(
                    "rebuilding the views (partial and without their readers' indexes until every partition is back "
                        + "at its verified watermark); " + summary)
            case .running: checks[name] = .ok(summary)
            case .starting: checks[name] = .degraded("joining the consumer group; " + summary)
            case .retrying: checks[name] = .failing("retrying: \(status.lastError ?? "unknown error"); " + summary)
            default: checks[name] = .failing("stopped")
            }
        }
        self.init(checks: checks)
    }
}
