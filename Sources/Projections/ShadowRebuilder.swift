public import Events
public import Foundation
import Kafka
public import Logging
public import Postgres
import Synchronization

/// Runs a ``ShadowRebuild`` to its end: a projector of its own (its own Kafka consumer group, writing the shadow
/// schema, sending no dead letters to Kafka) reads the department topics from offset 0 into the shadow copy while the
/// live projectors go on; once the shadow has caught up with the live position its deferred indexes are built, and it
/// is swapped in (or, for a dry run, compared with the live views and left for a later swap).
///
/// One rebuild runs at a time per database: the process holds the advisory lock ``ShadowRebuild/processLockKey`` on a
/// connection of its own while it runs (a second one is refused; a killed one releases it with its connection).
/// Killed at any moment, it leaves the shadow as its last committed batch left it; run it again and it goes on.
public final class ShadowRebuilder: Sendable {
    /// Where the rebuild stands, for a progress display.
    public struct Report: Sendable {
        /// What it is doing.
        public enum Phase: String, Sendable {
            /// The shadow projector reads the streams.
            case reading = "reading"
            /// Building the deferred indexes and analyzing the shadow.
            case indexing = "indexing"
            /// Pausing the live projectors and swapping.
            case swapping = "swapping"
        }

        /// What it is doing.
        public var phase: Phase
        /// Where the shadow and the live views stand.
        public var progress: ShadowRebuild.Progress
        /// Events per second the shadow applied since the previous report (offsets per second, summed).
        public var eventsPerSecond: Double
    }

    /// How a run ended.
    public enum Outcome: Sendable {
        /// Swapped in.
        case swapped(readersHeld: Duration, writersHeld: Duration, attempts: Int, progress: ShadowRebuild.Progress)
        /// Caught up and left in place (a dry run): `difference` compares it with the live views (nil when the two
        /// could not be brought to the same position; see ``ShadowRebuild/diff(database:samples:)``).
        case caughtUp(difference: ShadowRebuild.Difference?, progress: ShadowRebuild.Progress)
        /// Stopped before the end (a signal): the shadow stays, and the next run goes on with it.
        case interrupted(ShadowRebuild.Progress)
    }

