import Logging
import Postgres

/// Runs ``PostgresBenchmark`` against the configured database, or a private embedded cluster.
enum PostgresBenchRunner {
    static func run(global: GlobalOptions, rows: Int, logger: Logger) async throws -> [BenchmarkFigure] {
        if global.isDatabaseConfigured {
            return try await PostgresBenchmark.run(conninfo: global.resolvedDatabaseURL, rows: rows, logger: logger)
        }
        let server = try await EmbeddedPostgres.start(logger: logger)
        do {
            let figures = try await PostgresBenchmark.run(conninfo: server.conninfo(), rows: rows, logger: logger)
            try await server.stop()
            return figures
        } catch {
            try? await server.stop()
            throw error
        }
    }
}
