import Foundation
import Logging
import Operations
import Postgres
import ServiceLifecycle
import Synchronization

/// What `/health/ready` of `tongban serve` answers: whether PostgreSQL answers and whether the views can be certified
/// from (`tongban.view_state()` ready), learnt by asking the database every ``interval`` on a connection of its own.
///
/// The health closure of the operations endpoint reads only what the last probe learnt (no I/O on a request), so a
/// scraper cannot add load to the database. The probe has its own one-connection pool: a pool busy with questions
/// does not make PostgreSQL look unreachable, and a readiness answer never waits behind them.
///
/// - `postgres`: ok while the last probe was answered; failing when it failed, when a probe has waited longer than
///   ``timeout``, or before the first answer.
/// - `views`: ok while `view_state()` is ready; failing while nothing is projected yet or a rebuild is under way (the
///   questions answer 503 then), or while PostgreSQL does not answer.
///
/// Run it as a service beside the server; it stops on graceful shutdown.
final class ServeReadiness: Service, Sendable {
    /// What `view_state()` said.
    struct ViewState: Sendable, Equatable {
        var ready: Bool
        var rebuilding: Bool
        var partitions: Int
        var partitionsBehind: Int
        var deferredObjects: Int
        /// Seconds since a checkpoint last moved, if one ever did.
        var secondsSinceApplied: Double?
    }

    /// What the probes learnt.
    struct State: Sendable {
        /// When the last answer came, and what it said.
        var answer: (at: Date, views: ViewState)?
        /// The last probe's failure, in plain words, and when it ended; `nil` once a probe is answered.
        var failure: (at: Date, error: String)?
        /// When the probe under way started, if one is.
        var probing: Date?
    }

    /// How often the database is asked.
    let interval: Duration
    /// How long a probe may wait before PostgreSQL counts as not answering.
    let timeout: Duration
    private let database: PostgresClient
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates the probe; nothing is asked until ``run()``.
    /// - Parameters:
    ///   - conninfo: the database `tongban serve` answers from.
    ///   - interval: how often to ask.
    ///   - timeout: how long a probe may wait (also the connect timeout, in whole seconds, at least 1).
    ///   - logger: for changes of readiness.
    init(conninfo: String, interval: Duration = .seconds(1), timeout: Duration = .seconds(2), logger: Logger) {
        self.interval = interval
        self.timeout = timeout
        self.logger = logger
        database = PostgresClient(
            configuration: .init(conninfo: conninfo, maxConnections: 1, connectTimeout: max(timeout, .seconds(1))),
            logger: logger)
    }

    /// Asks the database every ``interval`` until graceful shutdown, then closes its connection.
    /// - Throws: nothing in practice; failures of the database are what it reports.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.probe()
                try? await Task.sleep(for: self.interval)
            }
        }
        await database.shutdown()
    }

    /// Asks `view_state()` once, and records what came back.
    func probe() async {
        let started = Date()
        state.withLock { $0.probing = started }
        do {
            let row = try await database.query(
                """
                SELECT ready, rebuilding, partitions, partitions_behind, deferred_objects,
                       extract(epoch FROM clock_timestamp() - last_applied_at)::float8
                FROM tongban.view_state()
                """)[0]
            let views = ViewState(
                ready: try row.decode(Bool.self, at: 0), rebuilding: try row.decode(Bool.self, at: 1),
                partitions: try row.decode(Int.self, at: 2), partitionsBehind: try row.decode(Int.self, at: 3),
                deferredObjects: try row.decode(Int.self, at: 4),
                secondsSinceApplied: try row.decode(Double?.self, at: 5))
            let before = state.withLock { state in
                defer { state = State(answer: (Date(), views), failure: nil, probing: nil) }
                return state
            }
            if before.failure != nil { logger.notice("PostgreSQL answers again") }
            if before.answer?.views.ready != views.ready {
                logger.notice("the views are \(views.ready ? "ready" : "not ready")")
            }
        } catch {
            let wasAnswering = state.withLock { state in
                defer {
                    state.failure = (Date(), "\(error)")
                    state.probing = nil
                }
                return state.failure == nil
            }
            if wasAnswering { logger.warning("PostgreSQL does not answer the readiness probe: \(error)") }
        }
    }

    /// The readiness report from what the probes learnt.
    /// - Parameter now: the time to judge at.
    /// - Returns: the report: failing (503) unless PostgreSQL answers and the views are ready.
    func report(now: Date = Date()) -> HealthReport {
        Self.report(state.withLock { $0 }, timeout: timeout, now: now)
    }

    /// The report for a state (separate from the probe for the tests).
    /// - Parameters:
    ///   - state: what the probes learnt.
    ///   - timeout: how long a probe may wait.
    ///   - now: the time to judge at.
    /// - Returns: the report.
    static func report(_ state: State, timeout: Duration, now: Date) -> HealthReport {
        let limit = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        func seconds(_ value: Double) -> String { String(format: "%.1f s", max(0, value)) }
        let unknownViews = HealthReport.Check.failing("unknown while PostgreSQL does not answer")
        if let probing = state.probing, now.timeIntervalSince(probing) > limit {
            return HealthReport(checks: [
                "postgres": .failing(
                    "no answer for \(seconds(now.timeIntervalSince(probing))) (more than \(seconds(limit)))"
                        + (state.failure.map { "; last error: \($0.error)" } ?? "")),
                "views": unknownViews,
            ])
        }
        if let failure = state.failure {
            return HealthReport(checks: [
                "postgres": .failing(
                    "the readiness probe failed \(seconds(now.timeIntervalSince(failure.at))) ago: "
                        + failure.error),
                "views": unknownViews,
            ])
        }
        guard let answer = state.answer else {
            return HealthReport(checks: ["postgres": .failing("not asked yet"), "views": unknownViews])
        }
        let postgres = HealthReport.Check.ok("answered \(seconds(now.timeIntervalSince(answer.at))) ago")
        let views = answer.views
        let applied = views.secondsSinceApplied.map { "last applied \(seconds($0)) ago" } ?? "never applied"
        let check: HealthReport.Check
        if views.ready {
            check = .ok("ready: \(views.partitions) partitions, \(applied)")
        } else if views.partitions == 0 {
            check = .failing("nothing projected yet: the questions answer 503 until a projector commits")
        } else {
            check = .failing(
                "being rebuilt: \(views.partitionsBehind) of \(views.partitions) partitions behind their verified "
                    + "watermark, \(views.deferredObjects) objects deferred; the questions answer 503 until it ends")
        }
        return HealthReport(checks: ["postgres": postgres, "views": check])
    }
}
