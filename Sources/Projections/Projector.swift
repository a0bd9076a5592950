import CoreMetrics
public import Events
import Foundation
import Kafka
public import Logging
public import Postgres
public import ServiceLifecycle
import Synchronization

/// Folds the department topics into the views: a consumer-group member that reads batches, verifies them on
/// all cores, and applies each batch with its checkpoints in one PostgreSQL transaction.
///
/// - On assignment it reads the partitions' checkpoints (and verified watermarks) from PostgreSQL and starts
///   there; Kafka's own committed offsets are written only for lag tools, never read.
/// - Every message at or above its partition's verified watermark is validated and its signature verified
///   (``ProjectorConfiguration/verificationTasks`` tasks); below the watermark (a rebuild) it is only parsed,
///   and offsets rejected before are skipped. When every checkpoint of the view group is back at its watermark, the
///   projector restores what ``ViewStore/resetForRebuild(keepingLedger:on:)`` deferred (``ViewStore/finishRebuild(on:)``).
/// - Messages that cannot be applied go to the dead-letter topic (original key and bytes, reason and position
///   as headers) and to `tongban.dead_letter`; the topic is written before the batch commits, so a crash can
///   only repeat a dead letter, never lose one.
/// - While batch *n* is applied, batch *n + 1* is read and verified. A batch is applied on several connections at
///   once (``ProjectorConfiguration/applyConnections``), each with its own share of the partitions.
/// - PostgreSQL or Kafka failures: the batch is retried with backoff until it commits; a checkpoint moved by
///   another instance ends the consumer session and a new one starts from the stored positions. When PostgreSQL
///   refuses some events' facts (``ViewStore/isRefusal(_:)``), the batch is bisected to find them
///   (``ViewStore/refusedEvents(_:on:)``), they become dead letters, and the rest commits.
/// - Whether Kafka and PostgreSQL answer is in ``status`` for readiness: Kafka is asked for metadata every second
///   on a small client of the projector's own (idle or busy), and the consumer's connection errors count too;
///   PostgreSQL is asked between batches (the checkpoint read). Failing for longer than
///   ``ProjectorConfiguration/kafkaUnreachableAfter`` (or ``ProjectorConfiguration/postgresUnreachableAfter``)
///   makes it unreachable (``ProjectorStatus/isKafkaUnreachable(at:)``) until it answers again.
/// - Graceful shutdown (ServiceLifecycle): the batch in hand is applied and committed, then the consumer leaves
///   the group.
///
/// ```swift
/// let projector = try Projector(configuration: configuration, database: client, keys: keys, logger: logger)
/// let group = ServiceGroup(services: [client, projector], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public final class Projector: Service, Sendable {
    /// The configuration.
    public let configuration: ProjectorConfiguration
    private let database: PostgresClient
    private let store: ViewStore
    private let verifier: BatchVerifier
    /// The fingerprint of the key set, recorded with every watermark this projector vouches for.
    private let keySet: String
    private let logger: Logger
    private let metrics: ProjectorMetrics
    private let stopping = Atomic<Bool>(false)
    private let state = Mutex(ProjectorStatus())
    /// The services whose outage has been logged as such (see ``record(_:failure:startedAt:)``).
    private let outagesLogged = Mutex<Set<Dependency>>([])

    /// Creates a projector.
    /// - Parameters:
    ///   - configuration: topics, group, batching, verification.
    ///   - database: the pool that holds the views (run it as a service beside the projector).
    ///   - keys: the departments' public keys.
    ///   - validator: the event validator (default: the embedded contract).
    ///   - logger: for progress and failures.
    /// - Throws: `EventCatalogError`/`JSONSchemaError` if the embedded contract is broken.
    public init(
        configuration: ProjectorConfiguration, database: PostgresClient, keys: EventKeyRegistry,
        validator: EventValidator? = nil, logger: Logger
    ) throws {
        self.configuration = configuration
        self.database = database
        self.store = ViewStore(viewGroup: configuration.viewGroup, schema: configuration.schema)
        self.verifier = BatchVerifier(
            validator: try validator ?? EventValidator(), keys: keys, tasks: max(1, configuration.verificationTasks),
            maximumClockSkew: configuration.maximumClockSkew, maximumEventBytes: configuration.maximumEventBytes)
        self.keySet = keys.fingerprint
        var logger = logger
        logger[metadataKey: "projector.view_group"] = .string(configuration.viewGroup)
        self.logger = logger
        // A shadow rebuild's projector in the same process has series of its own.
        self.metrics = ProjectorMetrics(
            viewGroup: configuration.schema == "tongban"
                ? configuration.viewGroup : "\(configuration.viewGroup) (\(configuration.schema))")
        state.withLock {
            $0.kafkaUnreachableAfter = configuration.kafkaUnreachableAfter
            $0.postgresUnreachableAfter = configuration.postgresUnreachableAfter
        }
    }

    /// What the projector is doing now.
    public var status: ProjectorStatus { state.withLock { $0 } }

    /// Runs until graceful shutdown or cancellation.
    /// - Throws: ``KafkaError`` `.configuration` when librdkafka rejects a property (nothing else ends the run:
    ///   unavailable brokers or databases are waited for).
    public func run() async throws {
        let producer = try KafkaProducer(configuration: configuration.producer, logger: logger)
        let probe: KafkaAdmin
        do {
            probe = try makeKafkaProbe()
        } catch {
            await producer.shutdown()
            throw error
        }
        do {
            try await withGracefulShutdownHandler {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Idle or busy, Kafka is asked every second whether it answers; the watch ends with the sessions.
                    group.addTask { await self.watchKafka(probe) }
                    try await self.runSessions(producer: producer)
                    group.cancelAll()
                }
            } onGracefulShutdown: {
                self.stopping.store(true, ordering: .relaxed)
            }
        } catch {
            await probe.shutdown()
            await producer.shutdown()
            state.withLock { $0.phase = .stopped }
            throw error
        }
        await probe.shutdown()
        await producer.shutdown()
        state.withLock {
            $0.phase = .stopped
            $0.assignment = []
        }
        logger.info("projector stopped")
    }

    /// Asks the projector to finish its batch and stop, as graceful shutdown does.
    public func stop() {
        stopping.store(true, ordering: .relaxed)
    }

    private var isStopping: Bool { stopping.load(ordering: .relaxed) || Task.isCancelled }

    // MARK: - Sessions

    /// A consumer session ended and a new one must start from the stored positions.
    private struct SessionRestart: Error, CustomStringConvertible {
        let description: String
    }

    private func runSessions(producer: KafkaProducer) async throws {
        var backoff = configuration.retryBackoff
        while !isStopping {
            do {
                try await runSession(producer: producer)
                backoff = configuration.retryBackoff
            } catch let error as SessionRestart {
                logger.notice("restarting the consumer session: \(error)")
                metrics.retry(cause: "session")
                state.withLock { $0.retries += 1 }
            } catch let error as KafkaError where error.code == .configuration {
                throw error
            } catch is CancellationError {
                return
            } catch {
                await retry(after: error, "consumer session failed", cause: "session", backoff: &backoff)
            }
        }
    }

    /// Events of a lane that the views refuse: they go to the dead letters when the lane is tried again.
    private struct RefusedEvents: Error, CustomStringConvertible {
        let letters: [DeadLetter]
        var description: String { "the views refused \(letters.count) event(s)" }
    }

    /// A lane that PostgreSQL refused although no single event of it is refused alone (the events together provoke
    /// it, or a check that runs only at commit): tried again a few times, then its events become dead letters.
    private struct UnexplainedRefusal: Error, CustomStringConvertible {
        let advances: [CheckpointAdvance]
        let events: [StagedEvent]
        let reason: String
        var description: String { "the views refused a batch of \(events.count) event(s): \(reason)" }
    }

    /// A message's position, to find it in a set.
    private struct PartitionOffset: Hashable {
        let partition: KafkaTopicPartition
        let offset: Int64
        init(_ partition: KafkaTopicPartition, _ offset: Int64) {
            self.partition = partition
            self.offset = offset
        }
    }

    /// The positions of one consumer session's partitions, and the gate revocations wait on.
    private final class Session: Sendable {
        let positions = Mutex<[KafkaTopicPartition: PartitionPosition]>([:])
        let gate = ApplyGate()
        /// Whether a rebuild may still have indexes to restore (see ``ViewStore/finishRebuild(on:)``): checked once a
        /// second while it may, every half minute once it had nothing (another group may rebuild later).
        let rebuildPending = Atomic<Bool>(true)

        /// Whether some partition's checkpoint is below its verified watermark (a rebuild is reading it again).
        var isBehindWatermarks: Bool {
            positions.withLock { $0.values.contains { ($0.expected ?? 0) < $0.watermark } }
        }
    }

    private func runSession(producer: KafkaProducer) async throws {
        let session = Session()
        state.withLock { $0.phase = .starting }
        let handler = KafkaConsumer.PartitionHandler(
            assigned: { [store, database, keySet] partitions in
                var loaded = try await database.withConnection { connection in
                    try await PartitionPosition.load(partitions, store: store, keySet: keySet, on: connection)
                }
                try await self.checkAnchors(&loaded)
                session.positions.withLock { $0.merge(loaded) { _, new in new } }
                return loaded.mapValues { $0.expected.map(KafkaOffset.exactly) ?? .beginning }
            },
            revoked: { partitions in
                // The batch being applied commits first, so the next owner reads the newest checkpoint.
                await session.gate.waitIdle()
                session.positions.withLock { positions in
                    for partition in partitions { positions[partition] = nil }
                }
            })
        let consumer = try KafkaConsumer(
            configuration: configuration.consumer, topics: configuration.topics, handler: handler, logger: logger)
        do {
            try await consume(consumer, session: session, producer: producer)
        } catch {
            await consumer.shutdown()
            throw error
        }
        await consumer.shutdown()
    }

    /// Trusts a partition's watermark only if the topic still holds, at the watermark's last offset, the message that
    /// was verified there: a topic deleted and recreated under the same name (or truncated) has other messages at the
    /// same offsets, and they are all verified again from offset 0. Only partitions that a rebuild will read below a
    /// trusted watermark are looked at.
    /// - Throws: ``KafkaError`` when Kafka cannot be read in time (the assignment is then tried again).
    private func checkAnchors(_ positions: inout [KafkaTopicPartition: PartitionPosition]) async throws {
        var wanted: [KafkaTopicPartition: Int64] = [:]
        for (partition, position) in positions where position.trustedThrough > (position.expected ?? 0) {
            if let anchor = position.anchor { wanted[partition] = anchor.offset }
        }
        guard !wanted.isEmpty else { return }
        let found = try await KafkaConsumer.messages(
            at: wanted, configuration: configuration.consumer, timeout: .seconds(10), logger: logger)
        for partition in wanted.keys.sorted() {
            guard let position = positions[partition], let anchor = position.anchor else { continue }
            let held = found[partition].map { BatchVerifier.sha256Hex($0.value) }
            if held == anchor.sha256 { continue }
            let what = held == nil ? "no message" : "another message"
            logger.warning(
                """
                \(partition) does not hold at offset \(anchor.offset) the message that was verified there (\(what): a \
                recreated or truncated topic?): every message of it is verified again from offset 0
                """)
            positions[partition]?.trustedThrough = 0
            positions[partition]?.anchor = nil
        }
    }

    /// The loop of one session: read and verify batch n + 1 while batch n is applied.
    private func consume(_ consumer: KafkaConsumer, session: Session, producer: KafkaProducer) async throws {
        var pending: PreparedBatch?
        var readBackoff = configuration.retryBackoff
        var rebuildChecked: ContinuousClock.Instant?
        var wasBehind = true
        var checkpointsChecked = ContinuousClock.now
        while true {
            if isStopping {
                // Graceful shutdown: the batch in hand commits, then the session ends.
                if let pending { try await apply(pending, session: session, producer: producer) }
                return
            }
            let current = pending
            // The gate closes before the apply starts, not in it: a revocation that the read below handles must wait
            // for this batch, or a partition revoked and assigned again (at a checkpoint a rebuild moved back) would
            // meet the batch with its new position, and the batch would move it over offsets it never read.
            if current != nil { session.gate.begin() }
            async let applying: Void = {
                if let current { try await self.apply(current, session: session, producer: producer) }
            }()
            var readError: (any Error)?
            var next: PreparedBatch?
            do {
                let messages = try await consumer.nextBatch(
                    maxMessages: configuration.batchSize, maxWait: configuration.batchWait)
                if !messages.isEmpty {
                    let positions = session.positions.withLock { $0 }
                    next = await verifier.prepare(messages, positions: positions)
                }
            } catch {
                readError = error
            }
            if let error = consumer.takeConnectionError() {
                record(.kafka, failure: "the consumer reports: \(error.detail)", startedAt: Date())
            }
            try await applying
            // Once a second while a rebuild may have something deferred (every half minute otherwise), and at once
            // after the batch with which this session's partitions caught up with their watermarks: the last batch
            // of a rebuild is followed by the restore, without a query per batch before (it would only say
            // "pending") or after (while another group is behind, every group's projectors would queue on it).
            let behind = session.isBehindWatermarks
            let caughtUp = current != nil && wasBehind && !behind
            wasBehind = behind
            let interval: Duration = session.rebuildPending.load(ordering: .relaxed) ? .seconds(1) : .seconds(30)
            let rebuildCheckDue = rebuildChecked.map { ContinuousClock.now - $0 > interval } ?? true
            if (rebuildCheckDue || caughtUp) && configuration.schema == "tongban" {
                rebuildChecked = .now
                await finishRebuildIfDue(session)
            }
            // Once a second, busy or idle: a partition without traffic would otherwise never see its checkpoint move.
            if ContinuousClock.now - checkpointsChecked > .seconds(1) {
                checkpointsChecked = .now
                try await restartIfCheckpointsMoved(session)
            }
            pending = next.flatMap { $0.isEmpty ? nil : $0 }
            if let readError {
                guard let kafkaError = readError as? KafkaError, kafkaError.isRetriable || kafkaError.code == .rebalance
                else { throw readError }
                logger.notice("reading failed, retrying in \(readBackoff): \(kafkaError.detail)")
                metrics.retry(cause: "kafka")
                // A failed rebalance handler is about reading start positions, not about reaching Kafka.
                if kafkaError.code != .rebalance {
                    record(.kafka, failure: "reading failed: \(kafkaError.detail)", startedAt: Date())
                }
                state.withLock {
                    $0.retries += 1
                    $0.lastError = "kafka: \(kafkaError.detail)"
                }
                try? await Task.sleep(for: readBackoff)
                readBackoff = min(readBackoff * 2, configuration.maxRetryBackoff)
            } else {
                readBackoff = configuration.retryBackoff
            }
            await report(consumer, session: session)
        }
    }

    /// Restores what a rebuild deferred (indexes, autovacuum) once every checkpoint (of every view group) is back at its
    /// verified watermark; a failure is logged and the next call tries again.
    private func finishRebuildIfDue(_ session: Session) async {
        let started = ContinuousClock.now
        do {
            let progress = try await database.withConnection { connection in
                try await store.finishRebuild(on: connection)
            }
            state.withLock { $0.rebuilding = progress == .pending }
            switch progress {
            case .none:
                session.rebuildPending.store(false, ordering: .relaxed)
            case .pending:
                session.rebuildPending.store(true, ordering: .relaxed)
            case .finished(let indexes, let tables):
                session.rebuildPending.store(false, ordering: .relaxed)
                let elapsed = ContinuousClock.now - started
                let what = "built \(indexes) deferred indexes and restored \(tables) tables"
                logger.notice("the rebuild has caught up: \(what) in \(elapsed)")
            }
        } catch {
            logger.warning("restoring what the rebuild deferred failed (tried again within a second): \(error)")
        }
    }

    /// Ends the session when a stored checkpoint is no longer where this projector left it (`tongban rebuild` moved
    /// it back, say): a partition without traffic would otherwise not notice until its next batch. Called between
    /// applies, when the session's positions are those stored. A failed read is logged and the next check tries
    /// again; it counts toward PostgreSQL being unreachable (see ``ProjectorConfiguration/postgresUnreachableAfter``),
    /// and a read that succeeds ends such an outage. With no partition assigned it only asks PostgreSQL `SELECT 1`.
    private func restartIfCheckpointsMoved(_ session: Session) async throws {
        let positions = session.positions.withLock { $0 }
        let started = Date()
        let stored: [KafkaTopicPartition: StoredCheckpoint]
        do {
            stored = try await database.withConnection { connection in
                guard !positions.isEmpty else {
                    try await connection.execute("SELECT 1")
                    return [:]
                }
                return try await store.positions(of: Array(positions.keys), on: connection)
            }
        } catch {
            logger.debug("reading the checkpoints failed (tried again in a second): \(error)")
            if !isStopping {
                record(.postgres, failure: "reading the checkpoints failed: \(error)", startedAt: started)
            }
            return
        }
        record(.postgres, failure: nil, startedAt: started)
        if let (partition, position) = positions.first(where: { stored[$0.key]?.nextOffset != $0.value.expected }) {
            let now = stored[partition].map { String($0.nextOffset) } ?? "(none)"
            throw SessionRestart(
                description:
                    "the checkpoint of \(partition) moved from \(position.expected.map(String.init) ?? "(none)") "
                    + "to \(now) (a rebuild?)")
        }
    }

    /// Publishes lag and assignment, and commits the stored positions to Kafka for lag tools.
    private func report(_ consumer: KafkaConsumer, session: Session) async {
        let assignment = await consumer.assignment
        let highs = await consumer.highWatermarks
        let unreadable = await consumer.unreadable
        let positions = session.positions.withLock { $0 }
        var lag: [KafkaTopicPartition: Int64] = [:]
        var commits: [KafkaTopicPartition: Int64] = [:]
        for partition in assignment {
            guard let position = positions[partition] else { continue }
            if let expected = position.expected { commits[partition] = expected }
            if let high = highs[partition] {
                lag[partition] = max(0, high - (position.expected ?? 0))
                metrics.lag(partition, lag[partition]!)
            }
        }
        metrics.assigned.record(assignment.count)
        state.withLock {
            $0.assignment = assignment
            $0.lag = lag
            $0.unreadable = unreadable
            if $0.phase == .starting && !assignment.isEmpty { $0.phase = .running }
        }
        if !commits.isEmpty {
            do {
                try await consumer.commit(commits)
            } catch {
                logger.debug("lag commit to Kafka failed: \(error.detail)")
            }
        }
    }

    // MARK: - Applying

    /// Applies one batch, retrying until it commits (or the projector stops).
    ///
    /// The batch's partitions are dealt to ``ProjectorConfiguration/applyConnections`` lanes; each lane commits its
    /// partitions' events, dead letters and checkpoints in a transaction of its own, on its own connection, so that
    /// PostgreSQL works on several cores. A lane that fails is retried alone: the others' checkpoints have moved.
    private func apply(_ batch: PreparedBatch, session: Session, producer: KafkaProducer) async throws {
        session.gate.begin()  // already closed by the caller that reads meanwhile
        defer { session.gate.end() }
        var backoff = configuration.retryBackoff
        // Events the views refused (found after a failed attempt): dead letters from then on.
        var refused: [DeadLetter] = []
        // Attempts in a row that PostgreSQL refused without any single event being refused alone.
        var unexplainedAttempts = 0
        while true {
            let lanes = pendingLanes(of: batch, positions: session.positions.withLock { $0 })
            guard !lanes.isEmpty else { return }
            let failures = await withTaskGroup(of: (any Error)?.self) { [refused] group in
                for advances in lanes {
                    group.addTask {
                        do {
                            try await self.commitLane(
                                batch, advances: advances, refused: refused, session: session, producer: producer)
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
                var failures: [any Error] = []
                for await case let error? in group { failures.append(error) }
                return failures
            }
            if failures.isEmpty {
                metrics.skippedRejected.increment(by: batch.skippedRejected)
                state.withLock { $0.trusted += batch.trusted }
                return
            }
            if let restart = failures.first(where: { $0 is SessionRestart }) { throw restart }
            for letter in failures.compactMap({ $0 as? RefusedEvents }).flatMap(\.letters) {
                logger.warning(
                    "\(letter.topicPartition) offset \(letter.offset) goes to the dead letters: \(letter.reason)")
                refused.append(letter)
            }
            let unexplained = failures.compactMap { $0 as? UnexplainedRefusal }
            var settled = false
            if !unexplained.isEmpty {
                unexplainedAttempts += 1
                if unexplainedAttempts >= max(1, configuration.maximumUnexplainedRefusals) {
                    // Its partitions must go on: committing piece by piece finds the event that cannot be committed
                    // after those before it.
                    for failure in unexplained {
                        logger.warning(
                            "\(failure) \(unexplainedAttempts) times, though no single event is refused alone: committing it piece by piece"
                        )
                        try await commitBisecting(
                            batch, advances: failure.advances, refused: refused, session: session, producer: producer)
                    }
                    unexplainedAttempts = 0
                    settled = true
                }
            }
            // Lanes that only had refused events are tried again at once, without them.
            guard
                let error = failures.first(where: {
                    !($0 is RefusedEvents) && !(settled && $0 is UnexplainedRefusal)
                })
            else { continue }
            if isStopping {
                logger.notice("stopping with an uncommitted batch (it will be read again): \(error)")
                throw CancellationError()
            }
            await retry(
                after: error, "applying a batch failed", cause: error is KafkaError ? "kafka" : "postgres",
                backoff: &backoff)
        }
    }

    /// Reports a failure that will be retried (log, metric, status), then waits `backoff` and doubles it.
    private func retry(after error: any Error, _ what: String, cause: String, backoff: inout Duration) async {
        logger.warning("\(what), retrying in \(backoff): \(error)")
        metrics.retry(cause: cause)
        state.withLock {
            $0.retries += 1
            $0.phase = .retrying
            $0.lastError = "\(error)"
        }
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, configuration.maxRetryBackoff)
    }

    /// The checkpoint advances a batch still needs, dealt over the lanes so that each gets about as many offsets to
    /// apply (the span of each partition's range, a close measure of its messages): the batch commits when its
    /// slowest lane does.
    private func pendingLanes(
        of batch: PreparedBatch, positions: [KafkaTopicPartition: PartitionPosition]
    ) -> [[CheckpointAdvance]] {
        var lanes = [[CheckpointAdvance]](repeating: [], count: max(1, configuration.applyConnections))
        var loads = [Int64](repeating: 0, count: lanes.count)
        var advances: [(advance: CheckpointAdvance, offsets: Int64)] = []
        for (partition, range) in batch.ranges {
            // A revoked partition's messages are left to its next owner; a range already applied (read again after a
            // reassignment, or by a lane that committed before another failed) moves nothing.
            guard let position = positions[partition], range.upperBound + 1 > position.expected ?? 0 else { continue }
            let (advance, _) = position.advance(
                over: range, lastMessageSHA256: batch.lastMessageSHA256[partition], topicPartition: partition,
                keySet: keySet)
            advances.append((advance, range.upperBound + 1 - max(range.lowerBound, position.expected ?? 0)))
        }
        // The largest partitions first, each to the lane with the fewest offsets so far (ties by partition, so that
        // the same batch is always dealt the same way).
        advances.sort {
            $0.offsets != $1.offsets ? $0.offsets > $1.offsets : $0.advance.topicPartition < $1.advance.topicPartition
        }
        for (advance, offsets) in advances {
            let lane = loads.indices.min { loads[$0] < loads[$1] }!
            lanes[lane].append(advance)
            loads[lane] += offsets
        }
        return lanes.filter { !$0.isEmpty }.map { $0.sorted { $0.topicPartition < $1.topicPartition } }
    }

    /// Commits one lane: the batch's events and dead letters of the lane's partitions, from where each checkpoint
    /// stands, with those checkpoints.
    /// When the views refuse events (see ``ViewStore/refusedEvents(_:on:)``), the lane fails with them, and they are
    /// dead letters on the next attempt.
    private func commitLane(
        _ batch: PreparedBatch, advances: [CheckpointAdvance], refused: [DeadLetter], session: Session,
        producer: KafkaProducer
    ) async throws {
        let from = Dictionary(uniqueKeysWithValues: advances.map { ($0.topicPartition, $0.expectedNextOffset ?? 0) })
        func wanted(_ partition: KafkaTopicPartition, _ offset: Int64) -> Bool {
            guard let start = from[partition] else { return false }
            return offset >= start
        }
        let refusedLetters = refused.filter { wanted($0.topicPartition, $0.offset) }
        let refusedPositions = Set(refusedLetters.map { PartitionOffset($0.topicPartition, $0.offset) })
        let staged = batch.staged.filter {
            wanted($0.topicPartition, $0.offset)
                && !refusedPositions.contains(PartitionOffset($0.topicPartition, $0.offset))
        }
        let letters = batch.deadLetters.filter { wanted($0.topicPartition, $0.offset) } + refusedLetters
        do {
            try await commit(staged: staged, letters: letters, advances: advances, producer: producer)
        } catch let error where ViewStore.isRefusal(error) {
            let found = try await database.withConnection { connection in
                try await store.refusedEvents(staged, on: connection)
            }
            guard !found.isEmpty else {
                let error = error as? PostgresError
                throw UnexplainedRefusal(
                    advances: advances, events: staged,
                    reason: "\(error?.message ?? "statement failed") (SQLSTATE \(error?.sqlState ?? "?"))")
            }
            throw RefusedEvents(
                letters: found.map { event, reason in event.deadLetter(reason: reason) })
        } catch let error as PostgresError where error.code == .checkpointConflict {
            // After a lost connection the previous attempt may have committed; then the stored positions are
            // exactly this lane's.
            guard try await alreadyCommitted(advances) else {
                throw SessionRestart(description: "another writer moved a checkpoint: \(error.message)")
            }
            logger.info("the batch had committed before the connection was lost")
        }
        session.positions.withLock { positions in
            for advance in advances {
                guard let position = positions[advance.topicPartition],
                    let range = batch.ranges[advance.topicPartition]
                else { continue }
                let (_, trustedThrough) = position.advance(
                    over: range, lastMessageSHA256: nil, topicPartition: advance.topicPartition, keySet: keySet)
                positions[advance.topicPartition]?.expected = advance.nextOffset
                positions[advance.topicPartition]?.trustedThrough = trustedThrough
                if let verified = advance.verifiedThrough {
                    positions[advance.topicPartition]?.watermark = max(position.watermark, verified)
                }
            }
        }
    }

    /// Commits a lane that PostgreSQL keeps refusing though no single event of it is refused alone (the refusal comes
    /// from events together, or from a check that runs only at commit): partition by partition, each in pieces, halves
    /// down to single events, each piece committed with a checkpoint at its end. A single event that PostgreSQL refuses
    /// on top of the pieces before it is a dead letter, with the reason; every other event is applied.
    private func commitBisecting(
        _ batch: PreparedBatch, advances: [CheckpointAdvance], refused: [DeadLetter], session: Session,
        producer: KafkaProducer
    ) async throws {
        let refusedPositions = Set(refused.map { PartitionOffset($0.topicPartition, $0.offset) })
        for advance in advances {
            let partition = advance.topicPartition
            let start = advance.expectedNextOffset ?? 0
            let events = batch.staged.filter {
                $0.topicPartition == partition && $0.offset >= start
                    && !refusedPositions.contains(PartitionOffset(partition, $0.offset))
            }.sorted { $0.offset < $1.offset }
            let letters = (batch.deadLetters + refused).filter { $0.topicPartition == partition && $0.offset >= start }
            var cursor = advance.expectedNextOffset
            // Commits `piece`, ending the checkpoint after its last event, or at the lane's end for the last piece.
            func commitPiece(_ piece: ArraySlice<StagedEvent>, isLast: Bool) async throws {
                var step = CheckpointAdvance(
                    partition, from: cursor, to: isLast ? advance.nextOffset : (piece.last?.offset ?? start) + 1)
                if isLast {
                    step.verifiedThrough = advance.verifiedThrough
                    step.verifiedKeys = advance.verifiedKeys
                    step.verifiedAnchor = advance.verifiedAnchor
                }
                let pieceLetters = letters.filter { $0.offset >= (cursor ?? 0) && $0.offset < step.nextOffset }
                do {
                    try await commit(staged: Array(piece), letters: pieceLetters, advances: [step], producer: producer)
                } catch let error where ViewStore.isRefusal(error) && piece.count > 1 {
                    let middle = piece.startIndex + piece.count / 2
                    try await commitPiece(piece[..<middle], isLast: false)
                    try await commitPiece(piece[middle...], isLast: isLast)
                    return
                } catch let error where ViewStore.isRefusal(error) {
                    let error = error as? PostgresError
                    let letter = piece[piece.startIndex].deadLetter(
                        reason: "the views refused the event when it was committed after the events before it: "
                            + "\(error?.message ?? "statement failed") (SQLSTATE \(error?.sqlState ?? "?"))")
                    logger.warning(
                        "\(letter.topicPartition) offset \(letter.offset) goes to the dead letters: \(letter.reason)")
                    try await commit(staged: [], letters: pieceLetters + [letter], advances: [step], producer: producer)
                } catch let error as PostgresError where error.code == .checkpointConflict {
                    throw SessionRestart(description: "another writer moved a checkpoint: \(error.message)")
                }
                cursor = step.nextOffset
                session.positions.withLock { $0[partition]?.expected = step.nextOffset }
            }
            try await commitPiece(events[...], isLast: true)
            if let verified = advance.verifiedThrough {
                session.positions.withLock { positions in
                    guard var position = positions[partition] else { return }
                    position.watermark = max(position.watermark, verified)
                    position.trustedThrough = verified
                    positions[partition] = position
                }
            }
        }
    }

    /// One attempt: the dead-letter topic first, then one transaction for views, dead letters and checkpoints.
    private func commit(
        staged: [StagedEvent], letters: [DeadLetter], advances: [CheckpointAdvance],
        producer: KafkaProducer
    ) async throws {
        let started = ContinuousClock.now
        let deadLetterTopic = configuration.deadLetterTopic
        let deadLetterBytes = configuration.producer.maximumMessageBytes
        let sendsDeadLetters = configuration.sendsDeadLetters
        let outcome = try await database.withConnection { connection in
            try await store.apply(staged, checkpoints: advances, deadLetters: letters, on: connection) {
                _, recorded, _ in
                guard sendsDeadLetters else { return }
                // With the ids reused with other content, which only the views can find.
                try await self.send(
                    recorded.map { $0.message(to: deadLetterTopic, maximumBytes: deadLetterBytes) }, producer: producer)
            }
        }
        let elapsed = ContinuousClock.now - started
        metrics.batchSeconds.recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        metrics.batchEvents.record(staged.count + letters.count)
        metrics.applied.increment(by: outcome.applied)
        metrics.duplicates.increment(by: outcome.duplicates.count)
        metrics.deadLettered.increment(by: letters.count + outcome.rejected.count)
        for letter in letters { metrics.deadLetter(topic: letter.topicPartition.topic) }
        for rejected in outcome.rejected { metrics.deadLetter(topic: rejected.topicPartition.topic) }
        state.withLock {
            $0.phase = .running
            $0.lastError = nil
            $0.lastCommit = Date()
            $0.applied += outcome.applied
            $0.duplicates += outcome.duplicates.count
            $0.deadLetters += letters.count + outcome.rejected.count
        }
        record(.postgres, failure: nil, startedAt: Date())
    }

    private func send(_ messages: [KafkaProducerMessage], producer: KafkaProducer) async throws {
        guard !messages.isEmpty else { return }
        let reports = try await producer.send(messages)
        if let failed = reports.first(where: { $0.error != nil }), let error = failed.error {
            throw error
        }
    }

    private func alreadyCommitted(_ advances: [CheckpointAdvance]) async throws -> Bool {
        let stored = try await database.withConnection { connection in
            try await store.positions(of: advances.map(\.topicPartition), on: connection)
        }
        return advances.allSatisfy { stored[$0.topicPartition]?.nextOffset == $0.nextOffset }
    }

    // MARK: - Reachability

    /// A server the projector needs in order to commit.
    private enum Dependency: String, Sendable {
        case kafka = "Kafka"
        case postgres = "PostgreSQL"
    }

    /// How often Kafka is asked whether it answers (after the previous answer or timeout).
    static let kafkaProbeInterval: Duration = .seconds(1)
    /// How long an answer to that question may take.
    static let kafkaProbeTimeout: Duration = .seconds(1)

    /// The small client that asks Kafka whether it answers. Its reconnection backoff is capped at a second (unless
    /// the properties say otherwise), so that it notices within about a second that the cluster is back.
    private func makeKafkaProbe() throws(KafkaError) -> KafkaAdmin {
        var kafka = configuration.producer.kafka
        if kafka.additionalProperties["reconnect.backoff.max.ms"] == nil {
            kafka.additionalProperties["reconnect.backoff.max.ms"] = "1000"
        }
        return try KafkaAdmin(configuration: kafka, logger: logger)
    }

    /// Asks Kafka for the metadata of one of the projector's topics every ``kafkaProbeInterval`` until cancelled, and
    /// records whether it answered: an idle projector (no traffic, nothing to commit) notices an outage too. The
    /// request blocks on the probe's own queue, never on the cooperative pool.
    private func watchKafka(_ probe: KafkaAdmin) async {
        let topic = configuration.topics.first
        while !Task.isCancelled {
            let started = Date()
            do {
                _ = try await probe.metadata(topic: topic, timeout: Self.kafkaProbeTimeout)
                record(.kafka, failure: nil, startedAt: started)
            } catch {
                if !Task.isCancelled { record(.kafka, failure: error.detail, startedAt: started) }
            }
            try? await Task.sleep(for: Self.kafkaProbeInterval)
        }
    }

    /// Records an attempt to reach a service in the status: `failure` in plain words, or `nil` when it answered.
    /// Logs once when an outage passes its bound (from then on readiness fails), and once when the service answers
    /// again after that.
    private func record(_ service: Dependency, failure: String?, startedAt started: Date) {
        let now = Date()
        let bound = service == .kafka ? configuration.kafkaUnreachableAfter : configuration.postgresUnreachableAfter
        let path: WritableKeyPath<ProjectorStatus, Reachability> = service == .kafka ? \.kafka : \.postgres
        let (unreachableFor, outage) = state.withLock { status -> (TimeInterval?, TimeInterval?) in
            guard let failure else { return (nil, status[keyPath: path].answered(at: now)) }
            status[keyPath: path].failed(failure, startedAt: started)
            let reachability = status[keyPath: path]
            return (reachability.isUnreachable(at: now, after: bound) ? reachability.failingFor(at: now) : nil, nil)
        }
        if let unreachableFor, let failure, outagesLogged.withLock({ $0.insert(service).inserted }) {
            let words =
                "\(service.rawValue) has not answered for \(Int(unreachableFor)) s (more than \(bound)): the projector "
                + "cannot commit, and /health/ready answers 503 until it answers again; \(failure)"
            logger.warning("\(words)")
        }
        if let outage, outagesLogged.withLock({ $0.remove(service) != nil }) {
            logger.notice("\(service.rawValue) answers again, after \(Int(outage)) s")
        }
    }
}
