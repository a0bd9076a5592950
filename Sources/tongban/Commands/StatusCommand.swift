import ArgumentParser
import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections

/// `tongban status`: where every view group and partition stands, at a glance.
///
/// Reads PostgreSQL (the checkpoints, `tongban.view_state()`, the dead letters) and asks Kafka for each partition's
/// earliest offset and high watermark. Kafka unreachable or not configured is not a failure: lag is then unknown.
/// Events/s comes from how far the checkpoints moved between two samples. `--json` prints the document described by
/// ``StatusReport/json``; `--watch N` redraws every N seconds until SIGINT or SIGTERM.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Show each view group and partition: position, lag, events/s, verified watermark, rebuild, dead letters.",
        discussion: """
            Needs PostgreSQL (DATABASE_URL or PG*); changes nothing. With Kafka configured (KAFKA_BOOTSTRAP_SERVERS, \
            KAFKA_PROPERTIES) it shows each partition's end and lag, and flags a checkpoint below the partition's \
            log start (retention deleted events the views still need) or beyond its end (a recreated topic); \
            without Kafka, or when it does not answer within --kafka-timeout-seconds, lag is unknown and the rest \
            is shown. Events/s is how far the checkpoints moved between two samples --sample-seconds apart (with \
            --watch, between two redraws). --json prints one JSON object (with --watch, one per line): format \
            "tongban.status.v1"; time; views {ready, rebuilding, partitions, partitionsBehind, deferredObjects, \
            lastAppliedAt, rebuild {progress, remaining, etaSeconds} or null}; kafka {configured, reachable, error}; \
            pendingMigrations; viewGroups [{viewGroup, position, lag, eventsPerSecond, partitions [{topic, \
            partition, position, verifiedThrough, earliestOffset, highWatermark, lag, eventsPerSecond, updatedAt, \
            rebuildProgress, problem}]}]; deadLetters {total, notRedriven, topics [{topic, total, notRedriven, \
            lastRecordedAt}]}; lastError {source, at, position, detail} or null. Unknown values are null, times \
            are ISO 8601 in UTC. With --watch, a redraw that cannot read PostgreSQL prints {format, time, error} and \
            the next one tries again. A projector's own errors while it retries are on its /health/ready.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("view-group"), help: "Only this view group; repeatable (default: every one).")
    var viewGroups: [String] = []

    @Flag(help: "Print JSON (with --watch, one object per line).")
    var json = false

    @Option(help: "Redraw every this many seconds until Ctrl-C.")
    var watch: Int?

    @Option(help: "Seconds between the two samples events/s is measured over; 0 for none (without --watch).")
    var sampleSeconds: Double = 1

    @Option(help: "Seconds Kafka may take to answer before lag is shown as unknown.")
    var kafkaTimeoutSeconds: Int = 5

    func validate() throws {
        if let watch, watch < 1 { throw ValidationError("--watch must be at least 1 second") }
        guard sampleSeconds >= 0, sampleSeconds <= 60 else {
            throw ValidationError("--sample-seconds must be 0…60")
        }
        guard kafkaTimeoutSeconds > 0 else { throw ValidationError("--kafka-timeout-seconds must be positive") }
    }

    func run() async throws {
        let stop = await StopSignals.trap()
        try await global.withDatabase(label: "tongban.status") { database, _ in
            let kafka = try makeKafka()
            do {
                try await perform(database: database, kafka: kafka, stop: stop) { text in
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
            } catch {
                await kafka?.shutdown()
                throw error
            }
            await kafka?.shutdown()
        }
    }

    /// The Kafka client that asks for offsets, or `nil` when no Kafka is configured. Its librdkafka logs are kept
    /// quiet: an unreachable cluster is reported in the status, not on standard error every few seconds.
    /// - Throws: `ValidationError` for a malformed property, ``KafkaError`` for one librdkafka rejects.
    func makeKafka() throws -> StatusKafka? {
        guard global.resolvedKafkaBootstrapServers != nil else { return nil }
        var configuration = try global.requiredKafka()
        configuration.requestTimeout = .seconds(kafkaTimeoutSeconds)
        var logger = Logger(label: "tongban.status.kafka")
        logger.logLevel = .critical
        return try StatusKafka(admin: KafkaAdmin(configuration: configuration, logger: logger))
    }

    /// Takes the samples, gathers the report and writes it, once or every `--watch` seconds until a stop is asked
    /// for.
    /// - Parameters:
    ///   - database: the pool.
    ///   - kafka: asks for the partitions' offsets; `nil` when Kafka is not configured.
    ///   - stop: ends a wait early (SIGINT, SIGTERM); `nil` for none.
    ///   - write: where the text goes (each call one whole frame, ending in a line feed).
    /// - Throws: ``CommandFailure`` when the database lacks the tables it reads; PostgreSQL errors (without
    ///   `--watch`: with it, an error is shown in the frame and the next redraw tries again).
    func perform(
        database: PostgresClient, kafka: StatusKafka?, stop: StopSignals? = nil, write: (String) -> Void
    ) async throws {
        let topics = Array(Set(try EventCatalog.embedded().topics.values)).sorted()
        let pending = try await StatusReport.requireSchema(database)
        var previous: StatusReport.Sample?
        let firstSample = watch.map { min(Double($0), max(sampleSeconds, 1)) } ?? sampleSeconds
        if firstSample > 0 {
            previous = try await StatusReport.sample(database)
            await StopSignals.sleep(seconds: firstSample, stop: stop)
        }
        repeat {
            if stop?.isRequested == true { return }
            do {
                let report = try await StatusReport.gather(
                    database: database, kafka: kafka, topics: topics, viewGroups: viewGroups,
                    pendingMigrations: pending, previous: previous)
                previous = report.sample
                write(render(report))
            } catch {
                guard let watch else { throw error }
                write(failure(error, every: watch))
            }
            guard let watch else { return }
            await StopSignals.sleep(seconds: Double(watch), stop: stop)
        } while stop?.isRequested != true
    }

    /// The report as the options ask: JSON (one line with `--watch`, indented without) or the table, a `--watch`
    /// frame starting by clearing the screen.
    func render(_ report: StatusReport) -> String {
        if json { return report.jsonText(pretty: watch == nil) + "\n" }
        let lines = report.lines()
        guard let watch else { return lines.joined(separator: "\n") + "\n" }
        return "\u{1B}[H\u{1B}[2J" + "tongban status (every \(watch) s; Ctrl-C to stop)\n"
            + lines.joined(separator: "\n")
            + "\n"
    }

    /// A `--watch` frame for a redraw that could not read PostgreSQL: the table's header and the error, or with
    /// `--json` a line `{"format", "time", "error"}` (no `views`: scripts tell the two apart by it).
    func failure(_ error: any Error, every seconds: Int) -> String {
        let detail = "reading PostgreSQL failed: \(error); trying again in \(seconds) s"
        guard json else {
            return "\u{1B}[H\u{1B}[2J" + "tongban status (every \(seconds) s; Ctrl-C to stop)\n\(detail)\n"
        }
        let line: [String: Any] = [
            "format": "tongban.status.v1", "time": ClientsCommand.timestamp(Date()), "error": detail,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// Asks Kafka for the offsets of the department topics' partitions.
final class StatusKafka: Sendable {
    /// What Kafka said.
    struct Answer: Sendable {
        /// Earliest offset and high watermark of each partition of the topics that answered.
        var offsets: [KafkaTopicPartition: KafkaPartitionOffsets] = [:]
        /// Topics the cluster does not have.
        var missingTopics: Set<String> = []
        /// Why Kafka could not be asked (unreachable, timed out), when it could not.
        var error: String?
    }

    private let admin: KafkaAdmin

    /// - Parameter admin: the client; ``shutdown()`` frees it.
    init(admin: KafkaAdmin) {
        self.admin = admin
    }

    /// The offsets of every partition of `topics`. Stops at the first error that is not a missing topic: the rest
    /// would only wait for the same timeout again.
    /// - Parameter topics: the topics.
    /// - Returns: what Kafka said, never throwing: an unreachable cluster is a value.
    func offsets(of topics: [String]) async -> Answer {
        var answer = Answer()
        for topic in topics {
            do {
                for offsets in try await admin.partitionOffsets(topic: topic) {
                    answer.offsets[KafkaTopicPartition(topic, offsets.partition)] = offsets
                }
            } catch let error where error.code == .unknownTopic {
                answer.missingTopics.insert(topic)
            } catch {
                answer.error = error.detail
                return answer
            }
        }
        return answer
    }

    /// Frees the client.
    func shutdown() async {
        await admin.shutdown()
    }
}

/// What `tongban status` shows: the views' state, each view group's partitions, Kafka's answer and the dead letters.
struct StatusReport {
    /// The newest migration whose tables the report reads (`tongban.view_state()`, 0009).
    static let requiredMigration = 9

    /// The checkpoints' positions at one moment: events/s is the movement between two samples.
    struct Sample: Sendable {
        /// When the positions were read.
        var at: ContinuousClock.Instant
        /// `next_offset` of each (view group, partition).
        var positions: [Key: Int64]

        /// A view group's partition.
        struct Key: Hashable, Sendable {
            /// The view group.
            var viewGroup: String
            /// The partition.
            var partition: KafkaTopicPartition
        }
    }

    /// One partition of one view group.
    struct Partition {
        /// The topic and partition.
        var topicPartition: KafkaTopicPartition
        /// The checkpoint's `next_offset`; `nil` when the view group has read nothing of it yet.
        var position: Int64?
        /// Every message below it was verified once (`verified_through`).
        var verifiedThrough: Int64?
        /// When the checkpoint last moved.
        var updatedAt: Date?
        /// The earliest offset Kafka still holds, when it answered.
        var earliestOffset: Int64?
        /// The offset the next message will get, when Kafka answered.
        var highWatermark: Int64?
        /// Messages applied per second between the two samples, when both saw the checkpoint.
        var eventsPerSecond: Double?
        /// What is wrong with the partition, in plain words (a checkpoint Kafka no longer holds, a missing topic).
        var problem: String?

        /// Messages Kafka holds that the view group has not read: the high watermark minus the position (minus the
        /// earliest offset when nothing was read yet); `nil` when Kafka did not answer.
        var lag: Int64? {
            guard let highWatermark, let start = position ?? earliestOffset else { return nil }
            return max(0, highWatermark - start)
        }

        /// Whether the partition is being read again below its verified watermark (a rebuild).
        var isRebuilding: Bool {
            guard let position, let verifiedThrough else { return false }
            return position < verifiedThrough
        }

        /// How far a rebuild has read the partition again (0…1), while it does.
        var rebuildProgress: Double? {
            guard isRebuilding, let position, let verifiedThrough, verifiedThrough > 0 else { return nil }
            return Double(position) / Double(verifiedThrough)
        }
    }

    /// A view group's partitions.
    struct ViewGroup {
        /// The view group (`tongban project --view-group`).
        var name: String
        /// Its partitions, by topic and partition.
        var partitions: [Partition]

        /// The sum of the positions read.
        var position: Int64 { partitions.reduce(0) { $0 + ($1.position ?? 0) } }
        /// The sum of the lags, `nil` when any partition's is unknown.
        var lag: Int64? {
            partitions.reduce(Int64(0) as Int64?) { sum, partition in
                guard let sum, let lag = partition.lag else { return nil }
                return sum + lag
            }
        }
        /// The sum of the known rates, `nil` when none is known.
        var eventsPerSecond: Double? {
            let known = partitions.compactMap(\.eventsPerSecond)
            return known.isEmpty ? nil : known.reduce(0, +)
        }
    }

    /// `tongban.view_state()`.
    struct ViewState {
        var ready: Bool
        var rebuilding: Bool
        var partitions: Int
        var partitionsBehind: Int
        var deferredObjects: Int
        var lastAppliedAt: Date?
    }

    /// The dead letters read from one topic.
    struct DeadLetterTopic {
        var topic: String
        var total: Int
        var notRedriven: Int
        var lastRecordedAt: Date?
    }

    /// The newest dead letter: the last error the database records.
    struct LastError {
        var at: Date
        var position: String
        var detail: String
    }

    /// What Kafka said, or why it said nothing.
    enum KafkaState {
        case notConfigured
        case answered
        case unreachable(String)
    }

    var time: Date
    var views: ViewState
    var kafka: KafkaState
    var pendingMigrations: [Int]
    var viewGroups: [ViewGroup]
    var deadLetters: [DeadLetterTopic]
    var lastError: LastError?
    /// The positions this report was made from, the first sample of the next one.
    var sample: Sample
    /// The views' version as the database records it (nil before migration 0016).
    var viewsVersion: ViewsVersion? = nil
    /// A rebuild into a shadow copy under way (or left by a stopped one).
    var shadow: ShadowProgress? = nil
    /// The views the last swap kept, until they are dropped.
    var previous: ShadowRebuild.Previous? = nil

    /// A shadow rebuild and how far it has read.
    struct ShadowProgress {
        var rebuild: ShadowRebuild.Shadow
        /// Offsets the shadow has read, summed over its partitions.
        var read: Int64
        /// The live position, summed.
        var live: Int64
        /// Read of live (0…1).
        var fraction: Double { live > 0 ? min(1, Double(read) / Double(live)) : 1 }
    }

    /// Refuses a database without the tables the report reads, and returns the migrations it lacks otherwise.
    /// - Parameter database: the pool.
    /// - Returns: the pending migrations (all newer than ``requiredMigration``).
    /// - Throws: ``CommandFailure`` naming what to run.
    static func requireSchema(_ database: PostgresClient) async throws -> [Int] {
        let pending = try await TongbanMigrations.pending(database)
        if let first = pending.first, first <= requiredMigration {
            throw CommandFailure(
                "the database lacks migrations \(pending) (nothing to show before \(requiredMigration) is applied): "
                    + "run `tongban migrate`")
        }
        return pending
    }

    /// Reads every checkpoint's position.
    static func sample(_ database: PostgresClient) async throws -> Sample {
        try await checkpoints(database).sample
    }

    /// Reads every checkpoint: its partition as the report shows it (position, verified watermark, when it moved),
    /// by view group, and the positions as a sample for the rates.
    /// - Parameter database: the pool.
    /// - Returns: the sample (timed when the rows came back) and the partitions by view group.
    /// - Throws: PostgreSQL errors.
    static func checkpoints(
        _ database: PostgresClient
    ) async throws -> (sample: Sample, groups: [String: [KafkaTopicPartition: Partition]]) {
        let rows = try await database.query(
            """
            SELECT view_group, topic, partition, next_offset, verified_through, updated_at
            FROM tongban.checkpoint ORDER BY view_group, topic, partition
            """)
        let at = ContinuousClock.now
        var groups: [String: [KafkaTopicPartition: Partition]] = [:]
        var positions: [Sample.Key: Int64] = [:]
        for row in rows {
            let group = try row.decode(String.self, at: 0)
            let partition = KafkaTopicPartition(try row.decode(String.self, at: 1), try row.decode(Int32.self, at: 2))
            let position = try row.decode(Int64.self, at: 3)
            positions[Sample.Key(viewGroup: group, partition: partition)] = position
            groups[group, default: [:]][partition] = Partition(
                topicPartition: partition, position: position, verifiedThrough: try row.decode(Int64?.self, at: 4),
                updatedAt: try row.decode(Date?.self, at: 5))
        }
        return (Sample(at: at, positions: positions), groups)
    }

    /// Reads the database, asks Kafka, and puts the two together.
    /// - Parameters:
    ///   - database: the pool.
    ///   - kafka: the Kafka client, `nil` when none is configured.
    ///   - topics: the department topics (every view group is shown with all their partitions Kafka has).
    ///   - viewGroups: only these view groups (empty: every one; "tongban.views" when none has a checkpoint).
    ///   - pendingMigrations: what ``requireSchema(_:)`` returned.
    ///   - previous: the earlier sample the rates are measured from.
    /// - Returns: the report.
    /// - Throws: PostgreSQL errors.
    static func gather(
        database: PostgresClient, kafka: StatusKafka?, topics: [String], viewGroups wanted: [String],
        pendingMigrations: [Int], previous: Sample?
    ) async throws -> StatusReport {
        let read = try await checkpoints(database)
        let sample = read.sample
        var groups = read.groups
        let stateRow = try await database.query(
            """
            SELECT ready, rebuilding, partitions, partitions_behind, deferred_objects, last_applied_at
            FROM tongban.view_state()
            """)[0]
        let views = ViewState(
            ready: try stateRow.decode(Bool.self, at: 0), rebuilding: try stateRow.decode(Bool.self, at: 1),
            partitions: Int(try stateRow.decode(Int32.self, at: 2)),
            partitionsBehind: Int(try stateRow.decode(Int32.self, at: 3)),
            deferredObjects: Int(try stateRow.decode(Int32.self, at: 4)),
            lastAppliedAt: try stateRow.decode(Date?.self, at: 5))
        let deadLetters = try await database.query(
            """
            SELECT topic, count(*)::bigint, (count(*) FILTER (WHERE redriven_at IS NULL))::bigint, max(recorded_at)
            FROM tongban.dead_letter GROUP BY topic ORDER BY topic
            """
        ).map { row in
            DeadLetterTopic(
                topic: try row.decode(String.self, at: 0), total: Int(try row.decode(Int64.self, at: 1)),
                notRedriven: Int(try row.decode(Int64.self, at: 2)), lastRecordedAt: try row.decode(Date?.self, at: 3))
        }
        let lastError = try await database.query(
            """
            SELECT topic, partition, message_offset, reason, recorded_at FROM tongban.dead_letter
            ORDER BY recorded_at DESC, topic, partition, message_offset DESC LIMIT 1
            """
        ).first.map { row in
            LastError(
                at: try row.decode(Date.self, at: 4),
                position:
                    "\(try row.decode(String.self, at: 0)):\(try row.decode(Int32.self, at: 1)):"
                    + "\(try row.decode(Int64.self, at: 2))",
                detail: try row.decode(String.self, at: 3))
        }

        // The view groups shown.
        if !wanted.isEmpty {
            groups = groups.filter { wanted.contains($0.key) }
            for name in wanted where groups[name] == nil { groups[name] = [:] }
        } else if groups.isEmpty {
            groups[ViewStore().viewGroup] = [:]
        }

        // Kafka: the ends of the department topics' partitions (and of any other topic a checkpoint names).
        let allTopics = Set(topics).union(groups.values.flatMap { $0.keys.map(\.topic) }).sorted()
        let kafkaState: KafkaState
        var answer = StatusKafka.Answer()
        if let kafka {
            answer = await kafka.offsets(of: allTopics)
            kafkaState = answer.error.map { .unreachable($0) } ?? .answered
        } else {
            kafkaState = .notConfigured
        }

        let elapsed = previous.map { seconds(sample.at - $0.at) }
        var viewGroups: [ViewGroup] = []
        for (name, known) in groups.sorted(by: { $0.key < $1.key }) {
            var partitions = known
            if answer.error == nil {
                for partition in answer.offsets.keys where partitions[partition] == nil {
                    partitions[partition] = Partition(topicPartition: partition)
                }
            }
            for (key, var partition) in partitions {
                if let offsets = answer.offsets[key] {
                    partition.earliestOffset = offsets.earliest
                    partition.highWatermark = offsets.latest
                }
                partition.problem = problem(of: partition, topicMissing: answer.missingTopics.contains(key.topic))
                if let elapsed, elapsed > 0, let now = partition.position,
                    let before = previous?.positions[Sample.Key(viewGroup: name, partition: key)], now >= before
                {
                    partition.eventsPerSecond = Double(now - before) / elapsed
                }
                partitions[key] = partition
            }
            viewGroups.append(
                ViewGroup(name: name, partitions: partitions.values.sorted { $0.topicPartition < $1.topicPartition }))
        }
        let (viewsVersion, shadow, previous) = try await database.withConnection { connection in
            let version = try await ViewsVersion.read(on: connection)
            var shadow: ShadowProgress?
            if let found = try await ShadowRebuild.existing(on: connection) {
                let progress = try await ShadowRebuild(viewGroup: found.viewGroup).progress(on: connection)
                shadow = ShadowProgress(rebuild: found, read: progress.shadowOffsets, live: progress.liveOffsets)
            }
            return (version, shadow, try await ShadowRebuild.previous(on: connection))
        }
        return StatusReport(
            time: Date(), views: views, kafka: kafkaState, pendingMigrations: pendingMigrations,
            viewGroups: viewGroups, deadLetters: deadLetters, lastError: lastError, sample: sample,
            viewsVersion: viewsVersion, shadow: shadow, previous: previous)
    }

    /// What is wrong with a partition as Kafka sees it, in plain words; `nil` when nothing is.
    static func problem(of partition: Partition, topicMissing: Bool) -> String? {
        if topicMissing {
            return "the topic \(partition.topicPartition.topic) does not exist in Kafka (create it before anything "
                + "is published)"
        }
        guard let position = partition.position else { return nil }
        if let earliest = partition.earliestOffset, position < earliest {
            return "the checkpoint \(position) is below the partition's log start \(earliest): Kafka's retention "
                + "deleted messages the views still need; the projector does not read this partition until an "
                + "operator acts (tongban project --help)"
        }
        if let high = partition.highWatermark, position > high {
            return "the checkpoint \(position) is beyond the partition's end \(high): was the topic recreated? The "
                + "projector does not read this partition until an operator acts (tongban project --help)"
        }
        return nil
    }

    /// The rebuild's progress over every checkpoint with a verified watermark, while a rebuild is under way.
    var rebuild: (progress: Double, remaining: Int64, etaSeconds: Double?)? {
        guard views.rebuilding else { return nil }
        let partitions = viewGroups.flatMap(\.partitions).filter { ($0.verifiedThrough ?? 0) > 0 }
        let total = partitions.reduce(Int64(0)) { $0 + ($1.verifiedThrough ?? 0) }
        let done = partitions.reduce(Int64(0)) { $0 + min($1.position ?? 0, $1.verifiedThrough ?? 0) }
        let rates = partitions.filter(\.isRebuilding).compactMap(\.eventsPerSecond)
        let rate = rates.reduce(0, +)
        let remaining = total - done
        return (
            total > 0 ? Double(done) / Double(total) : 1, remaining,
            rates.isEmpty || rate <= 0 ? nil : Double(remaining) / rate
        )
    }

    /// The report as the `--json` document, a tree of dictionaries, arrays, strings, numbers and nulls. Its shape
    /// is stable (new members may be added, none renamed or removed without a new `format`):
    ///
    /// ```json
    /// {"format": "tongban.status.v1", "time": "2026-12-06T10:00:00Z",
    ///  "views": {"ready": true, "rebuilding": false, "partitions": 30, "partitionsBehind": 0, "deferredObjects": 0,
    ///            "lastAppliedAt": "…", "rebuild": null,
    ///            "version": {"database": 1, "code": 1, "builtBy": "migration", "builtAt": "…", "advice": null},
    ///            "shadowRebuild": {"viewGroup": "tongban.views", "startedAt": "…", "keepingLedger": true,
    ///                              "read": 600, "livePosition": 1200, "progress": 0.5} or null,
    ///            "previous": {"swappedOutAt": "…", "version": 1, "builtBy": "migration"} or null},
    ///  "kafka": {"configured": true, "reachable": true, "error": null},
    ///  "pendingMigrations": [],
    ///  "viewGroups": [{"viewGroup": "tongban.views", "position": 1200, "lag": 0, "eventsPerSecond": 0.0,
    ///                  "partitions": [{"topic": "tongban.household", "partition": 0, "position": 40,
    ///                                  "verifiedThrough": 40, "earliestOffset": 0, "highWatermark": 40, "lag": 0,
    ///                                  "eventsPerSecond": 0.0, "updatedAt": "…", "rebuildProgress": null,
    ///                                  "problem": null}]}],
    ///  "deadLetters": {"total": 3, "notRedriven": 3,
    ///                  "topics": [{"topic": "tongban.household", "total": 3, "notRedriven": 3, "lastRecordedAt": "…"}]},
    ///  "lastError": {"source": "dead-letter", "at": "…", "position": "tongban.household:2:17", "detail": "…"}}
    /// ```
    var json: [String: Any] {
        var viewsJSON: [String: Any] = [
            "ready": views.ready, "rebuilding": views.rebuilding, "partitions": views.partitions,
            "partitionsBehind": views.partitionsBehind, "deferredObjects": views.deferredObjects,
        ]
        viewsJSON["lastAppliedAt"] = Self.stamp(views.lastAppliedAt)
        if let rebuild {
            let progress: [String: Any] = [
                "progress": rebuild.progress, "remaining": rebuild.remaining,
                "etaSeconds": Self.value(rebuild.etaSeconds),
            ]
            viewsJSON["rebuild"] = progress
        } else {
            viewsJSON["rebuild"] = NSNull()
        }
        viewsJSON["version"] =
            viewsVersion.map {
                [
                    "database": $0.version, "code": ViewStore.version, "builtBy": $0.builtBy,
                    "builtAt": Self.stamp($0.builtAt), "advice": Self.value($0.advice()),
                ] as [String: Any]
            } ?? NSNull()
        viewsJSON["shadowRebuild"] =
            shadow.map {
                [
                    "viewGroup": $0.rebuild.viewGroup, "startedAt": Self.stamp($0.rebuild.startedAt),
                    "keepingLedger": $0.rebuild.keepingLedger, "read": $0.read, "livePosition": $0.live,
                    "progress": $0.fraction,
                ] as [String: Any]
            } ?? NSNull()
        viewsJSON["previous"] =
            previous.map {
                [
                    "swappedOutAt": Self.stamp($0.swappedOutAt), "version": $0.version, "builtBy": $0.builtBy,
                ] as [String: Any]
            } ?? NSNull()
        var kafkaJSON: [String: Any] = ["configured": true, "reachable": true, "error": NSNull()]
        switch kafka {
        case .notConfigured: kafkaJSON = ["configured": false, "reachable": NSNull(), "error": NSNull()]
        case .answered: break
        case .unreachable(let error): kafkaJSON = ["configured": true, "reachable": false, "error": error]
        }
        let groups: [[String: Any]] = viewGroups.map(Self.json(of:))
        let topics: [[String: Any]] = deadLetters.map { topic in
            [
                "topic": topic.topic, "total": topic.total, "notRedriven": topic.notRedriven,
                "lastRecordedAt": Self.stamp(topic.lastRecordedAt),
            ]
        }
        let deadLettersJSON: [String: Any] = [
            "total": deadLetters.reduce(0) { $0 + $1.total },
            "notRedriven": deadLetters.reduce(0) { $0 + $1.notRedriven }, "topics": topics,
        ]
        var lastErrorJSON: Any = NSNull()
        if let lastError {
            let error: [String: Any] = [
                "source": "dead-letter", "at": ClientsCommand.timestamp(lastError.at), "position": lastError.position,
                "detail": lastError.detail,
            ]
            lastErrorJSON = error
        }
        return [
            "format": "tongban.status.v1", "time": ClientsCommand.timestamp(time), "views": viewsJSON,
            "kafka": kafkaJSON, "pendingMigrations": pendingMigrations, "viewGroups": groups,
            "deadLetters": deadLettersJSON, "lastError": lastErrorJSON,
        ]
    }

    /// A view group in the ``json`` document.
    private static func json(of group: ViewGroup) -> [String: Any] {
        let partitions: [[String: Any]] = group.partitions.map(json(of:))
        return [
            "viewGroup": group.name, "position": group.position, "lag": value(group.lag),
            "eventsPerSecond": value(group.eventsPerSecond), "partitions": partitions,
        ]
    }

    /// A partition in the ``json`` document.
    private static func json(of partition: Partition) -> [String: Any] {
        var entry: [String: Any] = [
            "topic": partition.topicPartition.topic, "partition": Int(partition.topicPartition.partition),
        ]
        entry["position"] = value(partition.position)
        entry["verifiedThrough"] = value(partition.verifiedThrough)
        entry["earliestOffset"] = value(partition.earliestOffset)
        entry["highWatermark"] = value(partition.highWatermark)
        entry["lag"] = value(partition.lag)
        entry["eventsPerSecond"] = value(partition.eventsPerSecond)
        entry["updatedAt"] = stamp(partition.updatedAt)
        entry["rebuildProgress"] = value(partition.rebuildProgress)
        entry["problem"] = value(partition.problem)
        return entry
    }

    /// A value for the ``json`` document: itself, or JSON's null.
    private static func value<T>(_ optional: T?) -> Any {
        optional.map { $0 as Any } ?? NSNull()
    }

    /// A time for the ``json`` document: ISO 8601, or JSON's null.
    private static func stamp(_ date: Date?) -> Any {
        value(date.map(ClientsCommand.timestamp))
    }

    /// ``json`` as text, its keys sorted.
    /// - Parameter pretty: indented over several lines, or one line.
    func jsonText(pretty: Bool) -> String {
        var options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        if pretty { options.insert(.prettyPrinted) }
        // The tree holds only JSON values, so serializing it cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: json, options: options)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// The report as a table for a terminal; text from the database or Kafka is escaped.
    func lines() -> [String] {
        let show = EventViolation.printable
        var lines: [String] = []
        let applied =
            views.lastAppliedAt.map { "last applied \(Self.age(time.timeIntervalSince($0)))" } ?? "nothing applied"
        if let rebuild {
            let eta = rebuild.etaSeconds.map { ", about \(Self.duration($0)) left" } ?? ""
            lines.append(
                "views     REBUILDING: \(views.partitionsBehind) of \(views.partitions) partitions below their verified "
                    + "watermark, \(String(format: "%.1f", rebuild.progress * 100)) % read again, \(rebuild.remaining) "
                    + "events to go\(eta); \(views.deferredObjects) indexes and settings deferred; certificate "
                    + "services answer 503")
        } else if views.ready {
            lines.append("views     ready: \(views.partitions) partitions, \(applied)")
        } else {
            lines.append("views     NOT READY: nothing projected yet; certificate services answer 503")
        }
        if let viewsVersion {
            if let advice = viewsVersion.advice() {
                lines.append("version   OUTDATED: \(show(advice))")
            } else {
                lines.append(
                    "version   \(viewsVersion.version), built \(Self.age(time.timeIntervalSince(viewsVersion.builtAt))) "
                        + "(\(show(viewsVersion.builtBy)))")
            }
        }
        if let shadow {
            lines.append(
                "shadow    rebuilding \(show(shadow.rebuild.viewGroup)) into \(ShadowRebuild.shadowSchema) since "
                    + "\(Self.age(time.timeIntervalSince(shadow.rebuild.startedAt))): \(shadow.read) of \(shadow.live) "
                    + "events (\(String(format: "%.1f", shadow.fraction * 100)) %); the live views keep serving")
        }
        if let previous {
            lines.append(
                "previous  views swapped out \(Self.age(time.timeIntervalSince(previous.swappedOutAt))) are kept in "
                    + "\(ShadowRebuild.previousSchema): tongban rebuild --swap-back --yes, or --drop-previous --yes")
        }
        switch kafka {
        case .notConfigured: lines.append("kafka     not configured (KAFKA_BOOTSTRAP_SERVERS): lag unknown")
        case .answered: lines.append("kafka     answered")
        case .unreachable(let error): lines.append("kafka     UNREACHABLE, lag unknown: \(show(error))")
        }
        if !pendingMigrations.isEmpty {
            lines.append("schema    migrations \(pendingMigrations) pending: run `tongban migrate`")
        }
        for group in viewGroups {
            lines.append("")
            let lag = group.lag.map(String.init) ?? "unknown"
            let rate = group.eventsPerSecond.map { String(format: "%.1f", $0) } ?? "unknown"
            lines.append("view group \(show(group.name)): position \(group.position), lag \(lag), \(rate) events/s")
            var rows = [["topic", "part", "position", "verified", "end", "lag", "events/s", "updated"]]
            for partition in group.partitions { rows.append(cells(of: partition, show: show)) }
            let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
            for (index, row) in rows.enumerated() {
                let cells = row.enumerated().map { column, text in
                    let padding = String(repeating: " ", count: widths[column] - text.count)
                    return column == 0 || column == row.count - 1 ? text + padding : padding + text
                }
                lines.append("  " + cells.joined(separator: "  ").trimmingTrailingSpaces())
                guard index > 0 else { continue }
                let partition = group.partitions[index - 1]
                if let progress = partition.rebuildProgress {
                    lines.append("      rebuilding: \(String(format: "%.1f", progress * 100)) % read again")
                }
                if let problem = partition.problem { lines.append("      ! \(show(problem))") }
            }
        }
        lines.append("")
        let total = deadLetters.reduce(0) { $0 + $1.total }
        let notRedriven = deadLetters.reduce(0) { $0 + $1.notRedriven }
        lines.append("dead letters \(total) (\(notRedriven) not redriven)")
        let width = deadLetters.map { show($0.topic).count }.max() ?? 0
        for topic in deadLetters {
            let name = show(topic.topic)
            let last = topic.lastRecordedAt.map { ", last \(ClientsCommand.timestamp($0))" } ?? ""
            lines.append(
                "  \(name)\(String(repeating: " ", count: width - name.count))  \(topic.total) "
                    + "(\(topic.notRedriven) not redriven)\(last)")
        }
        if let lastError {
            let at = ClientsCommand.timestamp(lastError.at)
            lines.append("last error \(at) \(show(lastError.position)): \(show(lastError.detail))")
        }
        return lines
    }

    /// The table cells of one partition: what is unknown is "?", what has not begun "-".
    private func cells(of partition: Partition, show: (String) -> String) -> [String] {
        func number(_ value: Int64?, _ missing: String) -> String { value.map { String($0) } ?? missing }
        let rate = partition.eventsPerSecond.map { String(format: "%.1f", $0) } ?? "?"
        let updated = partition.updatedAt.map { Self.age(time.timeIntervalSince($0)) } ?? "-"
        return [
            show(partition.topicPartition.topic), String(partition.topicPartition.partition),
            number(partition.position, "-"), number(partition.verifiedThrough, "-"),
            number(partition.highWatermark, "?"), number(partition.lag, "?"), rate, updated,
        ]
    }

    /// How long ago, roughly: "3 s ago", "5 min ago", "2 h ago", "4 d ago".
    static func age(_ seconds: TimeInterval) -> String {
        duration(max(0, seconds)) + " ago"
    }

    /// A duration, roughly: "3 s", "5 min", "2 h", "4 d".
    static func duration(_ seconds: Double) -> String {
        switch seconds {
        case ..<120: "\(Int(seconds.rounded())) s"
        case ..<7_200: "\(Int((seconds / 60).rounded())) min"
        case ..<172_800: "\(Int((seconds / 3_600).rounded())) h"
        default: "\(Int((seconds / 86_400).rounded())) d"
        }
    }

    /// A duration in seconds.
    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

extension String {
    /// The text without the spaces at its end.
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
