import Logging
import Postgres

/// Runs ``PostgresBenchmark`` on a private embedded cluster, started for the run and removed after it (never on a
/// configured database).
enum PostgresBenchRunner {
    static func run(rows: Int, logger: Logger) async throws -> [BenchmarkFigure] {
        let server = try await EmbeddedPostgres.start(logger: logger)
        do {
            let figures = try await PostgresBenchmark.run(on: server, rows: rows, logger: logger)
            try await server.stop()
            return figures
        } catch {
            try? await server.stop()
            throw error
        }
    }
}
