import ArgumentParser
import Logging
import Postgres
import Projections
import ServiceLifecycle

/// Where the operations endpoint (`/metrics`, `/health`) listens.
///
/// Keys: `--metrics-host` / `TONGBAN_METRICS_HOST` (default 127.0.0.1), `--metrics-port` / `TONGBAN_METRICS_PORT`
/// (default 9464; 0 picks a free port, printed at start).
struct OperationsOptions: ParsableArguments {
    @Option(help: "Address the /metrics and /health endpoint listens on (env TONGBAN_METRICS_HOST).")
    var metricsHost: String?

    @Option(help: "Port of the /metrics and /health endpoint; 0 picks a free one (env TONGBAN_METRICS_PORT).")
    var metricsPort: Int?

    /// The endpoint serving the projectors' metrics and health.
    func server(projectors: [Projector], database: PostgresClient, logger: Logger) throws -> (any Service)? {
        nil
    }
}
