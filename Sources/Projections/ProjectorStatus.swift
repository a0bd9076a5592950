public import Foundation
public import Kafka

/// What a ``Projector`` is doing, for `/health/ready` and operators.
public struct ProjectorStatus: Sendable {
    /// The projector's phase.
    public struct Phase: Hashable, Sendable, CustomStringConvertible {
        let rawValue: String
        /// Joining the consumer group or reading checkpoints.
        public static let starting = Phase(rawValue: "starting")
        /// Reading and applying batches.
        public static let running = Phase(rawValue: "running")
        /// A batch failed and is being retried (PostgreSQL or Kafka unavailable); ``ProjectorStatus/lastError`` says why.
        public static let retrying = Phase(rawValue: "retrying")
        /// Shut down.
        public static let stopped = Phase(rawValue: "stopped")
        public var description: String { rawValue }
    }

    /// The phase.
    public var phase: Phase = .starting
    /// The partitions this instance reads.
    public var assignment: [KafkaTopicPartition] = []
    /// When the last batch committed.
    public var lastCommit: Date?
    /// The last failure, in plain words (cleared by the next commit).
    public var lastError: String?
    /// Events applied to the views since start.
    public var applied: Int = 0
    /// Events ignored as re-sent duplicates since start.
    public var duplicates: Int = 0
    /// Messages dead-lettered since start.
    public var deadLetters: Int = 0
    /// Messages read below the verified watermark (not verified again) since start.
    public var trusted: Int = 0
    /// Failed attempts (of a batch, or of a consumer session) that were retried since start.
    public var retries: Int = 0
    /// Whether a rebuild of the view group is under way: the views are partial, and without their readers' indexes,
    /// until every checkpoint is back at its verified watermark (see `ViewStore.resetForRebuild(keepingLedger:on:)`).
    public var rebuilding = false
    /// Assigned partitions whose checkpoint Kafka does not hold (retention deleted those messages, or the topic was
    /// recreated), with librdkafka's words: nothing of them is read or applied, because going on from another offset
    /// would leave the views without what is missing. An operator must act (see `tongban project --help`).
    public var unreadable: [KafkaTopicPartition: String] = [:]
    /// Messages behind the newest one, per assigned partition (as librdkafka last saw the end of each).
    public var lag: [KafkaTopicPartition: Int64] = [:]
    /// Whether Kafka answers: a metadata request every second, and the errors the consumer reports.
    public var kafka = Reachability()
    /// Whether PostgreSQL answers: the checkpoint read once a second between batches, and every commit.
    public var postgres = Reachability()
    /// How long Kafka may fail to answer before the projector counts it unreachable
    /// (``ProjectorConfiguration/kafkaUnreachableAfter``).
    public var kafkaUnreachableAfter: Duration = .seconds(10)
    /// How long PostgreSQL may fail to answer before the projector counts it unreachable
    /// (``ProjectorConfiguration/postgresUnreachableAfter``).
    public var postgresUnreachableAfter: Duration = .seconds(10)

    /// Creates an empty status.
    public init() {}

    /// Whether Kafka has failed to answer for longer than ``kafkaUnreachableAfter``: the projector cannot read, and
    /// readiness fails.
    /// - Parameter now: the time to judge at.
    /// - Returns: `true` when unreachable.
    public func isKafkaUnreachable(at now: Date = Date()) -> Bool {
        kafka.isUnreachable(at: now, after: kafkaUnreachableAfter)
    }

    /// Whether PostgreSQL has failed to answer for longer than ``postgresUnreachableAfter``: the projector cannot
    /// commit, and readiness fails.
    /// - Parameter now: the time to judge at.
    /// - Returns: `true` when unreachable.
    public func isPostgresUnreachable(at now: Date = Date()) -> Bool {
        postgres.isUnreachable(at: now, after: postgresUnreachableAfter)
    }

    /// The sum of ``lag``.
    public var totalLag: Int64 { lag.values.reduce(0, +) }
}

/// Whether a service the projector needs (Kafka, PostgreSQL) answers, as its latest attempts found it.
///
/// A failed attempt starts a run of failures (``failingSince``); the next attempt that succeeds ends it. The service
/// counts as unreachable once the run is longer than a bound (``isUnreachable(at:after:)``), so that one lost
/// request or a broker restarting does not fail readiness.
public struct Reachability: Sendable, Hashable {
    /// When the current run of failures began (when its first failed attempt started); `nil` while the service
    /// answers.
    public var failingSince: Date?
    /// The latest failure, in plain words (no secrets).
    public var lastError: String?
    /// When the service last answered.
    public var lastAnswer: Date?

    /// Creates a state with no attempt yet.
    public init() {}

    /// Whether no attempt has ended yet.
    public var isUnknown: Bool { failingSince == nil && lastAnswer == nil }

    /// Records a failed attempt.
    /// - Parameters:
    ///   - error: what failed, in plain words (no secrets).
    ///   - started: when the attempt started; it begins the run of failures unless one is under way.
    /// - Returns: `true` when this failure began a run (the service answered before).
    @discardableResult
    public mutating func failed(_ error: String, startedAt started: Date) -> Bool {
        lastError = error
        guard failingSince == nil else { return false }
        failingSince = started
        return true
    }

    /// Records an answer: ends a run of failures.
    /// - Parameter time: when the answer came.
    /// - Returns: how long the run of failures it ended lasted, or `nil` when there was none.
    @discardableResult
    public mutating func answered(at time: Date) -> TimeInterval? {
        lastAnswer = time
        defer {
            failingSince = nil
            lastError = nil
        }
        return failingSince.map { time.timeIntervalSince($0) }
    }

    /// How long the current run of failures has lasted, or `nil` while the service answers.
    /// - Parameter now: the time to measure at.
    /// - Returns: the time since the run began.
    public func failingFor(at now: Date) -> TimeInterval? {
        failingSince.map { max(0, now.timeIntervalSince($0)) }
    }

    /// Whether the current run of failures is longer than `bound`.
    /// - Parameters:
    ///   - now: the time to judge at.
    ///   - bound: how long failures are tolerated.
    /// - Returns: `true` when unreachable.
    public func isUnreachable(at now: Date, after bound: Duration) -> Bool {
        guard let failing = failingFor(at: now) else { return false }
        return failing > bound.timeInterval
    }
}

extension Duration {
    /// The duration in seconds, as `TimeInterval`.
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
