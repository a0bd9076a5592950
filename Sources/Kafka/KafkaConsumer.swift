public import Logging
import Synchronization
import TongbanConcurrency

/// Reads a set of topics as a member of a consumer group, with positions supplied by the caller.
///
/// Tongban keeps its read positions in PostgreSQL, next to the data they produced (README, "Positions live with the data").
/// So when the group assigns partitions to this member, the consumer asks the
/// ``PartitionHandler`` where to start each one, and only then starts fetching. When partitions
/// are revoked the handler hears of it before they go away, and messages of revoked partitions
/// that were fetched but not yet returned are dropped: the new owner reads them from its own
/// stored positions.
///
/// Reading is pull-based: ``nextBatch(maxMessages:maxWait:)`` returns up to N messages or what
/// arrived within T. Nothing is fetched ahead beyond `maxPrefetchKilobytes` per partition.
/// The consumer's blocking librdkafka calls run on a thread of its own (the actor's executor),
/// never on Swift's cooperative pool.
///
/// - Important: call ``shutdown()`` to leave the group promptly; otherwise the group waits for
///   the session timeout before giving this member's partitions to others.
public actor KafkaConsumer {
    /// Decides where assigned partitions start, and hears of revoked ones.
    public struct PartitionHandler: Sendable {
        /// Called with newly assigned partitions; returns where each one starts.
        /// Partitions missing from the answer start at ``KafkaOffset/stored``. When it throws,
        /// the partitions stay unassigned and ``KafkaConsumer/nextBatch(maxMessages:maxWait:)``
        /// throws `.rebalance`; the next call asks again.
        public var assigned: @Sendable ([KafkaTopicPartition]) async throws -> [KafkaTopicPartition: KafkaOffset]
        /// Called with revoked partitions before they are unassigned.
        public var revoked: @Sendable ([KafkaTopicPartition]) async -> Void

        /// Creates a handler.
        /// - Parameters:
        ///   - assigned: returns the start position of each assigned partition.
        ///   - revoked: hears of revoked partitions.
        public init(
            assigned: @escaping @Sendable ([KafkaTopicPartition]) async throws -> [KafkaTopicPartition: KafkaOffset],
            revoked: @escaping @Sendable ([KafkaTopicPartition]) async -> Void = { _ in }
        ) {
            self.assigned = assigned
            self.revoked = revoked
        }

        /// Starts every partition at the same logical position (e.g. ``KafkaOffset/beginning``).
        /// - Parameter offset: where every assigned partition starts.
        public static func always(_ offset: KafkaOffset) -> PartitionHandler {
            PartitionHandler(assigned: { partitions in
                Dictionary(uniqueKeysWithValues: partitions.map { ($0, offset) })
            })
        }
    }

    nonisolated let client: RDKafkaClient
    private let handler: PartitionHandler
    private let logger: Logger
    private var pendingAssignment: [KafkaTopicPartition] = []
    private var assignmentUnanswered = false
    private var assigned: Set<KafkaTopicPartition> = []
    private var polling = false

    /// Assigned partitions whose start position Kafka does not hold, with librdkafka's words: nothing of them is
    /// fetched until they are assigned again (see ``KafkaConsumerConfiguration/resetOutOfRangePositions``).
    public private(set) var unreadable: [KafkaTopicPartition: String] = [:]

    public nonisolated var unownedExecutor: UnownedSerialExecutor { client.blocking.asUnownedSerialExecutor() }

    /// Creates a consumer and subscribes it to `topics`. Joining the group happens in the background
    /// while ``nextBatch(maxMessages:maxWait:)`` is called.
    /// - Parameters:
    ///   - configuration: the consumer's settings.
    ///   - topics: the topics to read.
    ///   - handler: supplies start positions for assigned partitions.
    ///   - logger: where librdkafka's logs and consumer events go.
    /// - Throws: ``KafkaError`` `.configuration` when librdkafka rejects a property.
    public init(
        configuration: KafkaConsumerConfiguration, topics: [String], handler: PartitionHandler, logger: Logger
    ) throws(KafkaError) {
        self.client = try RDKafkaClient(kind: .consumer, properties: configuration.properties, logger: logger)
        self.handler = handler
        var logger = logger
        logger[metadataKey: KafkaLoggingKeys.group] = .string(configuration.groupID)
        self.logger = logger
        try client.subscribe(topics)
    }

    /// Returns the next messages: up to `maxMessages`, or whatever arrived within `maxWait`.
    ///
    /// Rebalances are handled here, between fetches: revoked partitions are reported to the
    /// handler, then unassigned; assigned ones start where the handler says.
    /// - Parameters:
    ///   - maxMessages: the most messages to return.
    ///   - maxWait: the longest time to wait for `maxMessages`; cancelling the task ends the wait early.
    /// - Returns: messages in partition order (possibly none).
    /// - Throws: ``KafkaError`` `.rebalance` when the handler failed (it is asked again next call),
    ///   `.fatal` or `.closed` when the consumer cannot go on, `.invalidArgument` when called concurrently.
    public func nextBatch(maxMessages: Int = 1000, maxWait: Duration = .milliseconds(100)) async throws(KafkaError)
        -> [KafkaMessage]
    {
        guard !polling else { throw KafkaError(.invalidArgument, "nextBatch called while another call is running") }
        polling = true
        defer { polling = false }
        try checkOpen()
        await processRebalanceEvents()
        try await answerPendingAssignment()
        try checkOpen()
        let client = self.client
        let ms = maxWait.milliseconds
        let (messages, errors) = await withTaskCancellationHandler {
            client.consumeBatchBlocking(maximum: maxMessages, timeoutMilliseconds: Task.isCancelled ? 0 : ms)
        } onCancel: {
            client.wakeConsumer()
        }
        for (partition, error) in errors {
            if let partition, error.rdKafkaCode == RDKafkaClient.autoOffsetResetCode, assigned.contains(partition) {
                if unreadable[partition] == nil {
                    logger.error(
                        "\(partition) cannot be read from its start position: \(error.detail)",
                        metadata: [KafkaLoggingKeys.error: "\(error.code)"])
                }
                unreadable[partition] = error.detail
                continue
            }
            logger.log(
                level: error.isRetriable ? .info : .warning, "consumer error: \(error.detail)",
                metadata: [KafkaLoggingKeys.error: "\(error.code)"])
            if error.code == .connection || error.code == .timeout {
                client.context.connectionError.withLock { $0 = error }
            }
        }
        let revoked = await processRebalanceEvents()
        // Messages already fetched belong to partitions still assigned: hand them out even if the
        // handler fails for newly assigned ones now (it is asked again on the next call).
        do {
            try await answerPendingAssignment()
        } catch {
            logger.notice("start positions not available yet: \(error.detail)")
        }
        if revoked.isEmpty { return messages }
        return messages.filter { !revoked.contains($0.topicPartition) }
    }

    private func checkOpen() throws(KafkaError) {
        try client.checkFatal()
    }

    /// Applies recorded revocations (handler first, then unassign) and queues assignments;
    /// returns the partitions revoked.
    @discardableResult
    private func processRebalanceEvents() async -> Set<KafkaTopicPartition> {
        var revoked: Set<KafkaTopicPartition> = []
        for event in client.drainRebalances() {
            switch event {
            case .revoke(let partitions):
                logger.info("partitions revoked: \(partitions.sorted())")
                revoked.formUnion(partitions)
                pendingAssignment.removeAll { partitions.contains($0) }
                await handler.revoked(partitions.filter { assigned.contains($0) })
                guard !client.isDestroyed else { return revoked }
                client.unassign(partitions)
                assigned.subtract(partitions)
                for partition in partitions { unreadable[partition] = nil }
                assignmentUnanswered = false
            case .assign(let partitions):
                logger.info("partitions assigned: \(partitions.sorted())")
                pendingAssignment.append(contentsOf: partitions.filter { !pendingAssignment.contains($0) })
                // librdkafka waits for an answer to every assignment, even an empty one.
                assignmentUnanswered = true
            case .error(let text):
                logger.notice("rebalance failed: \(text); clearing the assignment")
                revoked.formUnion(assigned)
                await handler.revoked(Array(assigned))
                guard !client.isDestroyed else { return revoked }
                client.clearAssignment()
                assigned.removeAll()
                unreadable.removeAll()
                pendingAssignment.removeAll()
                assignmentUnanswered = false
            }
        }
        return revoked
    }

    /// Asks the handler where newly assigned partitions start, then assigns them.
    private func answerPendingAssignment() async throws(KafkaError) {
        guard assignmentUnanswered else { return }
        let partitions = pendingAssignment
        var positions: [KafkaTopicPartition: KafkaOffset] = [:]
        if !partitions.isEmpty {
            do {
                positions = try await handler.assigned(partitions)
            } catch {
                throw KafkaError(
                    .rebalance, "could not get start positions for \(partitions.count) partitions: \(error)",
                    isRetriable: true)
            }
        }
        try checkOpen()
        try client.assign(partitions.map { ($0, positions[$0] ?? .stored) })
        assigned.formUnion(partitions)
        for partition in partitions { unreadable[partition] = nil }
        pendingAssignment.removeAll()
        assignmentUnanswered = false
        if !partitions.isEmpty {
            logger.debug("started partitions at \(partitions.sorted().map { "\($0)@\(positions[$0] ?? .stored)" })")
        }
    }

    /// The partitions this member currently reads.
    public var assignment: [KafkaTopicPartition] { assigned.sorted() }

    /// The latest error about reaching the cluster since the previous call, and forgets it: a broker's connection
    /// failed or could not be made (all brokers down, a name not resolved, TLS or authentication failed), or a request
    /// timed out. librdkafka reports these and keeps trying by itself, so ``nextBatch(maxMessages:maxWait:)`` does
    /// not throw them; a caller that wants to know whether Kafka answers takes them here (one broker of several
    /// reports them too, so on its own an error does not mean the cluster is unreachable). Never blocks.
    /// - Returns: the error, or `nil` when there was none.
    public nonisolated func takeConnectionError() -> KafkaError? {
        client.context.connectionError.withLock { error in
            defer { error = nil }
            return error
        }
    }

    /// The high watermark (the offset the next produced message will get) of each assigned partition, as
    /// librdkafka last saw it in a fetch response; partitions not fetched from yet are missing. Never blocks:
    /// use it for lag figures.
    public var highWatermarks: [KafkaTopicPartition: Int64] {
        guard !client.isDestroyed else { return [:] }
        var result: [KafkaTopicPartition: Int64] = [:]
        for partition in assigned {
            if let high = client.cachedHighWatermark(partition) { result[partition] = high }
        }
        return result
    }

    /// Stops fetching the given partitions until ``resume(_:)``.
    /// - Parameter partitions: assigned partitions.
    /// - Throws: ``KafkaError`` when librdkafka refuses.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try checkOpen()
        try client.setPaused(true, partitions)
    }

    /// Resumes fetching paused partitions.
    /// - Parameter partitions: paused partitions.
    /// - Throws: ``KafkaError`` when librdkafka refuses.
    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try checkOpen()
        try client.setPaused(false, partitions)
    }

    /// Commits positions to Kafka in the background, so that standard lag tools see progress.
    /// Tongban never reads them back: its positions are the ones it stores itself.
    /// - Parameter nextOffsets: for each partition, the offset of the next message to read.
    /// - Throws: ``KafkaError`` when librdkafka refuses the request.
    public func commit(_ nextOffsets: [KafkaTopicPartition: Int64]) throws(KafkaError) {
        try checkOpen()
        try client.commitAsync(nextOffsets)
    }

    /// Leaves the group and frees the client. Idempotent.
    public func shutdown() async {
        // An assignment still waiting for its answer would make rd_kafka_consumer_close wait forever.
        if assignmentUnanswered && !client.isDestroyed {
            try? client.assign(pendingAssignment.map { ($0, .stored) })
            assignmentUnanswered = false
        }
        await client.destroy()
    }
}
