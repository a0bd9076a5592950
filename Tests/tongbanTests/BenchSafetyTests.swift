import ArgumentParser
import Foundation
import Postgres
import Projections
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import tongban

/// The benchmarks run only on the stack they start: a configured database is refused before anything connects, and
/// the connections they hand to child processes travel in the environment, never on a command line.
@Suite("tongban bench: only its own embedded stack; no connection on a command line", .sharedMachine)
struct BenchSafetyTests {
    /// A benchmark subcommand, parsed (which refuses) and, when parsing passed, run (which refuses again).
    typealias Attempt = @Sendable ([String]) async throws -> Void

    static let benchmarks: [(name: String, attempt: Attempt)] = [
        ("ingest", { try await IngestBench.parse($0 + ["--events", "35", "--partitions", "1"]).run() }),
        ("apply", { try await ApplyBench.parse($0 + ["--events", "35"]).run() }),
        ("clients", { try await ClientsBench.parse($0 + ["--messages", "10", "--rows", "10"]).run() }),
        ("events", { try await EventsBench.parse($0 + ["--people", "1", "--sample", "1"]).run() }),
    ]

    @Test("bench ingest, apply, clients and events refuse a configured database and leave it untouched")
    func refusesConfiguredDatabase() async throws {
        try await withTestDatabase { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            let population = try SignedPopulation.make(people: 4, seed: 81, anomalyRate: 0)
            try await ProjectionScenario.applyReference(population, to: db.client)
            let before = try await Self.digest(db.client)
            try #require(before["tongban.event"].map { !$0.hasPrefix("0 ") } == true, "the ledger holds events")
            let views = try await ProjectionScenario.dump(db.client)
            try #require(views.values.contains { !$0.isEmpty }, "the views hold rows")

            let options = try PostgresConnectionString.environment(for: db.conninfo)
            let configurations: [(arguments: [String], environment: [String: String], named: [String])] = [
                (["--database-url", db.conninfo], [:], ["--database-url"]),
                ([], ["DATABASE_URL": db.conninfo], ["DATABASE_URL"]),
                ([], options, ["PGHOST", "PGPORT", "PGDATABASE"]),
                ([], ["PGSERVICE": "tongban"], ["PGSERVICE"]),
            ]
            for (name, attempt) in Self.benchmarks {
                for configuration in configurations {
                    let message = try await Self.refusal {
                        try await GlobalOptions.$environmentOverride.withValue(configuration.environment) {
                            try await attempt(configuration.arguments)
                        }
                    }
                    #expect(message.contains("benchmarks run only on the embedded PostgreSQL they start"), "\(message)")
                    #expect(message.contains("`tongban bench \(name)`"), "\(message)")
                    for source in configuration.named { #expect(message.contains(source), "\(name): \(message)") }
                    let variables = configuration.named.filter { !$0.hasPrefix("--") }
                    if !variables.isEmpty {
                        #expect(message.contains("unset \(variables.joined(separator: ", "))"), "\(message)")
                    }
                    #expect(!message.contains(db.conninfo), "the connection string is never repeated")
                }
            }

            // Parsed while nothing is configured, then run once DATABASE_URL is: run() refuses too.
            let ingest = try GlobalOptions.$environmentOverride.withValue([:]) {
                try IngestBench.parse(["--events", "35", "--partitions", "1"])
            }
            let message = try await Self.refusal {
                try await GlobalOptions.$environmentOverride.withValue(["DATABASE_URL": db.conninfo]) {
                    try await ingest.run()
                }
            }
            #expect(message.contains("unset DATABASE_URL"), "\(message)")

            #expect(try await Self.digest(db.client) == before)
            #expect(try await ProjectionScenario.dump(db.client) == views)
        }
    }

    @Test("a refusal exits non-zero with the message alone")
    func refusalExitsNonZero() throws {
        let error = try #require(
            GlobalOptions.$environmentOverride.withValue(["DATABASE_URL": "postgresql://somewhere/else"]) {
                () -> (any Error)? in
                do {
                    _ = try ApplyBench.parse([])
                    return nil
                } catch {
                    return error
                }
            })
        #expect(ApplyBench.exitCode(for: error) != .success)
        #expect(ApplyBench.message(for: error).contains("unset DATABASE_URL to run `tongban bench apply`"))
        #expect(!ApplyBench.message(for: error).contains("somewhere"))
        // Nothing configured: it parses.
        _ = try GlobalOptions.$environmentOverride.withValue(["PGUSER": "me", "PGPASSWORD": "x"]) {
            try ApplyBench.parse([])
        }
    }

