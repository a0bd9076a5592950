import Foundation
import Operations
import Postgres
import Testing
import TongbanTesting

@testable import tongban

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `tongban serve`'s operations endpoint, on a real `tongban serve` process and real sockets: `/health/ready` follows
/// PostgreSQL and `tongban.view_state()`, `/health/live` stays 200, and `/metrics` counts the API's requests per
/// route template and status.
@Suite("#19 tongban serve: /health and /metrics", .sharedMachine)
struct ServeOperationsTests {
    /// What an endpoint answered.
    struct Answer {
        let status: Int
        let body: String
        var report: HealthReport? { try? JSONDecoder().decode(HealthReport.self, from: Data(body.utf8)) }
    }

    /// A request over a real socket (URLSession runs on threads of its own, not on the cooperative pool).
    static func send(
        _ path: String, port: Int, method: String = "GET", headers: [String: String] = [:]
    ) async throws -> Answer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.cachePolicy = .reloadIgnoringLocalCacheData
        request.timeoutInterval = 10
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Answer(
            status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: String(decoding: data, as: UTF8.self))
    }

    /// Polls `/health/ready` every 100 ms until `condition` holds, checking each round that `/health/live` is 200.
    static func waitForReady(
        port: Int, within timeout: Duration = .seconds(20), until condition: (Answer) -> Bool
    ) async throws -> Answer {
        let deadline = ContinuousClock.now + timeout
        var last: Answer?
        while ContinuousClock.now < deadline {
            let live = try await send("/health/live", port: port)
            #expect(live.status == 200, "/health/live answered \(live.status): \(live.body)")
            let ready = try await send("/health/ready", port: port)
            if condition(ready) { return ready }
            last = ready
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ScenarioError(
            "/health/ready did not answer as expected within \(timeout); last: \(last?.status ?? 0) "
                + "\(last?.body ?? "(nothing)")")
    }

    /// The value of the one sample of `metric` in a Prometheus text exposition whose labels include all of `labels`.
    static func sample(_ metric: String, _ labels: [String: String], in text: String) -> Double? {
        let lines = text.split(separator: "\n").filter { $0.hasPrefix(metric + "{") }
        let matching = lines.filter { line in labels.allSatisfy { line.contains("\($0.key)=\"\($0.value)\"") } }
        guard matching.count == 1, let value = matching[0].split(separator: " ").last else { return nil }
        return Double(value)
    }

    @Test(
        "#19 ready follows the views and PostgreSQL, live stays 200, /metrics counts per route template and status",
        .timeLimit(.minutes(20)))
    func healthAndMetrics() async throws {
        try await withTestDatabase { database in
            let serve = try ServeProcess(
                database: database,
                arguments: ["--development-token-key", "--port", "0", "--metrics-port", "0", "--log-level", "notice"])
            let apiPort = try await serve.apiPort()
            let port = try await serve.operationsPort()

            // Migrated, but nothing projected: not ready, and the report says it is the views, not PostgreSQL.
            let empty = try await Self.waitForReady(port: port) { $0.report?.checks["postgres"]?.status == .ok }
            #expect(empty.status == 503, "\(empty.body)")
            #expect(empty.report?.checks["views"]?.status == .failing)
            #expect(empty.report?.checks["views"]?.detail.hasPrefix("nothing projected yet") == true, "\(empty.body)")
            #expect(try await Self.send("/health", port: port).status == 503)

            // A checkpoint: ready within a probe or two.
            try await database.client.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                VALUES ('tongban.views', 'tongban.household', 0, 1, 1)
                """)
            let ready = try await Self.waitForReady(port: port) { $0.status == 200 }
            #expect(ready.report?.checks["views"]?.status == .ok, "\(ready.body)")
            #expect(ready.report?.checks["views"]?.detail.hasPrefix("ready: 1 partitions") == true, "\(ready.body)")

            // A rebuild under way (a checkpoint below its verified watermark): 503 naming the views again.
            try await database.client.execute(
                "UPDATE tongban.checkpoint SET verified_through = 5 WHERE topic = 'tongban.household'")
            let rebuilding = try await Self.waitForReady(port: port) { $0.status == 503 }
            #expect(
                rebuilding.report?.checks["views"]?.detail.hasPrefix("being rebuilt: 1 of 1 partitions") == true,
                "\(rebuilding.body)")
            #expect(rebuilding.report?.checks["postgres"]?.status == .ok)
            try await database.client.execute(
                "UPDATE tongban.checkpoint SET verified_through = 1 WHERE topic = 'tongban.household'")
            _ = try await Self.waitForReady(port: port) { $0.status == 200 }

            // Requests of the API: counted per route template and status, never per URI or query.
            let subject = "11010119900307123X"
            let question = "/v1/kinship?subject=\(subject)&relative=110101199003071242"
            let purpose = ["Tongban-Purpose": "kinship-certificate"]
            for _ in 0..<2 { #expect(try await Self.send(question, port: apiPort, headers: purpose).status == 401) }
            #expect(try await Self.send("/v1/people/\(subject)?x=1", port: apiPort).status == 404)
            #expect(try await Self.send("/v1/kinship", port: apiPort, method: "DELETE").status == 404)
            let metrics = try await Self.send("/metrics", port: port)
            #expect(metrics.status == 200)
            let text = metrics.body
            let kinship = ["route": "/v1/kinship", "method": "GET", "status": "401"]
            #expect(Self.sample("tongban_api_requests_total", kinship, in: text) == 2, "\(text)")
            #expect(Self.sample("tongban_api_request_seconds_count", kinship, in: text) == 2, "\(text)")
            #expect((Self.sample("tongban_api_request_seconds_sum", kinship, in: text) ?? 0) > 0, "\(text)")
            #expect(text.contains("tongban_api_request_seconds_bucket{"), "a histogram, with buckets")
            let unmatched = ["route": "unmatched", "method": "GET", "status": "404"]
            #expect(Self.sample("tongban_api_requests_total", unmatched, in: text) == 1, "\(text)")
            let wrongMethod = ["route": "unmatched", "method": "DELETE", "status": "404"]
            #expect(Self.sample("tongban_api_requests_total", wrongMethod, in: text) == 1, "\(text)")
            let api = text.split(separator: "\n").filter { $0.hasPrefix("tongban_api_") }
            #expect(!api.isEmpty)
            #expect(api.allSatisfy { !$0.contains(subject) && !$0.contains("?") }, "no IDs or queries in labels")

            // PostgreSQL refuses connections (and ends those it has): 503 naming it, live stays 200; back: 200.
            let server = try await TestPostgres.serverConninfo()
            try await Self.admin(server, #"ALTER DATABASE "\#(database.name)" ALLOW_CONNECTIONS false"#)
            do {
                try await Self.admin(
                    server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database.name)'")
                let down = try await Self.waitForReady(port: port) { $0.status == 503 }
                let postgres = try #require(down.report?.checks["postgres"])
                #expect(postgres.status == .failing, "\(down.body)")
                #expect(down.report?.checks["views"]?.detail == "unknown while PostgreSQL does not answer")
                #expect(!down.body.contains("password"), "no secrets in the report")
            } catch {
                try? await Self.admin(server, #"ALTER DATABASE "\#(database.name)" ALLOW_CONNECTIONS true"#)
                throw error
            }
            try await Self.admin(server, #"ALTER DATABASE "\#(database.name)" ALLOW_CONNECTIONS true"#)
            let back = try await Self.waitForReady(port: port) { $0.status == 200 }
            #expect(back.report?.checks["postgres"]?.status == .ok)

            #expect(await serve.terminate() == 0, "\(serve.log.suffix(3_000))")
        }
    }

    @Test("#19 the readiness report: not asked yet, answered, failed, a probe waiting too long")
    func report() {
        let now = Date(timeIntervalSince1970: 1_000_000)
        let timeout = Duration.seconds(2)
        typealias State = ServeReadiness.State
        let views = ServeReadiness.ViewState(
            ready: true, rebuilding: false, partitions: 12, partitionsBehind: 0, deferredObjects: 0,
            secondsSinceApplied: 3.25)

        let unknown = ServeReadiness.report(State(), timeout: timeout, now: now)
        #expect(unknown.status == .failing && unknown.checks["postgres"] == .failing("not asked yet"))

        let answered = ServeReadiness.report(State(answer: (now - 0.5, views)), timeout: timeout, now: now)
        #expect(answered.status == .ok)
        #expect(answered.checks["postgres"] == .ok("answered 0.5 s ago"))
        #expect(answered.checks["views"] == .ok("ready: 12 partitions, last applied 3.2 s ago"))

        // A probe under way for less than the timeout changes nothing; longer, and PostgreSQL is not answering.
        var state = State(answer: (now - 1, views), probing: now - 1.5)
        #expect(ServeReadiness.report(state, timeout: timeout, now: now).status == .ok)
        state.probing = now - 2.5
        let hung = ServeReadiness.report(state, timeout: timeout, now: now)
        #expect(hung.checks["postgres"] == .failing("no answer for 2.5 s (more than 2.0 s)"))
        #expect(hung.checks["views"]?.status == .failing)

        let failed = ServeReadiness.report(
            State(answer: (now - 5, views), failure: (now - 1, "connection refused")), timeout: timeout, now: now)
        #expect(failed.status == .failing)
        #expect(failed.checks["postgres"] == .failing("the readiness probe failed 1.0 s ago: connection refused"))

        var rebuilding = views
        rebuilding.ready = false
        rebuilding.rebuilding = true
        rebuilding.partitionsBehind = 3
        rebuilding.deferredObjects = 4
        let report = ServeReadiness.report(State(answer: (now, rebuilding)), timeout: timeout, now: now)
        #expect(report.status == .failing && report.checks["postgres"]?.status == .ok)
        #expect(report.checks["views"]?.detail.hasPrefix("being rebuilt: 3 of 12 partitions") == true)
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
}