    private let rebuild: ShadowRebuild
    private let configuration: ProjectorConfiguration
    private let database: PostgresClient
    private let keys: EventKeyRegistry
    private let validator: EventValidator?
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)

    /// Creates a rebuilder.
    /// - Parameters:
    ///   - configuration: the live projectors' configuration (topics, view group, batching); the shadow's projector
    ///     uses the same with a consumer group of its own (`<group>.rebuild-<random>`), the shadow schema and no
    ///     dead-letter topic.
    ///   - database: the pool (it needs `configuration.applyConnections + 3` connections).
    ///   - keys: the departments' public keys.
    ///   - validator: the event validator (default: the embedded contract).
    ///   - logger: for what happens.
    public init(
        configuration: ProjectorConfiguration, database: PostgresClient, keys: EventKeyRegistry,
        validator: EventValidator? = nil, logger: Logger
    ) {
        self.rebuild = ShadowRebuild(viewGroup: configuration.viewGroup)
        var shadow = configuration
        // A consumer group of each run's own: positions are read from the shadow's checkpoints, never from Kafka, and a
        // run killed without leaving its group would otherwise hold the next run's assignment until the group's
        // session timeout expired.
        shadow.consumer.groupID =
            configuration.consumer.groupID + ".rebuild-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        shadow.schema = ShadowRebuild.shadowSchema
        shadow.sendsDeadLetters = false
        self.configuration = shadow
        self.database = database
        self.keys = keys
        self.validator = validator
        self.logger = logger
    }

    /// Asks the run to stop: the shadow's projector commits its batch and the run returns `.interrupted`.
    public func stop() { stopping.store(true, ordering: .relaxed) }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) || Task.isCancelled }

    /// Builds (or goes on building) the shadow, and swaps it in or, with `swapping` false, compares it with the live
    /// views once it has caught up.
    /// - Parameters:
    ///   - keepingLedger: for a new shadow: start from a copy of the ledger.
    ///   - reverifying: for a new shadow: verify every signature again.
    ///   - swapping: swap it in (false: a dry run).
    ///   - report: called about once a second while it runs.
    /// - Returns: how it ended.
    /// - Throws: ``ShadowRebuild/Refusal`` (another rebuild runs, or the shadow cannot be made), `PostgresError`,
    ///   `KafkaError` `.configuration`.
    public func run(
        keepingLedger: Bool, reverifying: Bool, swapping: Bool,
        report: @escaping @Sendable (Report) -> Void = { _ in }
    ) async throws -> Outcome {
        try await database.withConnection { guard_ in
            let locked = try await guard_.query("SELECT pg_try_advisory_lock(\(ShadowRebuild.processLockKey))")
            guard try locked[0].decode(Bool.self, at: 0) else {
                throw ShadowRebuild.Refusal("another tongban rebuild is running against this database")
            }
            do {
                let outcome = try await runLocked(
                    keepingLedger: keepingLedger, reverifying: reverifying, swapping: swapping, report: report)
                _ = try? await guard_.execute("SELECT pg_advisory_unlock(\(ShadowRebuild.processLockKey))")
                return outcome
            } catch {
                _ = try? await guard_.execute("SELECT pg_advisory_unlock(\(ShadowRebuild.processLockKey))")
                throw error
            }
        }
    }

    private func runLocked(
        keepingLedger: Bool, reverifying: Bool, swapping: Bool, report: @escaping @Sendable (Report) -> Void
    ) async throws -> Outcome {
        let writers = WriterSlot()
        do {
            return try await runLocked(
                keepingLedger: keepingLedger, reverifying: reverifying, swapping: swapping, writers: writers,
                report: report)
        } catch {
            // No shadow writer outlives the run (and the process lock it holds).
            try? await writers.current?.stop()
            throw error
        }
    }

    /// The shadow's writer of the moment, so that a failed run can stop it.
    private final class WriterSlot: @unchecked Sendable {
        var current: ShadowWriter?
    }

    private func runLocked(
        keepingLedger: Bool, reverifying: Bool, swapping: Bool, writers: WriterSlot,
        report: @escaping @Sendable (Report) -> Void
    ) async throws -> Outcome {
        let shadow = try await database.withConnection {
            try await rebuild.prepare(keepingLedger: keepingLedger, reverifying: reverifying, on: $0)
        }
        if shadow.resumed {
            logger.notice(
                "going on with the shadow copy started at \(shadow.startedAt) (keeping the ledger: \(shadow.keepingLedger))"
            )
        }
        var indexed = false
        var attempts = 0
        var differenceRounds = 0
        var running: ShadowWriter?
        while true {
            let writer: ShadowWriter
            if let running, !running.isStopped {
                writer = running
            } else {
                writer = try ShadowWriter(
                    configuration: configuration, database: database, keys: keys, validator: validator,
                    logger: logger)
                running = writer
                writers.current = writer
            }
            guard let progress = try await readUntilCaughtUp(writer: writer, report: report) else {
                try await writer.stop()
                let last = try await database.withConnection { try await rebuild.progress(on: $0) }
                return .interrupted(last)
            }
            if !indexed {
                report(Report(phase: .indexing, progress: progress, eventsPerSecond: 0))
                // An index build and a batch would lock the shadow's tables in different orders.
                try await writer.stop()
                let started = ContinuousClock.now
                let built = try await database.withConnection { try await rebuild.finishLoad(on: $0) }
                logger.notice("built \(built) deferred indexes on the shadow in \(ContinuousClock.now - started)")
                indexed = true
                // Read up to the live position again (a new writer), then swap.
                continue
            }
            if !swapping {
                try await writer.stop()
                differenceRounds += 1
                if let difference = try await rebuild.diff(database: database) {
                    return .caughtUp(difference: difference, progress: difference.progress)
                }
                // The live views moved past the shadow, or had not reached it yet: let both settle and try again.
                if differenceRounds >= 5 {
                    let last = try await database.withConnection { try await rebuild.progress(on: $0) }
                    return .caughtUp(difference: nil, progress: last)
                }
                try await Task.sleep(for: .milliseconds(500))
                continue
            }
            report(Report(phase: .swapping, progress: progress, eventsPerSecond: 0))
            attempts += 1
            let outcome = try await database.withConnection { connection in
                try await rebuild.swap(on: connection) {
                    try await writer.stop()
                } newDeadLetters: { letters in
                    await self.tellDepartments(letters)
                }
            }
            switch outcome {
            case .swapped(let readersHeld, let writersHeld, let progress):
                return .swapped(
                    readersHeld: readersHeld, writersHeld: writersHeld, attempts: attempts, progress: progress)
            case .behind(let progress):
                let gap = progress.liveOffsets - progress.shadowOffsets
                logger.notice(
                    "the shadow had not caught up while the live projectors paused (\(gap) behind): reading on")
            case .busy(let tries):
                logger.notice("readers held the views through \(tries) attempts to take them: trying again")
            }
            if attempts >= 20 {
                try await writer.stop()
                throw ShadowRebuild.Refusal(
                    "the shadow could not be swapped in after \(attempts) attempts (see the log); run again")
            }
        }
    }

    /// Sends the dead letters only the rebuilt views found to the dead-letter topic, as a live projector would have;
    /// a failure is logged (they stay in `tongban.dead_letter`, where `tongban dead-letters list` shows them).
    private func tellDepartments(_ letters: [DeadLetter]) async {
        let topic = configuration.deadLetterTopic
        let bytes = configuration.producer.maximumMessageBytes
        do {
            let producer = try KafkaProducer(configuration: configuration.producer, logger: logger)
            let reports = try? await producer.send(letters.map { $0.message(to: topic, maximumBytes: bytes) })
            await producer.shutdown()
            let failed = reports.map { $0.filter { $0.error != nil }.count } ?? letters.count
            if failed > 0 {
                logger.error("\(failed) of \(letters.count) new dead letters could not be sent to \(topic)")
            } else {
                logger.notice(
                    "the rebuilt views refuse \(letters.count) message(s) the live ones had not: sent to \(topic)")
            }
        } catch {
            logger.error("the \(letters.count) new dead letters could not be sent to \(topic): \(error)")
        }
    }

    /// Runs the writer until the shadow has caught up with the live position (nil: asked to stop first).
    private func readUntilCaughtUp(writer: ShadowWriter, report: @Sendable (Report) -> Void) async throws
        -> ShadowRebuild.Progress?
    {
        var last: (offsets: Int64, at: ContinuousClock.Instant)?
        while true {
            if isStopping { return nil }
            try writer.failure()
            if let (partition, reason) = writer.unreadable.first {
                throw ShadowRebuild.Refusal(
                    "the rebuild cannot read \(partition) from offset 0 (\(reason)): every event must still be in "
                        + "Kafka; nothing was swapped (the shadow stays)")
            }
            let progress = try await database.withConnection { try await rebuild.progress(on: $0) }
            let now = ContinuousClock.now
            var rate = 0.0
            if let last {
                let seconds = (now - last.at).timeInterval
                rate = seconds > 0 ? Double(progress.shadowOffsets - last.offsets) / seconds : 0
            }
            last = (progress.shadowOffsets, now)
            report(Report(phase: .reading, progress: progress, eventsPerSecond: rate))
            if progress.caughtUp && writer.hasStarted { return progress }
            try await Task.sleep(for: .milliseconds(500))
        }
    }
}

