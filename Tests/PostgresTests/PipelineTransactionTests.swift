import Foundation
import Postgres
import Synchronization
import Testing
import TongbanTesting

extension PostgresTests {
    @Suite(.sharedMachine) struct PipelinesAndTransactions {
        @Test func pipelineOf1000Statements() async throws {
            try await withTestDatabase { db in
                try await db.client.execute("CREATE TABLE t (id int8 PRIMARY KEY, name text)")
                let inserts: [PostgresQuery] = (0..<1000).map { "INSERT INTO t VALUES (\($0), \("name \($0)"))" }
                let results = try await db.client.withConnection { try await $0.pipeline(inserts) }
                #expect(results.count == 1000)
                #expect(results.allSatisfy { $0.rowsAffected == 1 })
                let selects: [PostgresQuery] = (0..<1000).map { "SELECT name FROM t WHERE id = \($0)" }
                let rows = try await db.client.withConnection { try await $0.pipeline(selects) }
                #expect(try rows.enumerated().allSatisfy { i, r in try r[0].decode(String.self, at: 0) == "name \(i)" })
                // Large results both ways must not deadlock.
                let big: [PostgresQuery] = (0..<50).map { _ in "SELECT repeat('x', 100000) FROM generate_series(1, 20)"
                }
                let bigRows = try await db.client.withConnection { try await $0.pipeline(big) }
                #expect(bigRows.map(\.count) == Array(repeating: 20, count: 50))
            }
        }

        @Test func aFailingPipelineStatementCommitsNothing() async throws {
            try await withTestDatabase { db in
                try await db.client.execute("CREATE TABLE t (id int8 PRIMARY KEY)")
                var queries: [PostgresQuery] = (0..<10).map { "INSERT INTO t VALUES (\($0))" }
                queries[7] = "INSERT INTO t VALUES (\(3))"  // duplicate key
                let error = await expectPostgresError {
                    _ = try await db.client.withConnection { try await $0.pipeline(queries) }
                }
                #expect(error?.sqlState == "23505")
                #expect(error?.message.contains("statement 7") == true)
                #expect(try await db.client.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 0)
                #expect(try await db.client.withConnection { try await $0.pipeline([]) }.isEmpty)
            }
        }

        @Test func aFailingStatementRollsBackTheTransaction() async throws {
            try await withTestDatabase { db in
                try await db.client.execute("CREATE TABLE t (id int8 PRIMARY KEY)")
                let error = await expectPostgresError {
                    _ = try await db.client.withTransaction { connection in
                        try await connection.execute("INSERT INTO t VALUES (1)")
                        try await connection.execute("INSERT INTO t VALUES (2)")
                        try await connection.execute("INSERT INTO missing_table VALUES (3)")
                    }
                }
                #expect(error?.sqlState == "42P01")
                #expect(try await db.client.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 0)
                struct Refused: Error {}
                await #expect(throws: Refused.self) {
                    try await db.client.withTransaction { connection in
                        try await connection.execute("INSERT INTO t VALUES (1)")
                        throw Refused()
                    }
                }
                #expect(try await db.client.query("SELECT count(*) FROM t")[0].decode(Int.self, at: 0) == 0)
                let committed = try await db.client.withTransaction(isolation: .serializable) { connection in
                    try await connection.execute("INSERT INTO t VALUES (1), (2)")
                }
                #expect(committed == 2)
            }
        }

        @Test func serializationFailureIsRetried() async throws {
            try await withTestDatabase { db in
                try await db.client.execute("CREATE TABLE counter (id int PRIMARY KEY, n int8)")
                try await db.client.execute("INSERT INTO counter VALUES (1, 0)")
                let attempts = Mutex(0)
                try await db.client.withTransaction(isolation: .repeatableRead) { connection in
                    let attempt = attempts.withLock {
                        $0 += 1; return $0
                    }
                    _ = try await connection.query("SELECT n FROM counter WHERE id = 1")  // takes the snapshot
                    if attempt == 1 {
                        // Another session commits a change to the row after our snapshot …
                        try await db.client.execute("UPDATE counter SET n = n + 100 WHERE id = 1")
                    }
                    // … so this update fails with 40001 on the first attempt.
                    try await connection.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
                }
                #expect(attempts.withLock { $0 } == 2)
                #expect(try await db.client.query("SELECT n FROM counter")[0].decode(Int.self, at: 0) == 101)

                let exhausted = await expectPostgresError {
                    try await db.client.withTransaction(isolation: .repeatableRead, maxAttempts: 1) { connection in
                        _ = try await connection.query("SELECT n FROM counter WHERE id = 1")
                        try await db.client.execute("UPDATE counter SET n = n + 100 WHERE id = 1")
                        try await connection.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
                    }
                }
                #expect(exhausted?.code == .serializationFailure)
                #expect(exhausted?.sqlState == "40001")
                #expect(exhausted?.isRetriable == true)
            }
        }
    }
}
