import Foundation
import Postgres
import Synchronization
import Testing
import TongbanTesting

extension PostgresTests {
    @Suite struct Connections {
        @Test(.quietMachine) func cancellationStopsPgSleepWithinOneSecond() async throws {
            try await withTestDatabase { db in
                let connection = try await PostgresConnection.connect(db.conninfo, logger: TestPostgres.logger)
                let task = Task { try await connection.query("SELECT pg_sleep(10)") }
                try await Task.sleep(for: .milliseconds(300))
                let cancelled = ContinuousClock.now
                task.cancel()
                let result = await task.result
                let elapsed = ContinuousClock.now - cancelled
                #expect(elapsed < .seconds(1), "cancellation took \(elapsed)")
                guard case .failure(let error as PostgresError) = result else {
                    Issue.record("expected a cancelled PostgresError, got \(result)")
                    return
                }
                #expect(error.code == .cancelled)
                #expect(try await connection.query("SELECT 42")[0].decode(Int.self, at: 0) == 42)
                // A task cancelled before the call starts never reaches the server.
                let early = Task {
                    withUnsafeCurrentTask { $0?.cancel() }
                    return try await connection.query("SELECT pg_sleep(10)")
                }
                let start = ContinuousClock.now
                if case .failure(let error as PostgresError) = await early.result {
                    #expect(error.code == .cancelled)
                } else {
                    Issue.record("expected .cancelled")
                }
                #expect(ContinuousClock.now - start < .seconds(1))
                await connection.close()
            }
        }

