import ArgumentParser
import Foundation
import Kafka
import Operations
import Postgres
import Projections
import Prometheus
import ServiceLifecycle
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import tongban

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("tongban project /health", .sharedMachine)
struct ProjectorHealthTests {
    @Test("ok while it runs; degraded while it joins or rebuilds; failing while it retries, cannot read, or stopped")
    func phases() {
        var status = ProjectorStatus()
        status.assignment = [KafkaTopicPartition("tongban.household", 0)]
        status.phase = .running
        #expect(HealthReport(projectors: [status]).checks["projector"]?.status == .ok)

        status.rebuilding = true
        let rebuilding = HealthReport(projectors: [status])
        #expect(rebuilding.status == .degraded)
        #expect(rebuilding.checks["projector"]?.detail.hasPrefix("rebuilding the views") == true)

        // A partition that cannot be read from its checkpoint fails the check, even while others run or rebuild.
        status.unreadable = [KafkaTopicPartition("tongban.household", 0): "Broker: Offset out of range"]
        let unreadable = HealthReport(projectors: [status])
        #expect(unreadable.status == .failing)
        #expect(unreadable.checks["projector"]?.detail.hasPrefix("cannot read tongban.household[0]") == true)
        #expect(unreadable.checks["projector"]?.detail.contains("Offset out of range") == true)
        status.unreadable = [:]

        status.rebuilding = false
        status.phase = .starting
        #expect(HealthReport(projectors: [status]).status == .degraded)
        status.phase = .retrying
        status.lastError = "postgres: connection refused"
        let retrying = HealthReport(projectors: [status, ProjectorStatus()])
        #expect(retrying.status == .failing)
        #expect(retrying.checks["projector-1"]?.detail.contains("connection refused") == true)
        status.phase = .stopped
        #expect(HealthReport(projectors: [status]).checks["projector"]?.status == .failing)
    }

    @Test("kafka and postgres: not asked yet, ok while they answer, degraded within the bound, failing beyond it")
    func reachability() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        var status = ProjectorStatus()
        status.phase = .running
        status.assignment = [KafkaTopicPartition("tongban.household", 0)]
        status.kafkaUnreachableAfter = .seconds(10)
        status.postgresUnreachableAfter = .seconds(5)

        let unknown = HealthReport(projectors: [status], now: now)
        #expect(unknown.checks["kafka"] == .degraded("not asked yet"))
        #expect(unknown.checks["postgres"] == .degraded("not asked yet"))
        #expect(unknown.status.isServing)

        status.kafka.answered(at: now - 0.4)
        status.postgres.answered(at: now - 1.2)
        let answering = HealthReport(projectors: [status], now: now)
        #expect(answering.status == .ok)
        #expect(answering.checks["kafka"] == .ok("answered 0.4 s ago"))
        #expect(answering.checks["postgres"] == .ok("answered 1.2 s ago"))

