import Foundation
import Hummingbird
import HummingbirdTesting
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing
import TongbanTesting

@testable import Operations

/// A health closure whose answer the test sets.
final class HealthSource: Sendable {
    private let report: Mutex<HealthReport>

    init(_ report: HealthReport) { self.report = Mutex(report) }

    func set(_ new: HealthReport) { report.withLock { $0 = new } }
    func get() -> HealthReport { report.withLock { $0 } }
}

func makeServer(
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    health: HealthSource = HealthSource(HealthReport(checks: [:])),
    port: Int = 0,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> OperationsServer {
    OperationsServer(
        configuration: .init(host: "127.0.0.1", port: port), registry: registry,
        logger: testLogger("operations-tests"), health: { health.get() }, onServerRunning: onServerRunning)
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] }
}

@Suite("Operations endpoint: /metrics, /health/live, /health/ready, /health", .timeLimit(.minutes(20)), .sharedMachine)
struct OperationsServerTests {
    @Test("/metrics shows a swift-metrics counter with its dimensions, and a timer as a histogram in seconds")
    func metricsExposition() async throws {
        let registry = PrometheusCollectorRegistry()
        let factory = OperationsMetrics.makeFactory(registry: registry)
        let events = Counter(
            label: "tongban_projector_events_total", dimensions: [("view", "households")], factory: factory)
        events.increment(by: 3)
        Counter(label: "tongban_projector_events_total", dimensions: [("view", "titles")], factory: factory)
            .increment()
        let latency = Metrics.Timer(
            label: "tongban_projector_batch_seconds", dimensions: [("view", "households")], factory: factory)
        latency.recordMilliseconds(3)

        let app = makeServer(registry: registry).makeApplication()
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let text = response.text
                #expect(text.contains("# TYPE tongban_projector_events_total counter"))
                #expect(text.contains(#"tongban_projector_events_total{view="households"} 3"#))
                #expect(text.contains(#"tongban_projector_events_total{view="titles"} 1"#))
                #expect(text.contains("# TYPE tongban_projector_batch_seconds histogram"))
                #expect(text.contains(#"tongban_projector_batch_seconds_bucket{view="households",le="0.001"} 0"#))
                #expect(text.contains(#"tongban_projector_batch_seconds_bucket{view="households",le="0.005"} 1"#))
                #expect(text.contains(#"tongban_projector_batch_seconds_bucket{view="households",le="10.0"} 1"#))
                #expect(text.contains(#"tongban_projector_batch_seconds_count{view="households"} 1"#))
            }
        }
    }

    @Test("/health answers 200 with the JSON report when ok or degraded")
    func healthServing() async throws {
        let health = HealthSource(
            HealthReport(checks: [
                "kafka": .ok("assigned 12 partitions"),
                "postgres": .ok("last batch committed 0.4 s ago"),
            ]))
        let app = makeServer(health: health).makeApplication()
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                #expect(
                    response.text
                        == #"{"checks":{"kafka":{"detail":"assigned 12 partitions","status":"ok"},"#
                        + #""postgres":{"detail":"last batch committed 0.4 s ago","status":"ok"}},"status":"ok"}"#)
            }
            health.set(HealthReport(checks: ["kafka": .ok("assigned 12 partitions"), "lag": .degraded("40 s behind")]))
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                let report = try JSONDecoder().decode(HealthReport.self, from: Data(response.text.utf8))
                #expect(report.status == .degraded)
                #expect(report.checks["lag"] == .degraded("40 s behind"))
            }
        }
    }

    @Test("/health answers 503 with the JSON report when failing")
    func healthFailing() async throws {
        let health = HealthSource(
            HealthReport(checks: [
                "kafka": .ok("assigned 12 partitions"),
                "postgres": .failing("connection refused by 10.0.0.5:5432 for postgres://tongban:hunter2@db/tongban"),
            ]))
        let app = makeServer(health: health).makeApplication()
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let report = try JSONDecoder().decode(HealthReport.self, from: Data(response.text.utf8))
                #expect(report.status == .failing)
                #expect(report.checks["kafka"] == .ok("assigned 12 partitions"))
                #expect(report.checks["postgres"]?.status == .failing)
                #expect(!response.text.contains("hunter2"))
                #expect(response.text.contains("postgres://tongban:***@db/tongban"))
            }
        }
    }

    @Test("/health/live answers 200 whatever readiness says; /health/ready and /health answer alike, 503 included")
    func liveAndReady() async throws {
        let health = HealthSource(
            HealthReport(checks: [
                "kafka": .failing("unreachable: no answer for 12.0 s (more than 10.0 s)"),
                "postgres": .ok("answered 0.4 s ago"),
            ]))
        let app = makeServer(health: health).makeApplication()
        try await app.test(.router) { client in
            try await client.execute(uri: "/health/live", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(
                    response.text
                        == #"{"checks":{"process":{"detail":"serving requests","status":"ok"}},"status":"ok"}"#)
            }
            var bodies: [String] = []
            for uri in ["/health/ready", "/health"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .serviceUnavailable, "\(uri)")
                    #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                    let report = try JSONDecoder().decode(HealthReport.self, from: Data(response.text.utf8))
                    #expect(report.checks["kafka"]?.status == .failing)
                    bodies.append(response.text)
                }
            }
            #expect(bodies.count == 2 && bodies[0] == bodies[1])
            try await client.execute(uri: "/health/live", method: .head) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/health/ready", method: .head) { response in
                #expect(response.status == .serviceUnavailable)
            }
            health.set(HealthReport(checks: ["kafka": .ok("answered 0.2 s ago")]))
            for uri in ["/health/ready", "/health", "/health/live"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri)")
                }
            }
        }
    }

    @Test("any other path or method answers 404 with a JSON error; HEAD works where GET does")
    func notFound() async throws {
        let app = makeServer().makeApplication()
        try await app.test(.router) { client in
            for (uri, method) in [
                ("/", HTTPRequest.Method.get), ("/metrics/x", .get), ("/nope", .get), ("/health", .post),
                ("/health/ready", .post), ("/health/live/x", .get), ("/health/other", .get),
            ] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .notFound, "\(method) \(uri)")
                    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                    let error = response.json?["error"] as? [String: Any]
                    #expect(
                        (error?["message"] as? String)?.contains("/metrics, /health/live, /health/ready and /health")
                            == true)
                }
            }
            for uri in ["/health", "/health/live", "/health/ready", "/metrics"] {
                try await client.execute(uri: uri, method: .head) { response in
                    #expect(response.status == .ok, "HEAD \(uri)")
                }
            }
        }
    }

    @Test("a real server on port 0 in a ServiceGroup reports its port, serves, and stops on graceful shutdown")
    func liveServerGracefulShutdown() async throws {
        let registry = PrometheusCollectorRegistry()
        Counter(label: "tongban_live_total", factory: OperationsMetrics.makeFactory(registry: registry)).increment()
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let server = makeServer(
            registry: registry, health: HealthSource(HealthReport(checks: ["kafka": .failing("no partitions")])),
            onServerRunning: { portSink.yield($0) })
        let group = ServiceGroup(services: [server], logger: testLogger("operations-group"))

        let port = try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            #expect(port > 0 && port != 9464)

            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                let metrics = try await client.get("/metrics")
                #expect(metrics.status == .ok)
                #expect(metrics.body.map { String(buffer: $0) }?.contains("tongban_live_total 1") == true)
                let health = try await client.get("/health")
                #expect(health.status == .serviceUnavailable)
                #expect(health.body.map { String(buffer: $0) }?.contains(#""status":"failing""#) == true)
            }

            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()  // group.run() returned: the server stopped
            return port
        }

        // Nothing answers on that port any more.
        await #expect(throws: (any Error).self) {
            try await TestClient.withClient(host: "127.0.0.1", port: port) { try await $0.get("/health") }
        }
    }

    @Test("the HummingbirdTesting .live framework drives the application over a real socket")
    func liveFramework() async throws {
        let app = makeServer(health: HealthSource(HealthReport(checks: ["kafka": .ok("assigned 3 partitions")])))
            .makeApplication()
        try await app.test(.live) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json?["status"] as? String == "ok")
            }
        }
    }
}
