import Foundation
import Logging
import Postgres

/// Measures the Postgres layer on the embedded cluster a benchmark started: round-trip latency, binary and text COPY
/// (the latter compared with `psql \copy` of the same file), and pipelined inserts.
struct PostgresBenchmark {
    /// Runs the benchmark. It creates tables named `tongban_bench_<random>_*` and drops them afterwards.
    /// - Parameters:
    ///   - server: the embedded cluster the benchmark started (its `postgres` database is used).
    ///   - rows: rows per COPY run; the pipeline run uses at most 100,000.
    ///   - logger: for progress.
    /// - Returns: the figures, in the order measured.
    /// - Throws: `PostgresError`, or an error when `psql` cannot be run.
    static func run(on server: EmbeddedPostgres, rows: Int, logger: Logger) async throws -> [BenchmarkFigure] {
        let conninfo = server.conninfo()
        let connection = try await PostgresConnection.connect(conninfo, logger: logger)
        let prefix = "tongban_bench_\(UInt32.random(in: 0...UInt32.max))"
        let tables = ["binary", "ours", "psql", "pipeline"].map { "\(prefix)_\($0)" }
        do {
            for table in tables {
                try await connection.execute(
                    "CREATE TABLE \(identifier: table) (id int8, n int4, name text, score float8)"
                )
            }
            var figures: [BenchmarkFigure] = []
            figures += try await latency(connection)
            figures.append(try await binaryCopy(connection, table: tables[0], rows: rows))
            figures += try await textCopy(connection, conninfo: conninfo, ours: tables[1], psql: tables[2], rows: rows)
            figures.append(try await pipeline(connection, table: tables[3], rows: min(rows, 100_000)))
            for table in tables { try await connection.execute("DROP TABLE \(identifier: table)") }
            await connection.close()
            return figures
        } catch {
            for table in tables { _ = try? await connection.execute("DROP TABLE IF EXISTS \(identifier: table)") }
            await connection.close()
            throw error
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private static func latency(_ connection: PostgresConnection) async throws -> [BenchmarkFigure] {
        for _ in 0..<200 { _ = try await connection.query("SELECT 1") }  // warm-up
        var samples: [Double] = []
        samples.reserveCapacity(5000)
        let clock = ContinuousClock()
        for _ in 0..<5000 {
            let start = clock.now
            _ = try await connection.query("SELECT 1")
            samples.append(seconds(clock.now - start) * 1e6)
        }
        samples.sort()
        let note = "SELECT 1 round trip through the connection actor, 5,000 iterations"
        return [
            BenchmarkFigure(name: "postgres.select1.p50", value: samples[samples.count / 2], unit: "µs", note: note),
            BenchmarkFigure(
                name: "postgres.select1.p99", value: samples[samples.count * 99 / 100], unit: "µs", note: note),
        ]
    }

    private static func binaryCopy(_ connection: PostgresConnection, table: String, rows: Int) async throws
        -> BenchmarkFigure
    {
        let start = ContinuousClock.now
        let copied = try await connection.copyInBinary(table: table, columns: ["id", "n", "name", "score"]) { writer in
            for i in 0..<rows {
                writer.appendRow(Int64(i), Int32(truncatingIfNeeded: i), "name-\(i)", Double(i) * 0.5)
            }
        }
        let elapsed = seconds(ContinuousClock.now - start)
        return BenchmarkFigure(
            name: "postgres.copy.binary",
            value: Double(copied) / elapsed,
            unit: "rows/s",
            note: "\(copied) rows × 4 columns (int8, int4, text, float8), binary COPY through PostgresCopyWriter"
        )
    }

    private static func textCopy(
        _ connection: PostgresConnection,
        conninfo: String,
        ours: String,
        psql: String,
        rows: Int
    ) async throws -> [BenchmarkFigure] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tongban-bench-\(UUID().uuidString).tsv")
        defer { try? FileManager.default.removeItem(at: file) }
        var text = ""
        text.reserveCapacity(rows * 32)
        for i in 0..<rows { text += "\(i)\t\(Int32(truncatingIfNeeded: i))\tname-\(i)\t\(Double(i) * 0.5)\n" }
        try Data(text.utf8).write(to: file)

        let start = ContinuousClock.now
        let copied = try await connection.copyIn("COPY \(ours) FROM STDIN", file: file)
        let oursSeconds = seconds(ContinuousClock.now - start)

        let psqlStart = ContinuousClock.now
        try await runPsql(conninfo: conninfo, command: "\\copy \(psql) FROM '\(file.path)'")
        let psqlSeconds = seconds(ContinuousClock.now - psqlStart)
        let psqlRows = try await connection.query("SELECT count(*) FROM \(identifier: psql)")[0].decode(Int.self, at: 0)
        guard psqlRows == rows, copied == rows else {
            throw PostgresError(
                .query, "text COPY loaded \(copied) rows (ours) and \(psqlRows) (psql), expected \(rows)")
        }
        let size = "\(rows) rows, \(text.utf8.count / 1024) KiB text file"
        return [
            BenchmarkFigure(
                name: "postgres.copy.text.ours", value: Double(rows) / oursSeconds, unit: "rows/s",
                note: "\(size), copyIn(_:file:)"),
            BenchmarkFigure(
                name: "postgres.copy.text.psql", value: Double(rows) / psqlSeconds, unit: "rows/s",
                note: "\(size), psql \\copy end to end (process start included)"),
            BenchmarkFigure(
                name: "postgres.copy.text.ratio",
                value: psqlSeconds / oursSeconds,
                unit: "×",
                note: "our throughput ÷ psql's for the same file (above 1: ours is faster)"
            ),
        ]
    }

    private static func pipeline(_ connection: PostgresConnection, table: String, rows: Int) async throws
        -> BenchmarkFigure
    {
        let batch = 1000
        let start = ContinuousClock.now
        try await connection.execute("BEGIN")
        var done = 0
        while done < rows {
            let count = min(batch, rows - done)
            let queries: [PostgresQuery] = (done..<done + count).map { i in
                "INSERT INTO \(identifier: table) VALUES (\(i), \(Int32(truncatingIfNeeded: i)), \("name-\(i)"), \(Double(i)))"
            }
            _ = try await connection.pipeline(queries)
            done += count
        }
        try await connection.execute("COMMIT")
        let elapsed = seconds(ContinuousClock.now - start)
        return BenchmarkFigure(
            name: "postgres.pipeline.inserts",
            value: Double(rows) / elapsed,
            unit: "inserts/s",
            note: "\(rows) single-row INSERTs with 4 binds, pipelines of \(batch), one transaction"
        )
    }

    /// How `psql` is started to run `command` on the database of `conninfo`: its arguments, which never hold a
    /// connection parameter (every user of the machine can read a process's arguments), and its environment, which
    /// carries them all as libpq variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, and `PGPASSWORD` when the
    /// connection string holds a password), in place of any `PG*` variable or `DATABASE_URL` inherited.
    /// - Parameters:
    ///   - conninfo: the database, a URL or key=value string, with or without a password.
    ///   - command: what `psql -c` runs.
    ///   - inherited: the environment the child would otherwise inherit.
    /// - Returns: the arguments after the executable, and the whole environment of the child.
    /// - Throws: `PostgresError` `.connect` when `conninfo` cannot be parsed or handed over in the environment.
    static func psqlInvocation(
        conninfo: String, command: String, inheriting inherited: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> (arguments: [String], environment: [String: String]) {
        (
            ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command],
            try ChildEnvironment.connecting(to: conninfo, inheriting: inherited)
        )
    }

    /// Runs `psql -X -q -v ON_ERROR_STOP=1 -c command` on the database of `conninfo` (given in the environment:
    /// ``psqlInvocation(conninfo:command:inheriting:)``) and waits for it without blocking a thread.
    /// - Throws: `PostgresError` when `psql` is missing, cannot start, or exits with a non-zero status.
    static func runPsql(conninfo: String, command: String) async throws {
        let candidates =
            ["/usr/bin/psql", "/usr/local/bin/psql"]
            + ((try? await EmbeddedPostgres.findBinaries()).map { ["\($0)/psql"] } ?? [])
        guard let psql = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw PostgresError(.embeddedServer, "psql not found: install the Debian package `postgresql-client`")
        }
        let invocation = try psqlInvocation(conninfo: conninfo, command: command)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: psql)
        process.arguments = invocation.arguments
        process.environment = invocation.environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        guard status == 0 else {
            throw PostgresError(.query, "psql exited with status \(status) running \(command)")
        }
    }
}
