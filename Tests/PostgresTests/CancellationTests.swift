import Foundation
import Postgres
import Testing
import TongbanTesting

extension PostgresTests {
    /// `PQcancel` blocks its thread until the server has taken the request. These tests put a proxy in front of the
    /// server that holds each cancel request back, so that every `PQcancel` blocks for that long, as against a slow
    /// or distant server.
    @Suite struct Cancellation {
        /// Four cancels blocked in the proxy while sixteen tasks start statements on the same connections: no thread
        /// of the cooperative pool may wait for them (the cancels must not run there, nor hold a lock that the
        /// tasks take), so a ticking task keeps its cadence. Each cancelled statement is cancelled as soon as its
        /// request reaches the server, and the statements queued behind it are not.
        @Test(.quietMachine) func cancelsInFlightNeverStallTheCooperativePool() async throws {
            try await withCancelDelayingProxy(delay: .seconds(1)) { db, proxy, conninfo in
                var connections: [PostgresConnection] = []
                for _ in 0..<4 {
                    connections.append(try await PostgresConnection.connect(conninfo, logger: TestPostgres.logger))
                }
                let sleepers = connections.map { connection in
                    Task { try await connection.query("SELECT pg_sleep(10)") }
                }
                try await waitUntilActive("SELECT pg_sleep(10)", count: 4, db)

                let clock = ContinuousClock()
                let done = Locked(false)
                async let lateness: Duration = {
                    var worst = Duration.zero
                    var target = clock.now
                    while !done.withLock({ $0 }) {
                        target += .milliseconds(20)
                        try await Task.sleep(until: target, clock: clock)
                        worst = max(worst, clock.now - target)
                    }
                    return worst
                }()
                let cancelled = clock.now
                for sleeper in sleepers { sleeper.cancel() }
                // The four PQcancel calls are now waiting for the proxy; statements start on their connections.
                try await Task.sleep(for: .milliseconds(200))
                let followers = (0..<16).map { index in
                    Task { [connection = connections[index % 4]] in try await connection.query("SELECT \(index)") }
                }
                for sleeper in sleepers {
                    let result = await sleeper.result
                    guard case .failure(let error as PostgresError) = result, error.code == .cancelled else {
                        Issue.record("expected a cancelled PostgresError, got \(result)")
                        continue
                    }
                }
                let cancelling = clock.now - cancelled
                for (index, follower) in followers.enumerated() {
                    #expect(try await follower.value[0].decode(Int.self, at: 0) == index)
                }
                done.withLock { $0 = true }
                let worst = try await lateness
                for connection in connections { await connection.close() }

                #expect(proxy.cancelRequests == 4)
                #expect(cancelling >= .seconds(1), "the cancels went around the proxy (\(cancelling))")
                #expect(cancelling < .seconds(2), "the statements were cancelled \(cancelling) after their tasks")
                #expect(worst < .milliseconds(100), "a 20 ms tick was late by \(worst)")
            }
        }

        /// A task cancelled while its statement runs, whose statement then finishes before the cancel request
        /// reaches the server: the request is harmless, it returns the statement's rows, and the next statement on
        /// the connection (queued behind it, longer than the request's delay) is not cancelled by it.
        @Test(.quietMachine) func aCancelArrivingAfterItsStatementNeverCancelsTheNextOne() async throws {
            try await withCancelDelayingProxy(delay: .seconds(1)) { db, proxy, conninfo in
                let connection = try await PostgresConnection.connect(conninfo, logger: TestPostgres.logger)
                let first = Task { try await connection.query("SELECT 1 FROM pg_sleep(0.2)") }
                try await waitUntilActive("SELECT 1 FROM pg_sleep(0.2)", count: 1, db)
                first.cancel()
                let next = Task { try await connection.query("SELECT 2 FROM pg_sleep(1.5)") }
                #expect(try await first.value[0].decode(Int.self, at: 0) == 1)
                #expect(try await next.value[0].decode(Int.self, at: 0) == 2)
                #expect(proxy.cancelRequests == 1)
                // A cancel once the call has returned sends nothing.
                let done = Task { try await connection.query("SELECT 3") }
                #expect(try await done.value[0].decode(Int.self, at: 0) == 3)
                done.cancel()
                #expect(try await connection.query("SELECT 4")[0].decode(Int.self, at: 0) == 4)
                #expect(proxy.cancelRequests == 1)
                await connection.close()
            }
        }
    }
}

/// Runs `body` with a test database, a `CancelDelayingProxy` in front of its server and a connection string through
/// the proxy. Does nothing when the server is not on IPv4 (a `TONGBAN_TEST_DATABASE_URL` on a Unix socket).
private func withCancelDelayingProxy(
    delay: Duration,
    _ body: (TestDatabase, CancelDelayingProxy, String) async throws -> Void
) async throws {
    try await withTestDatabase { db in
        let server = try await db.client.query("SELECT host(inet_server_addr()), inet_server_port()")
        guard let host = try server[0].decode(String?.self, at: 0), !host.contains(":"),
            let port = try server[0].decode(Int?.self, at: 1)
        else { return }
        guard let proxy = CancelDelayingProxy(upstreamHost: host, upstreamPort: port, delay: delay) else {
            Issue.record("cannot start a proxy on 127.0.0.1")
            return
        }
        defer { proxy.stop() }
        let conninfo = try PostgresConnectionString.setting(
            ["host": "127.0.0.1", "hostaddr": "127.0.0.1", "port": "\(proxy.port)"], in: db.conninfo)
        try await body(db, proxy, conninfo)
    }
}

/// Waits until `count` backends of the test database are running `sql`.
private func waitUntilActive(_ sql: String, count: Int, _ db: TestDatabase) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        let active = try await db.client.query(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND state = 'active' AND query = \(sql)
            """)
        if try active[0].decode(Int.self, at: 0) >= count { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("\(count) × \(sql) did not start within 10 s")
}
