import ArgumentParser
import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections
import Synchronization

/// `tongban rebuild`: rebuilds the views from the department topics, by default into a shadow copy that is swapped in
/// once it has caught up, so that the live views keep serving (and projecting) throughout.
///
/// The shadow rebuild runs in this process (``ShadowRebuilder``): a projector of its own reads the topics from offset 0
/// into the schema `tongban_shadow`, with a progress line on standard error; once it has caught up with the live
/// position, the readers' indexes are built and the copy is swapped in, holding readers for the swap alone. The views
/// swapped out stay in `tongban_previous` until `--drop-previous` (or the next swap), and `--swap-back` puts them back.
/// `--dry-run` stops before the swap and lists how the rebuilt views differ from the live ones; a later run goes on
/// from the shadow it left. Killed at any moment, a rebuild goes on from where it stood when run again.
///
/// `--in-place` is the older rebuild: one transaction empties the views (`ViewStore.resetForRebuild`), and running
/// `tongban project` processes rebuild them; the views are not ready until they have caught up.
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild the views from the department topics into a shadow copy, and swap it in without downtime.",
        discussion: """
            Needs PostgreSQL (DATABASE_URL or PG*), and for a shadow rebuild Kafka (KAFKA_BOOTSTRAP_SERVERS) and \
            the departments' public keys (--keys or TONGBAN_DEPARTMENT_KEYS), as `tongban project`. \
            --keep-ledger starts from the applied-event ledger and writes only the facts again (after a view \
            projector changed); --full decides every event again (when the ledger itself is in doubt). The rebuild \
            reads the topics from offset 0 into the schema tongban_shadow while the live views keep serving and \
            projecting (tongban.view_state() stays ready), then swaps the copy in: the live projectors pause between \
            batches for a moment, readers wait only while the tables are exchanged, and nobody sees a mix of old \
            and new. The previous views are kept in tongban_previous: --swap-back puts them back, --drop-previous \
            drops them (the next swap replaces them). --dry-run builds the shadow and lists how the views would \
            change, per contract view, and which valid certificates name something that changes; run again without \
            it to swap. A rebuild stopped or killed goes on from where it stood when run again; --discard-shadow \
            drops an unfinished shadow. --in-place empties the views instead and lets running projectors rebuild \
            them (the views are not ready meanwhile); --keep-ledger is then refused while another view group has \
            checkpoints. Signatures below the verified watermarks are not verified again when the key set is the \
            one that verified them and the topics still hold the same messages; --verify verifies every one again. \
            Without --yes (or --dry-run) it only says what it would do.
            """
    )

    /// Which rebuild.
    enum Kind: String, EnumerableFlag {
        /// Keep the ledger; write the facts again from its decisions.
        case keepLedger
        /// Empty the ledger too; decide every event again.
        case full

        static func help(for value: Kind) -> ArgumentHelp? {
            switch value {
            case .keepLedger: "Keep the applied-event ledger and write only the facts again, from its decisions."
            case .full: "Decide every event again, the ledger too."
            }
        }
    }

    @OptionGroup var global: GlobalOptions

    @Flag var kind: Kind?

    @Option(help: "The checkpoint group in tongban.checkpoint (tongban project --view-group).")
    var viewGroup = "tongban.views"

    @Flag(help: "Verify every signature again from offset 0, trusting no verified watermark.")
    var verify = false

    @Flag(help: "Do it (without, only say what it would do).")
    var yes = false

    @Flag(help: "Build the shadow copy and list how the views would change, without swapping it in.")
    var dryRun = false

    @Flag(help: "Empty the live views and let the running projectors rebuild them (the views are not ready meanwhile).")
    var inPlace = false

    @Flag(help: "Drop the views the last swap kept (tongban_previous).")
    var dropPrevious = false

    @Flag(help: "Put the views the last swap kept back in place of the live ones.")
    var swapBack = false

    @Flag(help: "Drop an unfinished shadow copy (tongban_shadow).")
    var discardShadow = false

    @Option(help: "The live projectors' Kafka consumer group; the rebuild reads as <group>.rebuild-<random>.")
    var group = "tongban-projector"

    @Option(help: "The most messages in one batch of the rebuild (one PostgreSQL transaction).")
    var batchSize = 5_000

    @Option(help: "Connections applying each batch of the rebuild at once.")
    var applyConnections = 2

    @Option(help: "Tasks verifying signatures (default: the number of cores).")
    var verificationTasks: Int?

    @OptionGroup var departmentKeys: DepartmentKeysOptions

    func validate() throws {
        let actions = [dropPrevious, swapBack, discardShadow].filter { $0 }.count
        guard (kind != nil ? 1 : 0) + actions == 1 else {
            throw ValidationError(
                "say what to do: --keep-ledger or --full (a rebuild), or one of --drop-previous, --swap-back, "
                    + "--discard-shadow")
        }
        if kind == nil && (dryRun || inPlace || verify) {
            throw ValidationError("--dry-run, --in-place and --verify go with --keep-ledger or --full")
        }
        if inPlace && dryRun { throw ValidationError("--dry-run builds a shadow copy: it cannot be --in-place") }
        guard batchSize > 0, applyConnections > 0 else {
            throw ValidationError("--batch-size and --apply-connections must be positive")
        }
    }

    func run() async throws {
        if kind == nil {
            try await global.withDatabase(label: "tongban.rebuild") { database, logger in
                try await performAction(database: database, logger: logger) { print($0) }
            }
        } else if inPlace {
            try await global.withDatabase(label: "tongban.rebuild") { database, logger in
                try await perform(database: database, logger: logger) { print($0) }
            }
        } else {
            try await runShadow()
        }
    }

    /// `--drop-previous`, `--swap-back` or `--discard-shadow`.
    /// - Parameters:
    ///   - database: the pool.
    ///   - logger: for the migrations.
    ///   - say: where the lines for the operator go.
    /// - Throws: ``CommandFailure`` without `--yes` (nothing changed) or when there is nothing to do it to.
    func performAction(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
        try await applyMigrations(database, logger: logger, say: say)
        let previous = try await database.withConnection { try await ShadowRebuild.previous(on: $0) }
        let shadow = try await database.withConnection { try await ShadowRebuild.existing(on: $0) }
        if dropPrevious || swapBack {
            guard let previous else {
                throw CommandFailure("nothing changed: no previous copy is kept (dropped, or no swap yet)")
            }
            say(
                "the previous copy was swapped out at \(previous.swappedOutAt) (views version \(previous.version), "
                    + "\(previous.builtBy))")
        }
        if discardShadow {
            guard let shadow else { throw CommandFailure("nothing changed: there is no shadow copy") }
            say("the shadow copy of \(shadow.viewGroup) was started at \(shadow.startedAt)")
        }
        guard yes else {
            let what = dropPrevious ? "drop it" : swapBack ? "swap it back in" : "discard it"
            throw CommandFailure("nothing changed: pass --yes to \(what)")
        }
        if dropPrevious {
            try await database.withConnection { _ = try await ShadowRebuild.dropPrevious(on: $0) }
            say("dropped the previous copy")
        } else if discardShadow {
            try await database.withConnection { connection in
                let locked = try await connection.query(
                    "SELECT pg_try_advisory_lock(\(ShadowRebuild.processLockKey))")
                guard try locked[0].decode(Bool.self, at: 0) else {
                    throw CommandFailure("nothing changed: a tongban rebuild is running; stop it first")
                }
                _ = try await ShadowRebuild.discardShadow(on: connection)
                _ = try await connection.execute("SELECT pg_advisory_unlock(\(ShadowRebuild.processLockKey))")
            }
            say("discarded the shadow copy")
        } else {
            let outcome = try await database.withConnection {
                try await ShadowRebuild(viewGroup: viewGroup).swapBack(on: $0)
            }
            guard case .swapped(let readers, _, _) = outcome else {
                throw CommandFailure("nothing changed: readers held the views through every attempt; run it again")
            }
            say(
                "swapped the previous copy back in (readers waited \(Self.milliseconds(readers)) ms); the live "
                    + "projectors go on from where it stood, and the views it replaced are now the previous copy")
        }
    }

    /// The shadow rebuild: builds (or goes on building) the copy, then swaps it in, or lists the differences.
    private func runShadow() async throws {
        let stop = await StopSignals.trap()
        let logger = global.bootstrapLogging(label: "tongban.rebuild")
        let keys = try await departmentKeys.load()
        let kafka = try global.requiredKafka()
        var configuration = ProjectorConfiguration(kafka: kafka, groupID: group, catalog: try EventCatalog.embedded())
        configuration.viewGroup = viewGroup
        configuration.batchSize = batchSize
        configuration.applyConnections = applyConnections
        if let verificationTasks { configuration.verificationTasks = max(1, verificationTasks) }
        let database = PostgresClient(
            configuration: .init(conninfo: try global.requiredDatabaseURL(), maxConnections: applyConnections + 5),
            logger: logger)
        do {
            try await performShadow(
                configuration: configuration, database: database, keys: keys, logger: logger, stop: stop
            ) { print($0) }
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
    }

    /// Says what the shadow rebuild would do, and with `--yes` or `--dry-run` does it.
    /// - Parameters:
    ///   - configuration: the live projectors' configuration.
    ///   - database: the pool (at least `applyConnections + 5` connections).
    ///   - keys: the departments' keys.
    ///   - logger: for the rebuild's projector.
    ///   - stop: a stop asked for ends the run gracefully (the shadow stays; run again to go on).
    ///   - say: where the lines for the operator go.
    /// - Throws: ``CommandFailure``, ``ShadowRebuild/Refusal``, `PostgresError`.
    func performShadow(
        configuration: ProjectorConfiguration, database: PostgresClient, keys: EventKeyRegistry, logger: Logger,
        stop: StopSignals?, say: @escaping @Sendable (String) -> Void
    ) async throws {
        try await applyMigrations(database, logger: logger, say: say)
        let keepingLedger = kind == .keepLedger
        let (plan, shadow) = try await database.withConnection {
            (try await Self.plan(viewGroup: viewGroup, on: $0), try await ShadowRebuild.existing(on: $0))
        }
        if let shadow {
            say(
                "going on with the shadow copy of \(shadow.viewGroup) started at \(shadow.startedAt) "
                    + "(\(shadow.keepingLedger ? "keeping the ledger" : "full")): it keeps its own settings")
        } else {
            let what =
                keepingLedger
                ? "from a copy of the ledger (\(plan.ledgerEvents) events), writing the facts again"
                : "deciding every event again"
            say(
                "view group \(viewGroup): \(plan.partitions) partitions would be read from offset 0 into "
                    + "\(ShadowRebuild.shadowSchema), \(what), while the live views keep serving")
            if verify { say("every signature will be verified again: the verified watermarks are trusted by nobody") }
        }
        guard yes || dryRun else {
            throw CommandFailure("nothing changed: pass --yes to rebuild and swap, or --dry-run to compare first")
        }
        let rebuilder = ShadowRebuilder(
            configuration: configuration, database: database, keys: keys, logger: logger)
        let watcher = Task {
            while !Task.isCancelled {
                if stop?.isRequested == true {
                    rebuilder.stop()
                    return
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { watcher.cancel() }
        let bar = Mutex(ProgressBar(label: "rebuild", total: nil))
        let outcome = try await rebuilder.run(keepingLedger: keepingLedger, reverifying: verify, swapping: !dryRun) {
            report in
            bar.withLock { bar in
                bar.label = "rebuild (\(report.phase.rawValue))"
                bar.total = Int(report.progress.liveOffsets)
                bar.update(Int(report.progress.shadowOffsets))
            }
        }
        switch outcome {
        case .interrupted(let progress):
            bar.withLock { $0.finish(Int(progress.shadowOffsets)) }
            say(
                "stopped at \(progress.shadowOffsets) of \(progress.liveOffsets): the shadow copy stays; run the same "
                    + "command again to go on")
        case .swapped(let readers, let writers, let attempts, let progress):
            bar.withLock { $0.finish(Int(progress.shadowOffsets)) }
            say(
                "swapped in at \(progress.shadowOffsets) events: readers waited \(Self.milliseconds(readers)) ms, the "
                    + "live projectors \(Self.milliseconds(writers)) ms (\(attempts) attempt(s)); the previous views "
                    + "are kept in \(ShadowRebuild.previousSchema) (--swap-back, --drop-previous); certificates are "
                    + "re-checked against the new views")
        case .caughtUp(let difference, let progress):
            bar.withLock { $0.finish(Int(progress.shadowOffsets)) }
            guard let difference else {
                say(
                    "the shadow has caught up (\(progress.shadowOffsets) events), but the live views kept moving and "
                        + "the two could not be compared at one position: run --dry-run again")
                return
            }
            for line in Self.describe(difference) { say(line) }
            say("the shadow copy stays: run with --yes to swap it in, or --discard-shadow to drop it")
        }
    }

    /// The lines that list a difference, per view.
    static func describe(_ difference: ShadowRebuild.Difference) -> [String] {
        var lines = [
            "compared \(difference.compared) contract views at \(difference.progress.shadowOffsets) events: "
                + (difference.views.isEmpty ? "no difference" : "\(difference.views.count) differ")
        ]
        for view in difference.views {
            lines.append("  \(view.name): \(view.onlyLive) rows would go, \(view.onlyShadow) would come")
            lines += view.goingSamples.map { "    - \($0)" }
            lines += view.comingSamples.map { "    + \($0)" }
        }
        if !difference.views.isEmpty {
            lines.append(
                difference.certificates.isEmpty
                    ? "no valid certificate names anything in the differing rows"
                    : "\(difference.certificates.count) valid certificate(s) name something in the differing rows: "
                        + difference.certificates.prefix(20).joined(separator: ", ")
                        + (difference.certificates.count > 20 ? ", …" : ""))
        }
        return lines
    }

    /// A duration in whole milliseconds.
    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

    /// What a rebuild would start from, as `plan(viewGroup:on:)` finds it.
    struct Plan: Equatable {
        /// Partitions with a checkpoint in the view group.
        var partitions: Int
        /// Events the ledger holds.
        var ledgerEvents: Int
        /// Whether an earlier rebuild has not finished.
        var unfinished: Bool
        /// Other view groups with checkpoints: they share the tables being emptied, and their checkpoints stay.
        var otherViewGroups: [String] = []
    }

    /// The in-place rebuild (`--in-place`): migrates, says what it would do, and does it with `--yes`.
    /// - Parameters:
    ///   - database: the pool.
    ///   - logger: for the migrations.
    ///   - say: where the lines for the operator go.
    /// - Throws: ``CommandFailure`` without `--yes` (nothing changed), or `PostgresError`.
    func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
        try await applyMigrations(database, logger: logger, say: say)
        if let shadow = try await database.withConnection({ try await ShadowRebuild.existing(on: $0) }) {
            throw CommandFailure(
                "nothing changed: a shadow rebuild of \(shadow.viewGroup) started at \(shadow.startedAt) is unfinished; "
                    + "finish it (run it again) or drop it (--discard-shadow --yes) before rebuilding in place")
        }
        let keepingLedger = kind == .keepLedger
        let plan = try await database.withConnection { try await Self.plan(viewGroup: viewGroup, on: $0) }
        let what =
            keepingLedger
            ? "the fact tables (the ledger's \(plan.ledgerEvents) events stay)"
            : "the fact tables and the ledger (\(plan.ledgerEvents) events)"
        say("view group \(viewGroup): \(plan.partitions) partitions would go back to offset 0, emptying \(what)")
        if verify {
            say("every signature will be verified again from offset 0: the verified watermarks are trusted by nobody")
        }
        if keepingLedger && !plan.otherViewGroups.isEmpty {
            throw CommandFailure("nothing changed: \(ViewStore.RebuildRefusal(otherViewGroups: plan.otherViewGroups))")
        }
        if !plan.otherViewGroups.isEmpty {
            say(
                "warning: view groups \(plan.otherViewGroups.joined(separator: ", ")) have checkpoints too; they share "
                    + "these tables and are not reset: rebuild each of them as well")
        }
        if plan.unfinished { say("an earlier rebuild has not finished; this one starts over") }
        guard yes else {
            throw CommandFailure("nothing changed: pass --yes to rebuild")
        }
        let started = ContinuousClock.now
        try await database.withConnection {
            try await ViewStore(viewGroup: viewGroup).resetForRebuild(
                keepingLedger: keepingLedger, reverifying: verify, on: $0)
        }
        say(
            "reset in \(ContinuousClock.now - started): running projectors of \(viewGroup) start over within about a "
                + "second (start `tongban project` if none runs); /health reports them as rebuilding, and "
                + "tongban.view_state() says the views are not ready, until they are back")
    }

    /// What a rebuild of `viewGroup` would start from.
    /// - Parameters:
    ///   - viewGroup: the checkpoint group.
    ///   - connection: a connection to the migrated database.
    /// - Returns: the plan.
    /// - Throws: `PostgresError`.
    static func plan(viewGroup: String, on connection: PostgresConnection) async throws -> Plan {
        let rows = try await connection.query(
            """
            SELECT (SELECT count(*) FROM tongban.checkpoint WHERE view_group = \(viewGroup)),
                (SELECT count(*) FROM tongban.event),
                EXISTS (SELECT 1 FROM tongban.rebuild_deferred WHERE view_group = \(viewGroup))
            """)
        let others = try await ViewStore.otherViewGroups(than: viewGroup, on: connection)
        return Plan(
            partitions: try rows[0].decode(Int.self, at: 0), ledgerEvents: try rows[0].decode(Int.self, at: 1),
            unfinished: try rows[0].decode(Bool.self, at: 2), otherViewGroups: others)
    }
}
