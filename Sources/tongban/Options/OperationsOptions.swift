import ArgumentParser
import Foundation
import Kafka
import Logging
import Operations
import Projections
import ServiceLifecycle

/// Where the operations endpoint (`/metrics`, `/health/live`, `/health/ready`, `/health`) listens.
///
/// Keys: `--metrics-host` / `TONGBAN_METRICS_HOST` (default 127.0.0.1), `--metrics-port` / `TONGBAN_METRICS_PORT`
/// (default 9464; 0 picks a free port, logged at start); `--no-metrics` serves nothing.
struct OperationsOptions: ParsableArguments {
    @Option(help: "Address the /metrics and /health/* endpoint listens on (env TONGBAN_METRICS_HOST).")
    var metricsHost: String?

    @Option(help: "Port of the /metrics and /health/* endpoint; 0 picks a free one (env TONGBAN_METRICS_PORT).")
    var metricsPort: Int?

    @Flag(inversion: .prefixedNo, help: "Serve /metrics, /health/live and /health/ready (and /health).")
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
                logger.notice(
                    "serving /metrics, /health/live and /health/ready on http://\(configuration.host):\(port)")
            })
    }
}

extension HealthReport {
    /// The readiness of projectors (`/health/ready` and `/health`): whether they can commit.
    ///
    /// - One check per projector (`projector`, or `projector-1`, … with several): ok while it commits, degraded while
    ///   it joins the group or rebuilds the views, failing while it retries a batch it cannot write (PostgreSQL or
    ///   Kafka unavailable), while a partition cannot be read from its checkpoint, or once it stopped.
    /// - `kafka` and `postgres`, over the projectors still running: ok while they answer, degraded while they have not
    ///   answered for less than the projectors' bound (``ProjectorStatus/kafkaUnreachableAfter``,
    ///   ``ProjectorStatus/postgresUnreachableAfter``) or were not asked yet, failing once longer; the longest outage
    ///   of any projector speaks.
    /// - Parameters:
    ///   - statuses: the projectors' statuses.
    ///   - now: the time to judge at.
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
        let running = statuses.filter { $0.phase != .stopped }
        if !running.isEmpty {
            checks["kafka"] = Self.reachability(running.map { ($0.kafka, $0.kafkaUnreachableAfter) }, now: now)
            checks["postgres"] = Self.reachability(
                running.map { ($0.postgres, $0.postgresUnreachableAfter) }, now: now)
        }
        self.init(checks: checks)
    }

    /// The check of a service the projectors share, from each one's view of it and bound.
    static func reachability(_ views: [(state: Reachability, bound: Duration)], now: Date) -> Check {
        let outages = views.compactMap { view in view.state.failingFor(at: now).map { (view, $0) } }
        if let (view, failing) = outages.max(by: { $0.1 < $1.1 }) {
            let bound = seconds(view.bound)
            let error = view.state.lastError ?? "unknown error"
            if view.state.isUnreachable(at: now, after: view.bound) {
                return .failing(
                    "unreachable: no answer for \(seconds(failing)) (more than \(bound)), so nothing can be "
                        + "committed; \(error)")
            }
            return .degraded("no answer for \(seconds(failing)) (unreachable after \(bound)); \(error)")
        }
        guard let answered = views.compactMap(\.state.lastAnswer).max() else { return .degraded("not asked yet") }
        return .ok("answered \(seconds(now.timeIntervalSince(answered))) ago")
    }

    private static func seconds(_ interval: TimeInterval) -> String {
        String(format: "%.1f s", max(0, interval))
    }

    private static func seconds(_ duration: Duration) -> String {
        let (whole, fraction) = duration.components
        return seconds(TimeInterval(whole) + TimeInterval(fraction) / 1e18)
    }
}
