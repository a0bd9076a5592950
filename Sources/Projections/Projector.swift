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
    private let logger: Logger
    private let metrics: ProjectorMetrics
    private let stopping = Atomic<Bool>(false)
    private let state = Mutex(ProjectorStatus())

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
        self.store = ViewStore(viewGroup: configuration.viewGroup)
        self.verifier = BatchVerifier(
            validator: try validator ?? EventValidator(), keys: keys, tasks: max(1, configuration.verificationTasks),
            maximumClockSkew: configuration.maximumClockSkew)
        var logger = logger
        logger[metadataKey: "projector.view_group"] = .string(configuration.viewGroup)
        self.logger = logger
        self.metrics = ProjectorMetrics(viewGroup: configuration.viewGroup)
    }

    /// What the projector is doing now.
    public var status: ProjectorStatus { state.withLock { $0 } }

    /// Runs until graceful shutdown or cancellation.
    /// - Throws: ``KafkaError`` `.configuration` when librdkafka rejects a property (nothing else ends the run:
    ///   unavailable brokers or databases are waited for).
    public func run() async throws {
        let producer = try KafkaProducer(configuration: configuration.producer, logger: logger)
        do {
            try await withGracefulShutdownHandler {
                try await self.runSessions(producer: producer)
            } onGracefulShutdown: {
                self.stopping.store(true, ordering: .relaxed)
            }
        } catch {
            await producer.shutdown()
            state.withLock { $0.phase = .stopped }
            throw error
        }
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
            assigned: { [store, database] partitions in
                let loaded = try await database.withConnection { connection in
                    try await PartitionPosition.load(partitions, store: store, on: connection)
                }
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
            if rebuildCheckDue || caughtUp {
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
    /// again.
    private func restartIfCheckpointsMoved(_ session: Session) async throws {
        let positions = session.positions.withLock { $0 }
        guard !positions.isEmpty else { return }
        let stored: [KafkaTopicPartition: StoredCheckpoint]
        do {
            stored = try await database.withConnection { connection in
                try await store.positions(of: Array(positions.keys), on: connection)
            }
        } catch {
            logger.debug("reading the checkpoints failed (tried again in a second): \(error)")
            return
        }
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
            // Lanes that only had refused events are tried again at once, without them.
            guard let error = failures.first(where: { !($0 is RefusedEvents) }) else { continue }
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
            let advance = CheckpointAdvance(
                partition, from: position.expected, to: range.upperBound + 1,
                verifiedThrough: max(position.watermark, range.upperBound + 1))
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
            guard !found.isEmpty else { throw error }
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
                positions[advance.topicPartition]?.expected = advance.nextOffset
                positions[advance.topicPartition]?.watermark = advance.verifiedThrough ?? 0
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
        let outcome = try await database.withConnection { connection in
            try await store.apply(staged, checkpoints: advances, deadLetters: letters, on: connection) {
                _, recorded, _ in
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
}