    @Test("psql gets its connection in the environment only, with or without a password; inherited PG* are replaced")
    func psqlInvocation() throws {
        let inherited = [
            "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PGHOST": "db.production.example", "PGPASSWORD": "production",
            "PGSSLMODE": "require", "PGSERVICE": "production", "DATABASE_URL": "postgresql://prod:pw@db.example/views",
        ]
        let command = "\\copy t FROM '/tmp/rows.tsv'"
        let cases: [(conninfo: String, password: String?, user: String, database: String)] = [
            (
                "host=127.0.0.1 port=54329 user=tongban dbname=bench password='s3cr:et\\' pw'", "s3cr:et' pw",
                "tongban",
                "bench"
            ),
            ("postgresql://bencher:p%40ss%20word@127.0.0.1:54329/views", "p@ss word", "bencher", "views"),
            ("host=127.0.0.1 port=54329 user=tongban dbname=postgres", nil, "tongban", "postgres"),
        ]
        for (conninfo, password, user, database) in cases {
            let (arguments, environment) = try PostgresBenchmark.psqlInvocation(
                conninfo: conninfo, command: command, inheriting: inherited)
            #expect(arguments == ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command])
            for forbidden in ["127.0.0.1", "54329", "host=", "postgresql://", "dbname", "password", user, database]
                + (password.map { [$0, "s3cr", "p@ss", "p%40ss"] } ?? [])
            {
                #expect(!arguments.contains { $0.contains(forbidden) }, "\(forbidden) in \(arguments)")
            }
            #expect(!arguments.contains("-d") && !arguments.contains("-h") && !arguments.contains("-U"))
            #expect(environment["PGHOST"] == "127.0.0.1")
            #expect(environment["PGPORT"] == "54329")
            #expect(environment["PGUSER"] == user)
            #expect(environment["PGDATABASE"] == database)
            #expect(environment["PGPASSWORD"] == password)
            // Nothing inherited points elsewhere or weakens the connection; the rest is kept.
            #expect(environment["PGSSLMODE"] == nil && environment["PGSERVICE"] == nil)
            #expect(environment["DATABASE_URL"] == nil)
            #expect(environment["PATH"] == "/usr/bin:/bin" && environment["LANG"] == "C.UTF-8")
        }
        // A key libpq reads from no variable cannot be handed over: refused, not dropped.
        #expect(throws: PostgresError.self) {
            try PostgresBenchmark.psqlInvocation(conninfo: "host=127.0.0.1 keepalives=0", command: "SELECT 1")
        }
        #expect(throws: PostgresError.self) {
            try PostgresBenchmark.psqlInvocation(conninfo: "host=127.0.0.1 nonsense", command: "SELECT 1")
        }
    }

    @Test("psql connects through the environment alone")
    func psqlConnects() async throws {
        try await withTestDatabase { db in
            try await PostgresBenchmark.runPsql(conninfo: db.conninfo, command: "CREATE TABLE psql_reached_it (n int)")
            let found = try await db.client.query("SELECT to_regclass('public.psql_reached_it') IS NOT NULL")
            #expect(try found[0].decode(Bool.self, at: 0))
        }
    }

    /// The error a benchmark attempt throws, as the executable prints it.
    static func refusal(_ attempt: () async throws -> Void) async throws -> String {
        do {
            try await attempt()
        } catch {
            #expect(IngestBench.exitCode(for: error) != .success)
            return IngestBench.message(for: error)
        }
        Issue.record("the benchmark did not refuse")
        return ""
    }

    /// Every table of the `tongban` and `public` schemas, with its row count and an order-independent hash of its
    /// rows' text.
    static func digest(_ client: PostgresClient) async throws -> [String: String] {
        let tables = try await client.query(
            """
            SELECT table_schema::text, table_name::text FROM information_schema.tables
            WHERE table_schema IN ('tongban', 'public') AND table_type = 'BASE TABLE'
            """
        ).map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
        var digest: [String: String] = [:]
        for (schema, table) in tables {
            let rows = try await client.query(
                """
                SELECT count(*)::text || ' ' || coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text
                FROM \(identifier: schema).\(identifier: table) t
                """)
            digest["\(schema).\(table)"] = try rows[0].decode(String.self, at: 0)
        }
        return digest
    }
}