        @Test(.quietMachine) func blockingCallsDoNotStallTheCooperativePool() async throws {
            try await withTestDatabase(maxConnections: 16) { db in
                // Open all 16 connections first, so the timing below measures only the queries.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<16 { group.addTask { _ = try await db.client.query("SELECT pg_sleep(0.05)") } }
                    try await group.waitForAll()
                }
                let done = Locked(false)
                let worstLateness = Locked(Duration.zero)
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while !done.withLock({ $0 }) {
                            let before = ContinuousClock.now
                            try await Task.sleep(for: .milliseconds(20))
                            let late = ContinuousClock.now - before - .milliseconds(20)
                            worstLateness.withLock { $0 = max($0, late) }
                        }
                    }
                    try await withThrowingTaskGroup(of: Void.self) { sleepers in
                        for _ in 0..<16 { sleepers.addTask { _ = try await db.client.query("SELECT pg_sleep(0.5)") } }
                        try await sleepers.waitForAll()
                    }
                    done.withLock { $0 = true }
                    try await group.waitForAll()
                }
                let elapsed = ContinuousClock.now - start
                #expect(elapsed < .seconds(3), "16 × pg_sleep(0.5) took \(elapsed)")
                #expect(
                    worstLateness.withLock { $0 } < .milliseconds(100),
                    "a 20 ms tick was late by \(worstLateness.withLock { $0 })")
            }
        }

        @Test(.sharedMachine) func poolReplacesBrokenConnectionsAndDropsOpenTransactions() async throws {
            try await withTestDatabase(maxConnections: 1) { db in
                try await db.client.execute("CREATE TABLE t (id int)")
                let first = try await db.client.withConnection { $0.backendPID }
                try await db.client.withConnection { connection in
                    _ = connection  // the only pooled connection, idle; kill it from another session
                }
                let admin = try await PostgresConnection.connect(db.conninfo, logger: TestPostgres.logger)
                try await admin.execute("SELECT pg_terminate_backend(\(first))")
                try await Task.sleep(for: .milliseconds(100))
                do {
                    _ = try await db.client.query("SELECT 1")
                } catch let error as PostgresError {
                    #expect(error.code == .connectionClosed)
                    #expect(error.isRetriable)
                }
                let second = try await db.client.withConnection { $0.backendPID }
                #expect(second != first)
                // Handing a connection back inside a transaction closes it; the transaction never commits.
                try await db.client.withConnection { connection in
                    try await connection.execute("BEGIN")
                    try await connection.execute("INSERT INTO t VALUES (1)")
                }
                let third = try await db.client.withConnection { $0.backendPID }
                #expect(third != second)
                #expect(try await admin.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 0)
                await admin.close()
            }
        }

        @Test(.sharedMachine) func poolBoundsConnectionsAndQueuesWaiters() async throws {
            try await withTestDatabase(maxConnections: 2) { db in
                let pids = Locked(Set<Int32>())
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            try await db.client.withConnection { connection in
                                pids.withLock { _ = $0.insert(connection.backendPID) }
                                try await connection.execute("SELECT pg_sleep(0.2)")
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(pids.withLock { $0.count } == 2)
                #expect(ContinuousClock.now - start >= .milliseconds(550))
                await db.client.shutdown()
                let error = await expectPostgresError { _ = try await db.client.query("SELECT 1") }
                #expect(error?.code == .poolShutdown)
            }
        }

        @Test(.quietMachine) func unreachableServerFailsClearlyAndQuickly() async throws {
            let port = closedLoopbackPort()
            let start = ContinuousClock.now
            let error = await expectPostgresError {
                _ = try await PostgresConnection.connect(
                    "host=127.0.0.1 port=\(port) user=x dbname=y", logger: TestPostgres.logger)
            }
            #expect(ContinuousClock.now - start < .seconds(5))
            #expect(error?.code == .connect)
            #expect(error?.description.contains("could not connect to 127.0.0.1:\(port)") == true)
            #expect(error?.description.contains("is PostgreSQL running?") == true)
            #expect(error?.isRetriable == true)

            let client = PostgresClient(
                configuration: .init(conninfo: "postgresql://x@127.0.0.1:\(port)/y", maxConnections: 1),
                logger: TestPostgres.logger
            )
            let pooled = await expectPostgresError { _ = try await client.query("SELECT 1") }
            #expect(pooled?.code == .connect)
            await client.shutdown()

            let bad = await expectPostgresError {
                _ = try await PostgresConnection.connect("nonsense_key=1", logger: TestPostgres.logger)
            }
            #expect(bad?.code == .connect)
            #expect(bad?.description.contains("invalid connection string") == true)
        }

        @Test(.sharedMachine) func wrongPasswordNamesTheFix() async throws {
            let server = try await EmbeddedPostgres.start(
                .init(password: "right-password"), logger: TestPostgres.logger)
            do {
                let good = try await PostgresConnection.connect(server.conninfo(), logger: TestPostgres.logger)
                #expect(try await good.query("SELECT current_user")[0].decode(String.self, at: 0) == "tongban")
                await good.close()
                let wrong = try PostgresConnectionString.setting(["password": "wrong-password"], in: server.conninfo())
                let error = await expectPostgresError {
                    _ = try await PostgresConnection.connect(wrong, logger: TestPostgres.logger)
                }
                #expect(error?.code == .authentication)
                #expect(error?.description.contains("authentication failed for user \"tongban\"") == true)
                #expect(error?.description.contains("PGPASSWORD") == true)
                #expect(error?.description.contains("wrong-password") == false)
                let none = await expectPostgresError {
                    _ = try await PostgresConnection.connect(server.url(), logger: TestPostgres.logger)
                }
                #expect(none?.code == .authentication)
            }
            try await server.stop()
            #expect(!FileManager.default.fileExists(atPath: server.directory.path))
        }

        @Test(.sharedMachine) func missingServerBinariesFailWithTheInstallCommand() async throws {
            let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-pg-\(UUID())")
            try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: empty) }
            let error = await expectPostgresError {
                _ = try await EmbeddedPostgres.start(.init(binDirectory: empty.path), logger: TestPostgres.logger)
            }
            #expect(error?.code == .embeddedServer)
            #expect(error?.description.contains("apt-get install postgresql") == true)
        }
    }
}
