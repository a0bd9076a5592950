import Logging
import Postgres
import Projections

extension GlobalOptions {
    /// Sets up logging, runs `body` with a pool on the configured PostgreSQL, and shuts the pool down, whether
    /// `body` returns or throws: how a command that needs only PostgreSQL runs.
    /// - Parameters:
    ///   - label: the logger's label.
    ///   - body: the command's work, with the pool and the logger.
    /// - Throws: ``CommandFailure`` when no PostgreSQL is configured, or what `body` threw.
    func withDatabase(label: String, _ body: (PostgresClient, Logger) async throws -> Void) async throws {
        let logger = bootstrapLogging(label: label)
        let database = PostgresClient(configuration: .init(conninfo: try requiredDatabaseURL()), logger: logger)
        do {
            try await body(database, logger)
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
    }
}

/// Applies the migrations the database lacks, and says which (commands that change the views do this first).
/// - Parameters:
///   - database: the pool.
///   - logger: logs each migration.
///   - say: where the line for the operator goes.
/// - Throws: `PostgresError` `.migration`, or the pool's errors.
func applyMigrations(_ database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
    let applied = try await TongbanMigrations.migrate(database, logger: logger)
    if !applied.isEmpty { say("applied migrations \(applied)") }
}