        // A failure within the bound: degraded (still 200), and the projector itself is still fine.
        status.kafka.failed("no metadata: Local: Broker transport failure", startedAt: now - 3)
        #expect(!status.isKafkaUnreachable(at: now))
        let failing = HealthReport(projectors: [status], now: now)
        #expect(failing.status == .degraded)
        #expect(
            failing.checks["kafka"]
                == .degraded(
                    "no answer for 3.0 s (unreachable after 10.0 s); no metadata: Local: Broker transport failure"))
        #expect(failing.checks["projector"]?.status == .ok)

        // Later failures keep the start of the outage, and beyond the bound Kafka is unreachable: 503, naming it.
        status.kafka.failed("the consumer reports: all brokers down", startedAt: now - 1)
        #expect(status.kafka.failingSince == now - 3)
        let later = now + 8
        #expect(status.isKafkaUnreachable(at: later))
        let unreachable = HealthReport(projectors: [status], now: later)
        #expect(unreachable.status == .failing)
        #expect(!unreachable.status.isServing)
        #expect(
            unreachable.checks["kafka"]
                == .failing(
                    "unreachable: no answer for 11.0 s (more than 10.0 s), so nothing can be committed; "
                        + "the consumer reports: all brokers down"))
        #expect(unreachable.checks["postgres"] == .ok("answered 9.2 s ago"))

        // PostgreSQL, with its own bound.
        status.postgres.failed("reading the checkpoints failed: connection refused", startedAt: later - 6)
        #expect(status.isPostgresUnreachable(at: later))
        #expect(HealthReport(projectors: [status], now: later).checks["postgres"]?.status == .failing)

        // An answer ends the outage: 200 again.
        #expect(status.kafka.answered(at: later) == 11)
        #expect(status.kafka.failingSince == nil && status.kafka.lastError == nil)
        status.postgres.answered(at: later)
        let back = HealthReport(projectors: [status], now: later + 0.5)
        #expect(back.status == .ok)
        #expect(back.checks["kafka"] == .ok("answered 0.5 s ago"))
    }

    @Test("several projectors: the longest outage speaks; stopped projectors are left out of kafka and postgres")
    func reachabilityOfSeveral() {
        let now = Date(timeIntervalSince1970: 2_000_000)
        var first = ProjectorStatus()
        first.phase = .running
        first.kafkaUnreachableAfter = .seconds(2)
        first.kafka.answered(at: now - 0.1)
        first.postgres.answered(at: now - 0.1)
        var second = first
        second.kafka.failed("no metadata: Local: Timed out", startedAt: now - 2.5)
        let report = HealthReport(projectors: [first, second], now: now)
        #expect(report.status == .failing)
        #expect(report.checks["kafka"]?.detail.hasPrefix("unreachable: no answer for 2.5 s (more than 2.0 s)") == true)
        #expect(report.checks["projector-1"]?.status == .ok && report.checks["projector-2"]?.status == .ok)

        second.phase = .stopped
        let stopped = HealthReport(projectors: [first, second], now: now)
        #expect(stopped.checks["kafka"] == .ok("answered 0.1 s ago"))
        #expect(stopped.checks["projector-2"] == .failing("stopped"))
        #expect(HealthReport(projectors: [second], now: now).checks["kafka"] == nil)
    }

    @Test("--kafka-unreachable-after-seconds and --postgres-unreachable-after-seconds: 10 by default, positive")
    func flags() throws {
        let defaults = try ProjectCommand.parse([])
        #expect(defaults.kafkaUnreachableAfterSeconds == 10 && defaults.postgresUnreachableAfterSeconds == 10)
        #expect(
            ProjectorConfiguration(kafka: .init(bootstrapServers: "x:9092"), catalog: ProjectionScenario.catalog)
                .kafkaUnreachableAfter == .seconds(10))
        let set = try ProjectCommand.parse([
            "--kafka-unreachable-after-seconds", "3", "--postgres-unreachable-after-seconds", "4",
        ])
        #expect(set.kafkaUnreachableAfterSeconds == 3 && set.postgresUnreachableAfterSeconds == 4)
        #expect(throws: (any Error).self) { try ProjectCommand.parse(["--kafka-unreachable-after-seconds", "0"]) }
    }
}

/// A real projector against a mock cluster, its operations endpoint on a loopback socket: readiness follows Kafka.
@Suite("tongban project /health/ready follows Kafka and PostgreSQL", .quietMachine)
struct ProjectorHealthEndToEndTests {
    /// What an endpoint answered.
    struct Answer {
        let status: Int
        let body: String
        var report: HealthReport? { try? JSONDecoder().decode(HealthReport.self, from: Data(body.utf8)) }
    }