/// The shadow's projector, running in a task of its own until stopped.
final class ShadowWriter: Sendable {
    private let projector: Projector
    private let task: Task<Void, any Error>
    private let stopped = Atomic<Bool>(false)
    private let outcome: Failure

    /// What ended the projector, if it ended by an error.
    private final class Failure: Sendable {
        let error = Mutex<(any Error)?>(nil)
    }

    init(
        configuration: ProjectorConfiguration, database: PostgresClient, keys: EventKeyRegistry,
        validator: EventValidator?, logger: Logger
    ) throws {
        var logger = logger
        logger[metadataKey: "rebuild"] = "shadow"
        let projector = try Projector(
            configuration: configuration, database: database, keys: keys, validator: validator, logger: logger)
        self.projector = projector
        let outcome = Failure()
        self.outcome = outcome
        self.task = Task {
            do {
                try await projector.run()
            } catch {
                outcome.error.withLock { $0 = error }
                throw error
            }
        }
    }

    /// Partitions the projector cannot read, and why (a log start above the shadow's position, say).
    var unreadable: [KafkaTopicPartition: String] { projector.status.unreadable }

    /// Whether the projector has had its partitions assigned (before that, "caught up" may only mean "not started").
    var hasStarted: Bool { projector.status.phase == .running || projector.status.lastCommit != nil }

    /// Throws what ended the projector, if it ended.
    func failure() throws {
        if let error = outcome.error.withLock({ $0 }) { throw error }
    }

    /// Whether ``stop()`` was called.
    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// Stops the projector (its batch in hand commits) and waits for it; a second call only waits.
    func stop() async throws {
        if !stopped.exchange(true, ordering: .relaxed) { projector.stop() }
        _ = try? await task.value
    }
}
