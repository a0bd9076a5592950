import ArgumentParser
import Events
import Foundation
import Kafka
import Logging
import Operations
import Postgres
import Projections
import ServiceLifecycle
import Synchronization

/// `tongban project`: the projectors, from the department topics to the verified views.
///
/// Runs `--instances` projectors in one consumer group (more processes with the same `--group` share the
/// partitions too), applies pending migrations first, and stops gracefully on SIGTERM or Ctrl-C: each projector
/// commits the batch in hand before the process exits. A signal during start-up stops it gracefully too (status 0),
/// once the step in hand (applying a migration, say) is done.
struct ProjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Fold the department topics into the verified views in PostgreSQL (serves /metrics and /health/*).",
        discussion: """
            Needs Kafka (KAFKA_BOOTSTRAP_SERVERS, KAFKA_PROPERTIES) and PostgreSQL (DATABASE_URL or PG*), and the \
            departments' public keys (--keys FILE, a JWK Set, or TONGBAN_DEPARTMENT_KEYS). Positions are kept in \
            PostgreSQL with the views; stop it any way you like and start it again: the views stay equal to a \
            replay from zero. A partition whose checkpoint Kafka no longer holds (retention deleted those \
            messages, or the topic was recreated) is not read at all, and /health fails naming it: going on from \
            another offset would leave the views without what is missing. Restore the messages, or accept the loss \
            with --kafka-property auto.offset.reset=earliest (the partition then goes on from its earliest message). \
            GET /health/live answers 200 while the process serves (for a liveness probe: it never depends on Kafka \
            or PostgreSQL); GET /health/ready (and /health, the same) answers 503 while a batch cannot be written, a \
            partition cannot be read, or Kafka or PostgreSQL has not answered for longer than \
            --kafka-unreachable-after-seconds / --postgres-unreachable-after-seconds, naming which.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "The Kafka consumer group; every instance of one deployment uses the same.")
    var group = "tongban-projector"

    @Option(help: "The checkpoint group in tongban.checkpoint.")
    var viewGroup = "tongban.views"

    @Option(help: "The most messages in one batch (one PostgreSQL transaction).")
    var batchSize = 5_000

    @Option(help: "Milliseconds to wait for a batch to fill before applying what arrived.")
    var batchWaitMs = 200

    @Option(help: "Projectors to run in this process (all in the same consumer group).")
    var instances = 1

    @Option(help: "Tasks verifying signatures per projector (default: the number of cores).")
    var verificationTasks: Int?

    @Option(help: "Connections applying each batch at once, each over its own share of the partitions.")
    var applyConnections = 2

    @Option(
        help: ArgumentHelp(
            "Seconds Kafka may fail to answer before /health/ready answers 503.",
            discussion: "The projector asks Kafka every second, idle or busy; /health/live stays 200."))
    var kafkaUnreachableAfterSeconds = 10

    @Option(
        help: ArgumentHelp(
            "Seconds PostgreSQL may fail to answer before /health/ready answers 503.",
            discussion: "The projector reads its checkpoints every second; a batch that cannot commit fails at once."))
    var postgresUnreachableAfterSeconds = 10

    @OptionGroup var departmentKeys: DepartmentKeysOptions

    @Flag(
        help: ArgumentHelp(
            "When the views were built by an older version of the view projectors, rebuild them into a shadow copy.",
            discussion: """
                Keeping the ledger, while these views keep serving; the copy is swapped in when it has caught up \
                (as `tongban rebuild --keep-ledger --yes`). Without it, the projector only says so in its log and on \
                /health (degraded).
                """))
    var rebuildOutdatedViews = false

    @Flag(inversion: .prefixedNo, help: "Apply pending migrations from schemas/migrations before starting.")
    var migrate = true

    @OptionGroup var operations: OperationsOptions

    func validate() throws {
        guard batchSize > 0, batchWaitMs >= 0, instances > 0, applyConnections > 0 else {
            throw ValidationError(
                "--batch-size, --instances and --apply-connections must be positive, --batch-wait-ms not negative")
        }
        guard kafkaUnreachableAfterSeconds > 0, postgresUnreachableAfterSeconds > 0 else {
            throw ValidationError(
                "--kafka-unreachable-after-seconds and --postgres-unreachable-after-seconds must be positive")
        }
    }

    func run() async throws {
        // First: a SIGTERM during start-up is then a graceful stop too, not the signal's default action.
        let stop = await StopSignals.trap()
        let logger = global.bootstrapLogging(label: "tongban.project")
        logger.notice("starting tongban project (consumer group \(group), view group \(viewGroup))")
        let registry = try await loadKeys()
        let developmentKeys = registry.developmentKeyIDs
        if !developmentKeys.isEmpty {
            let keyList = developmentKeys.joined(separator: ", ")
            logger.critical(
                """
                TRUSTING DEVELOPMENT KEYS \(keyList) (--allow-development-keys): anyone holding those key files can \
                sign as a department; never run this in production
                """)
        }
        let kafka = try global.requiredKafka()
        let conninfo = try global.requiredDatabaseURL()
        let catalog = try EventCatalog.embedded()
        var configuration = ProjectorConfiguration(kafka: kafka, groupID: group, catalog: catalog)
        configuration.viewGroup = viewGroup
        configuration.batchSize = batchSize
        configuration.batchWait = .milliseconds(batchWaitMs)
        if let verificationTasks { configuration.verificationTasks = max(1, verificationTasks) }
        configuration.applyConnections = applyConnections
        configuration.kafkaUnreachableAfter = .seconds(kafkaUnreachableAfterSeconds)
        configuration.postgresUnreachableAfter = .seconds(postgresUnreachableAfterSeconds)

        let database = PostgresClient(
            configuration: .init(
                conninfo: conninfo, maxConnections: (applyConnections + 1) * instances + 2),
            logger: logger)
        if migrate {
            do {
                let applied = try await TongbanMigrations.migrate(database, logger: logger)
                if !applied.isEmpty { logger.notice("applied migrations \(applied)") }
            } catch {
                await database.shutdown()
                throw CommandFailure("could not apply the migrations: \(error)")
            }
        }
        if stop.isRequested {
            logger.notice("stopped during start-up, before reading anything")
            await database.shutdown()
            return
        }
        let validator = try EventValidator()
        let versions = ViewsVersionWatch(database: database, logger: logger)
        await versions.refresh()
        // The metrics backend first: the projectors create their metrics when they are made.
        let statuses = StatusBoard()
        let server = try operations.server(
            health: {
                var report = HealthReport(projectors: statuses.projectors.map(\.status))
                if !developmentKeys.isEmpty {
                    report.checks["department-keys"] = .degraded(
                        "trusting development keys (\(developmentKeys.joined(separator: ", "))) because of "
                            + "--allow-development-keys: never in production")
                    report.status = max(report.status, .degraded)
                }
                if let advice = versions.advice {
                    report.checks["views-version"] = .degraded(advice)
                    report.status = max(report.status, .degraded)
                }
                return report
            }, logger: logger)
        let projectors = try (0..<instances).map { _ in
            try Projector(
                configuration: configuration, database: database, keys: registry, validator: validator, logger: logger)
        }
        statuses.projectors = projectors
        logger.notice(
            "projecting \(configuration.topics.joined(separator: ", ")) as group \(group) with \(instances) instance(s)"
        )
        // Shut down in reverse order: the endpoint, then the projectors (each commits its batch), then the pool.
        var services: [any Service] = [database]
        services += projectors
        services.append(versions)
        if rebuildOutdatedViews, versions.isOutdated {
            let pool = PostgresClient(
                configuration: .init(conninfo: conninfo, maxConnections: applyConnections + 5), logger: logger)
            services.append(
                OutdatedViewsRebuild(
                    rebuilder: ShadowRebuilder(
                        configuration: configuration, database: pool, keys: registry, validator: validator,
                        logger: logger),
                    pool: pool, versions: versions, logger: logger))
        }
        if let server { services.append(server) }
        try await stop.run(ServiceGroup(services: services, logger: logger))
    }

    /// The departments' public keys (see ``DepartmentKeysOptions/load()``).
    func loadKeys() async throws -> EventKeyRegistry { try await departmentKeys.load() }
}

/// The views' version as the database records it, read at start and every minute, for the log and `/health`: a
/// database whose views an older version of the view projectors built needs a rebuild.
final class ViewsVersionWatch: Service, Sendable {
    private let database: PostgresClient
    private let logger: Logger
    private let found = Mutex<ViewsVersion?>(nil)

    init(database: PostgresClient, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// What to do about the views' version, or nil when it is this binary's.
    var advice: String? { found.withLock { $0?.advice() } }

    /// Whether an older version built the views.
    var isOutdated: Bool { found.withLock { ($0?.version ?? ViewStore.version) < ViewStore.version } }

    /// Reads the version again, and logs a change of advice.
    func refresh() async {
        guard let read = try? await database.withConnection({ try await ViewsVersion.read(on: $0) }) else { return }
        let before = advice
        found.withLock { $0 = read }
        if let advice = read.advice(), advice != before { logger.warning("\(advice)") }
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: .seconds(60))
                await self.refresh()
            }
        }
    }
}

/// `--rebuild-outdated-views`: rebuilds the views into a shadow copy, keeping the ledger, and swaps it in; then waits
/// for the process to stop. Stopped earlier, it leaves the shadow for the next start to go on with.
struct OutdatedViewsRebuild: Service {
    let rebuilder: ShadowRebuilder
    /// The rebuild's own connections, closed once it is done.
    let pool: PostgresClient
    let versions: ViewsVersionWatch
    let logger: Logger

    func run() async throws {
        await withGracefulShutdownHandler {
            logger.notice("rebuilding the outdated views into a shadow copy (--rebuild-outdated-views)")
            do {
                let outcome = try await rebuilder.run(keepingLedger: true, reverifying: false, swapping: true)
                if case .swapped(let readers, _, _, _) = outcome {
                    logger.notice("the rebuilt views are swapped in (readers waited \(readers))")
                }
            } catch {
                logger.error("the rebuild of the outdated views failed (the live views keep serving): \(error)")
            }
            await pool.shutdown()
            await versions.refresh()
            try? await gracefulShutdown()
        } onGracefulShutdown: {
            rebuilder.stop()
        }
    }
}

/// The projectors, for the health endpoint that is made before them.
final class StatusBoard: Sendable {
    private let list = Mutex<[Projector]>([])
    var projectors: [Projector] {
        get { list.withLock { $0 } }
        set { list.withLock { $0 = newValue } }
    }
}