    /// GET over a real socket (URLSession runs on threads of its own, not on the cooperative pool).
    static func get(_ path: String, port: Int) async throws -> Answer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.cachePolicy = .reloadIgnoringLocalCacheData
        request.timeoutInterval = 5
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return Answer(status: status, body: String(decoding: data, as: UTF8.self))
    }

    @Test(
        "brokers down: ready answers 503 naming Kafka within the bound, live stays 200; up: ready 200",
        .timeLimit(.minutes(20)))
    func kafkaOutage() async throws {
        let bound: Duration = .seconds(2)
        try await Self.withServedProjector(kafkaBound: bound) { cluster, database, port in
            try await Self.outage(cluster, port: port, bound: bound, database: database)
        }
    }

    @Test(
        "PostgreSQL refusing connections: ready answers 503 naming it within the bound, live stays 200; back: 200",
        .timeLimit(.minutes(20)))
    func postgresOutage() async throws {
        let bound: Duration = .seconds(2)
        try await Self.withServedProjector(postgresBound: bound) { cluster, database, port in
            let ends = try await ProjectionScenario.endOffsets(on: cluster)
            try await ProjectionScenario.waitUntilCaughtUp(ends, conninfo: database.conninfo, timeout: .seconds(60))
            _ = try await Self.waitFor(port: port, within: .seconds(20)) {
                $0.status == 200 && $0.report?.checks["postgres"]?.status == .ok
            }
            // The test database stops taking connections, and those it has are ended: an outage of the database
            // only, without stopping the server the other tests share.
            let server = try await TestPostgres.serverConninfo()
            try await Self.admin(server, #"ALTER DATABASE "\#(database.name)" ALLOW_CONNECTIONS false"#)
            try await Self.admin(
                server,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database.name)'")
            let down = ContinuousClock.now
            let ready = try await Self.waitFor(port: port, within: bound + .seconds(10)) { $0.status == 503 }
            let flipped = ContinuousClock.now - down
            #expect(flipped < bound + .seconds(3), "503 only after \(flipped)")
            let postgres = try #require(ready.report?.checks["postgres"])
            #expect(postgres.status == .failing)
            #expect(postgres.detail.hasPrefix("unreachable: no answer for"))
            #expect(ready.report?.checks["kafka"]?.status == .ok)
            #expect(ready.report?.checks["projector"]?.status == .ok)

            try await Self.admin(server, #"ALTER DATABASE "\#(database.name)" ALLOW_CONNECTIONS true"#)
            let back = try await Self.waitFor(port: port, within: .seconds(10)) { $0.status == 200 }
            #expect(back.report?.checks["postgres"]?.status == .ok)
        }
    }

    /// Runs `body` with a projector that has applied a small population from a mock cluster, and its operations
    /// endpoint on a loopback port (given to `body`); both stop gracefully afterwards.
    static func withServedProjector(
        kafkaBound: Duration = .seconds(10), postgresBound: Duration = .seconds(10),
        _ body: (KafkaMockCluster, TestDatabase, Int) async throws -> Void
    ) async throws {
        let population = try SignedPopulation.make(people: 8, seed: 61, anomalyRate: 0)
        try await ProjectionScenario.withPublished(population.events) { cluster, database in
            var configuration = ProjectionScenario.projectorConfiguration(
                cluster, group: TestNames.unique("readiness"))
            configuration.kafkaUnreachableAfter = kafkaBound
            configuration.postgresUnreachableAfter = postgresBound
            let projector = try Projector(
                configuration: configuration, database: database.client, keys: DevKeys.registry,
                logger: testLogger("projector"))
            let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
            let server = OperationsServer(
                configuration: .init(host: "127.0.0.1", port: 0), registry: PrometheusCollectorRegistry(),
                logger: testLogger("operations"), health: { HealthReport(projectors: [projector.status]) },
                onServerRunning: { portSink.yield($0) })
            let group = ServiceGroup(services: [projector, server], logger: testLogger("readiness-group"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                do {
                    var iterator = ports.makeAsyncIterator()
                    let port = try #require(await iterator.next())
                    try await body(cluster, database, port)
                } catch {
                    await group.triggerGracefulShutdown()
                    try? await tasks.waitForAll()
                    throw error
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
        }
    }

    /// Runs one statement on the test server as its superuser.
    static func admin(_ conninfo: String, _ sql: String) async throws {
        let connection = try await PostgresConnection.connect(conninfo, logger: TestPostgres.logger)
        do {
            _ = try await connection.executeScript(sql)
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }

    /// The test's steps, with the projector and the endpoint running.
    static func outage(_ cluster: KafkaMockCluster, port: Int, bound: Duration, database: TestDatabase) async throws {
        // Caught up and idle: ready, Kafka and PostgreSQL answering.
        let ends = try await ProjectionScenario.endOffsets(on: cluster)
        try await ProjectionScenario.waitUntilCaughtUp(ends, conninfo: database.conninfo, timeout: .seconds(60))
        var ready = try await waitFor(port: port, within: .seconds(20)) {
            $0.status == 200 && $0.report?.checks["kafka"]?.status == .ok
                && $0.report?.checks["postgres"]?.status == .ok
        }
        #expect(ready.report?.checks["projector"]?.status == .ok)
        #expect(try await get("/health/live", port: port).status == 200)

        for broker in cluster.brokerIDs { try await cluster.setBrokerDown(broker) }
        let down = ContinuousClock.now
        ready = try await waitFor(port: port, within: bound + .seconds(10)) { $0.status == 503 }
        let flipped = ContinuousClock.now - down
        // The bound, plus at most a probe's interval and timeout (and this loop's polling).
        #expect(flipped < bound + .seconds(3), "503 only after \(flipped)")
        let kafka = try #require(ready.report?.checks["kafka"])
        #expect(kafka.status == .failing)
        #expect(kafka.detail.hasPrefix("unreachable: no answer for"))
        #expect(ready.report?.checks["postgres"]?.status == .ok)
        #expect(try await get("/health", port: port).status == 503)

        for broker in cluster.brokerIDs { try await cluster.setBrokerUp(broker) }
        let up = ContinuousClock.now
        ready = try await waitFor(port: port, within: .seconds(20)) { $0.status == 200 }
        #expect(ready.report?.checks["kafka"]?.status == .ok)
        #expect(try await get("/health", port: port).status == 200)
        #expect(ContinuousClock.now - up < .seconds(10))
    }

    /// Polls `/health/ready` every 100 ms until `condition` holds, checking on every round that `/health/live`
    /// answers 200.
    static func waitFor(
        port: Int, within timeout: Duration, until condition: (Answer) -> Bool
    ) async throws -> Answer {
        let deadline = ContinuousClock.now + timeout
        var last: Answer?
        while ContinuousClock.now < deadline {
            let live = try await get("/health/live", port: port)
            #expect(live.status == 200, "/health/live answered \(live.status): \(live.body)")
            let ready = try await get("/health/ready", port: port)
            if condition(ready) { return ready }
            last = ready
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ScenarioError(
            "/health/ready did not answer as expected within \(timeout); last: \(last?.status ?? 0) "
                + "\(last?.body ?? "(nothing)")")
    }
}
