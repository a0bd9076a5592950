import ArgumentParser
import Foundation
import Logging
import Postgres
import Projections

/// `tongban migrate`: applies the migrations the database lacks and exits, for a deployment's migration step (a
/// Kubernetes Job, a one-shot compose service) so that the long-running commands can start with `--no-migrate`.
///
/// With `--check` it applies nothing and only says whether any are pending (exit 1 when some are); with
/// `--wait-seconds` it waits for another process to apply them, which is what an init container does.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the migrations the database lacks (schemas/migrations, embedded in this build), then exit.",
        discussion: """
            Needs PostgreSQL (DATABASE_URL or PG*) and a role that may create and alter the schema tongban. Runs \
            under an advisory lock, so several at once take turns and the later ones find nothing to do. `tongban \
            project` and `tongban serve` apply pending migrations at start too; run this as a deployment's own step \
            and start the projectors with --no-migrate. --check applies nothing: it exits 0 when the schema is up to \
            date and 1 naming the pending migrations; with --wait-seconds N it asks again every 2 seconds, up to N \
            seconds, before giving up (for an init container waiting for the migration job).
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Apply nothing: exit 0 when the schema is up to date, 1 when migrations are pending.")
    var check = false

    @Option(help: "With --check: wait up to this many seconds for another process to apply them. (default: 0)")
    var waitSeconds: Int?

    func validate() throws {
        if let waitSeconds {
            guard check else { throw ValidationError("--wait-seconds goes with --check") }
            guard waitSeconds >= 0 else { throw ValidationError("--wait-seconds must not be negative") }
        }
    }

    func run() async throws {
        let stop = await StopSignals.trap()
        try await global.withDatabase(label: "tongban.migrate") { database, logger in
            try await perform(database: database, logger: logger, stop: stop) { print($0) }
        }
    }

    /// Applies the pending migrations, or with `--check` says whether any are pending.
    /// - Parameters:
    ///   - database: the pool.
    ///   - logger: logs each migration applied.
    ///   - stop: ends a `--wait-seconds` wait early (SIGTERM, SIGINT).
    ///   - say: where the lines for the operator go.
    /// - Throws: ``CommandFailure`` when `--check` finds migrations pending, or the migrator's errors.
    func perform(
        database: PostgresClient, logger: Logger, stop: StopSignals? = nil, say: (String) -> Void
    ) async throws {
        let known = try TongbanMigrations.all().map(\.version)
        guard check else {
            let applied = try await TongbanMigrations.migrate(database, logger: logger)
            say(
                applied.isEmpty
                    ? "the schema is up to date (migration \(known.last ?? 0)); nothing applied"
                    : "applied migrations \(applied); the schema is at migration \(known.last ?? 0)")
            return
        }
        let deadline = ContinuousClock.now + .seconds(waitSeconds ?? 0)
        var pending = try await TongbanMigrations.pending(database)
        while !pending.isEmpty && ContinuousClock.now < deadline && stop?.isRequested != true {
            await StopSignals.sleep(seconds: 2, stop: stop)
            try Task.checkCancellation()
            pending = try await TongbanMigrations.pending(database)
        }
        guard pending.isEmpty else {
            throw CommandFailure(
                "the database lacks migrations \(pending) of this build: run `tongban migrate` (the migration job)")
        }
        say("the schema is up to date (migration \(known.last ?? 0))")
    }
}
