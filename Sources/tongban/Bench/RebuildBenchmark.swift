import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections
import Synchronization
import SyntheticPopulation

/// `tongban bench rebuild`: a shadow rebuild (issue #21) of a million events while the live views serve and project.
///
/// On a Kafka mock cluster and a private `EmbeddedPostgres` cluster, both started for the run and removed after it
/// (never a configured database), in one run:
/// 1. publishes a signed synthetic population and projects it from zero with `tongban project` (a child process, as
///    in production) until it has caught up;
/// 2. starts the live projector again (another `tongban project` child, going on from its checkpoints), readers
///    (each with a connection of its own) asking the contract views questions whose answers were read beforehand,
///    and a trickle of copies of messages already published (duplicates: the views must not change);
/// 3. rebuilds the views in this process with ``ShadowRebuilder`` into the shadow copy and swaps it in;
/// 4. stops the trickle, lets the live projector catch up, and checks every contract view against what it was
///    before the rebuild (row count and a hash of the rows' text).
///
/// The report gives the rebuild's rate and times, how long the swap held readers and the live projector, what the
/// readers saw (latencies, failures, reads not ready or answered differently), and what the live projector applied
/// meanwhile.
enum RebuildBenchmark {
    /// What to run (`tongban bench rebuild --help` says what each is).
    struct Options: Sendable {
        /// Events to publish (about), partitions of each department topic, messages per batch and connections applying
        /// each batch (the projectors' and the rebuild's).
        var events, partitions, batchSize, applyConnections: Int
        /// Reader tasks, each with a PostgreSQL connection of its own.
        var readers: Int
        /// Reads per second offered by the readers together, and copies of published messages sent per second.
        var readsPerSecond, tricklePerSecond: Double
        /// `tongban rebuild --keep-ledger` rather than `--full`.
        var keepingLedger: Bool

        /// What is wrong with these options, in words, or nil.
        var problem: String? {
            let counts = [events, partitions, readers, batchSize, applyConnections]
            guard counts.allSatisfy({ $0 > 0 }), readsPerSecond > 0, tricklePerSecond >= 0 else {
                return "--events, --partitions, --readers, --reads-per-second, --batch-size and --apply-connections "
                    + "must be positive, --trickle-per-second not negative"
            }
            return nil
        }
    }

    /// The goal this benchmark sets itself for how long a swap may hold readers (issue #21 names no number).
    static let swapGoal = 1.0

    /// How a run ended: its report, and what went wrong (empty when nothing did).
    struct Outcome {
        /// The report, every figure on a line.
        var report: String
        /// Each way the run failed (reader failures, reads not ready or answered differently, views that changed).
        var problems: [String]
    }

    /// Runs the benchmark.
    /// - Parameters:
    ///   - options: sizes and rates.
    ///   - logger: for the stack and the rebuild.
    /// - Returns: the report and what went wrong.
    /// - Throws: when the stack cannot start, the projection or the rebuild fails, or the views were not brought up
    ///   to date after the swap.
    static func run(_ options: Options, logger: Logger) async throws -> Outcome {
        try await IngestBenchmark.onEmbeddedStack(logger: logger) { cluster, conninfo in
            try await measure(options, cluster: cluster, conninfo: conninfo, logger: logger)
        }
    }

    // MARK: - The run

    /// What the run measured, for the report.
    struct Measurements {
        var postgres = ""
        var postgresTag = ""
        var published = 0
        var people = 0
        var initial = IngestBenchmark.ProjectorRun(rate: 0, memory: [])
        var rebuild = RebuildTimes()
        var readersHeld = 0.0
        var writersHeld = 0.0
        var attempts = 0
        var reads = ReaderShare()
        var swapReads: [Double] = []
        /// When the rebuild started, in seconds from the readers' origin.
        var rebuildStart = 0.0
        var liveEvents: Int64 = 0
        var duplicatesSent = 0
        var views = 0
        var differing: [String] = []
    }

    private static func measure(
        _ options: Options, cluster: KafkaMockCluster, conninfo: String, logger: Logger
    ) async throws -> Outcome {
        let (published, topics) = try await IngestBenchmark.publishPopulation(
            events: options.events, partitions: options.partitions, to: cluster, logger: logger)
        let setup = PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 2), logger: logger)
        do {
            _ = try await TongbanMigrations.migrate(setup, logger: logger)
            var measured = Measurements()
            measured.published = published.messages
            measured.initial = try await IngestBenchmark.projectInChild(
                cluster: cluster, conninfo: conninfo, total: published.messages, batchSize: options.batchSize,
                applyConnections: options.applyConnections, label: "live")
            (measured.postgres, measured.postgresTag) = try await settings(setup)
            try await serveAndRebuild(
                options, into: &measured, cluster: cluster, topics: topics, conninfo: conninfo, setup: setup,
                logger: logger)
            await setup.shutdown()
            return Outcome(report: report(options, measured), problems: problems(measured))
        } catch {
            await setup.shutdown()
            throw error
        }
    }

    /// Steps 2 to 4: the live projector, the readers and the trickle around the rebuild, then the check of the views.
    private static func serveAndRebuild(
        _ options: Options, into measured: inout Measurements, cluster: KafkaMockCluster, topics: [String],
        conninfo: String, setup: PostgresClient, logger: Logger
    ) async throws {
        let before = try await IngestBenchmark.viewDigests(setup)
        guard !before.isEmpty else { throw BenchmarkError("no contract views to compare: are the migrations applied?") }
        let questions = try await Questions.read(setup, people: 1_000)
        guard !questions.people.isEmpty else { throw BenchmarkError("the views hold nobody to ask about") }
        measured.people = questions.people.count
        let copies = try await copiesOfPublished(
            cluster: cluster, topics: topics, count: min(measured.published, 20_000), logger: logger)

        say("starting the live projector, \(options.readers) readers and the trickle of duplicates…")
        let live = try IngestBenchmark.ProjectorChild(
            cluster: cluster, conninfo: conninfo, batchSize: options.batchSize,
            applyConnections: options.applyConnections, label: "serving")
        defer { live.abandon() }
        let origin = ContinuousClock.now
        let stopReading = CertificatesBenchmark.Flag()
        let stopTrickle = CertificatesBenchmark.Flag()
        let readers = (0..<options.readers).map { _ in
            Task {
                try await read(
                    questions, conninfo: conninfo, interval: Double(options.readers) / options.readsPerSecond,
                    origin: origin, until: stopReading, logger: logger)
            }
        }
        let trickle = Task {
            try await sendDuplicates(
                copies, perSecond: options.tricklePerSecond, cluster: cluster, until: stopTrickle, logger: logger)
        }
        let outcome: Result<Void, any Error>
        do {
            // The live projector must be applying the trickle before the rebuild starts, or it would not be "live".
            if options.tricklePerSecond > 0 {
                try await waitForOffsets(
                    above: Int64(measured.published), live: live, setup: setup, timeout: .seconds(120))
            }
            let timeline = try await rebuild(
                options, into: &measured, cluster: cluster, conninfo: conninfo, logger: logger)
            stopTrickle.set()
            measured.duplicatesSent = try await trickle.value
            say("swapped; letting the live projector apply the last of \(measured.duplicatesSent) duplicates…")
            try await waitForOffsets(
                above: Int64(measured.published + measured.duplicatesSent) - 1, live: live, setup: setup,
                timeout: .seconds(300))
            // The readers go on through the live projector's catching up after the swap.
            stopReading.set()
            for reader in readers { measured.reads.merge(try await reader.value) }
            measured.reads.latencies.sort { $0.seconds < $1.seconds }
            measured.swapReads = measured.reads.overlapping(timeline.swapWindow(from: origin)).sorted()
            measured.rebuildStart = (timeline.startedAt - origin).seconds
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        stopTrickle.set()
        stopReading.set()
        _ = await trickle.result
        for reader in readers { _ = await reader.result }
        await live.stop()
        try outcome.get()

        try await IngestBenchmark.checkRetention(cluster: cluster, topics: topics, logger: logger)
        let after = try await IngestBenchmark.viewDigests(setup)
        measured.views = before.count
        measured.differing = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
    }

    /// When the rebuild's phases began and ended, from its reports.
    final class Timeline: Sendable {
        private let state = Mutex(RebuildTimes())
        private let bar = Mutex(ProgressBar(label: "shadow rebuild", total: nil))
        private let started: ContinuousClock.Instant

        /// A timeline starting now.
        init() { started = .now }

        /// Records a report of ``ShadowRebuilder``, and draws the progress line.
        /// - Parameter report: the report.
        func record(_ report: ShadowRebuilder.Report) {
            let now = (ContinuousClock.now - started).seconds
            state.withLock { times in
                switch report.phase {
                case .reading:
                    if times.indexingStarted != nil && times.indexingEnded == nil { times.indexingEnded = now }
                case .indexing:
                    if times.indexingStarted == nil {
                        times.indexingStarted = now
                        times.readOffsets = report.progress.shadowOffsets
                        say(
                            "shadow caught up at \(report.progress.shadowOffsets) events in "
                                + String(format: "%.1f s", now) + "; building its deferred indexes…")
                    }
                case .swapping:
                    times.swapStarted = now
                    times.swapAttempts += 1
                }
            }
            bar.withLock { bar in
                bar.label = "shadow rebuild (\(report.phase.rawValue))"
                bar.total = Int(report.progress.liveOffsets)
                bar.update(Int(report.progress.shadowOffsets))
            }
        }

        /// The times recorded, with the end of the run.
        /// - Parameter ended: when the rebuild returned.
        /// - Returns: the times, in seconds from the start of the rebuild.
        func finish(ended: ContinuousClock.Instant) -> RebuildTimes {
            var times = state.withLock { $0 }
            times.wall = (ended - started).seconds
            times.startedAt = started
            bar.withLock { $0.finish(Int(times.readOffsets)) }
            return times
        }
    }

    /// The rebuild's phases, in seconds from its start.
    struct RebuildTimes: Sendable {
        /// When the rebuild started.
        var startedAt = ContinuousClock.now
        /// The shadow caught up the first time and its indexes began.
        var indexingStarted: Double?
        /// Its indexes were built (the next report).
        var indexingEnded: Double?
        /// The last swap attempt began.
        var swapStarted: Double?
        /// Swap attempts reported.
        var swapAttempts = 0
        /// The rebuild returned.
        var wall = 0.0
        /// Offsets the shadow had read when it first caught up.
        var readOffsets: Int64 = 0

        /// The reading phase's rate: the offsets read until the shadow first caught up, over that time.
        var readingRate: Double { Double(readOffsets) / max(indexingStarted ?? wall, 1e-9) }

        /// Seconds building the deferred indexes (and analyzing).
        var indexing: Double {
            guard let start = indexingStarted else { return 0 }
            return (indexingEnded ?? swapStarted ?? wall) - start
        }

        /// What the rebuild was doing `seconds` after it started.
        /// - Parameter seconds: seconds from the rebuild's start (negative: before it).
        /// - Returns: the phase, in words.
        func phase(at seconds: Double) -> String {
            let indexed = (indexingStarted ?? wall) + indexing
            switch seconds {
            case ..<0: return "before the rebuild"
            case ..<(indexingStarted ?? wall): return "while the shadow was read"
            case ..<indexed: return "during the index build"
            case ..<(swapStarted ?? wall): return "while the shadow caught up again"
            case ...wall: return "during the swap"
            default: return "after the swap"
            }
        }

        /// From the start of the last swap attempt to the rebuild's return, in seconds from `origin`.
        /// - Parameter origin: the readers' origin.
        /// - Returns: the window.
        func swapWindow(from origin: ContinuousClock.Instant) -> ClosedRange<Double> {
            let offset = (startedAt - origin).seconds
            return (offset + (swapStarted ?? wall))...(offset + wall)
        }
    }

    /// Rebuilds into the shadow and swaps it in, with a pool of its own as `tongban rebuild` has.
    private static func rebuild(
        _ options: Options, into measured: inout Measurements, cluster: KafkaMockCluster, conninfo: String,
        logger: Logger
    ) async throws -> RebuildTimes {
        var configuration = ProjectorConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), groupID: "bench-serving",
            catalog: try EventCatalog.embedded())
        configuration.batchSize = options.batchSize
        configuration.applyConnections = options.applyConnections
        let pool = PostgresClient(
            configuration: .init(conninfo: conninfo, maxConnections: options.applyConnections + 5), logger: logger)
        let liveBefore = try await liveOffsets(pool)
        say("rebuilding into \(ShadowRebuild.shadowSchema) (\(options.keepingLedger ? "keeping the ledger" : "full"))…")
        let timeline = Timeline()
        let outcome: ShadowRebuilder.Outcome
        do {
            outcome = try await ShadowRebuilder(
                configuration: configuration, database: pool, keys: DevKeys.registry, logger: logger
            ).run(keepingLedger: options.keepingLedger, reverifying: false, swapping: true) { timeline.record($0) }
        } catch {
            await pool.shutdown()
            throw error
        }
        let times = timeline.finish(ended: .now)
        await pool.shutdown()
        guard case .swapped(let readersHeld, let writersHeld, let attempts, let progress) = outcome else {
            throw BenchmarkError("the rebuild ended without swapping: \(outcome)")
        }
        measured.rebuild = times
        measured.readersHeld = readersHeld.seconds
        measured.writersHeld = writersHeld.seconds
        measured.attempts = attempts
        measured.liveEvents = progress.liveOffsets - liveBefore
        return times
    }

    /// This view group's live position, summed over the partitions.
    private static func liveOffsets(_ database: PostgresClient) async throws -> Int64 {
        try await database.query(
            "SELECT coalesce(sum(next_offset), 0)::bigint FROM tongban.checkpoint WHERE view_group = 'tongban.views'"
        )[0].decode(Int64.self, at: 0)
    }

    /// Waits until the live checkpoints sum to more than `offsets`, while the live projector runs.
    private static func waitForOffsets(
        above offsets: Int64, live: IngestBenchmark.ProjectorChild, setup: PostgresClient, timeout: Duration
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await liveOffsets(setup) <= offsets {
            guard live.process.isRunning else {
                throw BenchmarkError("tongban project exited with status \(live.process.terminationStatus)")
            }
            guard ContinuousClock.now < deadline else {
                throw BenchmarkError("the live projector did not pass \(offsets) offsets within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    // MARK: - The trickle

    /// The first `count` messages the department topics hold, as copies to send again to the same partitions.
    private static func copiesOfPublished(
        cluster: KafkaMockCluster, topics: [String], count: Int, logger: Logger
    ) async throws -> [KafkaProducerMessage] {
        let consumer = try KafkaConsumer(
            configuration: .init(kafka: .init(bootstrapServers: cluster.bootstrapServers), groupID: "bench-copies"),
            topics: topics, handler: .always(.beginning), logger: logger)
        var copies: [KafkaProducerMessage] = []
        do {
            while copies.count < count {
                for message in try await consumer.nextBatch(maxMessages: 5_000, maxWait: .milliseconds(100)) {
                    copies.append(
                        KafkaProducerMessage(
                            topic: message.topic, key: message.key, value: message.value,
                            partition: message.partition))
                }
            }
        } catch {
            await consumer.shutdown()
            throw error
        }
        await consumer.shutdown()
        return Array(copies.prefix(count))
    }

    /// Sends `copies` again, round and round, at `perSecond` messages a second until told to stop.
    /// - Returns: how many were stored.
    private static func sendDuplicates(
        _ copies: [KafkaProducerMessage], perSecond: Double, cluster: KafkaMockCluster,
        until stop: CertificatesBenchmark.Flag,
        logger: Logger
    ) async throws -> Int {
        guard perSecond > 0, !copies.isEmpty else { return 0 }
        var configuration = KafkaProducerConfiguration(kafka: .init(bootstrapServers: cluster.bootstrapServers))
        configuration.linger = .milliseconds(5)
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        let start = ContinuousClock.now
        var sent = 0
        do {
            while !stop.isSet {
                let due = Int(perSecond * (ContinuousClock.now - start).seconds)
                if due > sent {
                    let chunk = (sent..<due).map { copies[$0 % copies.count] }
                    let reports = try await producer.send(chunk)
                    if let failed = reports.first(where: { $0.error != nil }), let error = failed.error { throw error }
                    sent = due
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        } catch {
            await producer.shutdown(flushTimeout: .zero)
            throw error
        }
        await producer.shutdown()
        return sent
    }

    // MARK: - The readers

    /// Questions about people the views hold, with the answers they gave before the rebuild.
    struct Questions: Sendable {
        /// The day asked about (the server's day when they were read, fixed for the run).
        var day: String
        /// People, with the digest of their row of `v_identity` and of their `relations(person, day)`.
        var people: [(id: String, identity: String, relations: String)]

        /// Reads up to `people` people at random, and their answers.
        static func read(_ database: PostgresClient, people: Int) async throws -> Questions {
            let day = try await database.query("SELECT current_date::text")[0].decode(String.self, at: 0)
            let ids = try await database.query(
                "SELECT person_id FROM tongban.v_identity ORDER BY random() LIMIT \(people)"
            ).map { try $0.decode(String.self, at: 0) }
            var questions = Questions(day: day, people: [])
            try await database.withConnection { connection in
                for id in ids {
                    let identity = try await ask(.identity, about: id, day: day, on: connection)
                    let relations = try await ask(.relations, about: id, day: day, on: connection)
                    guard identity.ready && relations.ready else {
                        throw BenchmarkError("the views were not ready before the rebuild")
                    }
                    questions.people.append((id, identity.digest, relations.digest))
                }
            }
            return questions
        }
    }

    /// What a reader asks.
    enum Question {
        /// The person's row of `tongban.v_identity`.
        case identity
        /// Their rows of `tongban.relations(person, day)`.
        case relations
    }

    /// Asks one question, with `view_state()` in the same statement (one snapshot).
    /// - Returns: whether the views were ready, and the answer's row count and hash of its rows' text.
    private static func ask(_ question: Question, about person: String, day: String, on connection: PostgresConnection)
        async throws -> (ready: Bool, digest: String)
    {
        let rows: PostgresRows
        switch question {
        case .identity:
            rows = try await connection.query(
                """
                SELECT (SELECT ready FROM tongban.view_state()),
                    count(*)::text || ' ' || coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text
                FROM tongban.v_identity t WHERE t.person_id = \(person)
                """)
        case .relations:
            rows = try await connection.query(
                """
                SELECT (SELECT ready FROM tongban.view_state()),
                    count(*)::text || ' ' || coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text
                FROM tongban.relations(\(person), \(day)::date) t
                """)
        }
        return (try rows[0].decode(Bool.self, at: 0), try rows[0].decode(String.self, at: 1))
    }

    /// What one reader (or all of them) saw.
    struct ReaderShare: Sendable {
        /// Each read: when it was sent (seconds from the run's origin) and how long it took.
        var latencies: [(sent: Double, seconds: Double)] = []
        /// Each failed read's error.
        var failures: [String] = []
        /// Reads that found `view_state()` not ready.
        var notReady = 0
        /// Reads whose answer differed from the one before the rebuild, with an example.
        var wrong = 0
        var firstWrong: String?

        /// Adds another reader's share.
        mutating func merge(_ other: ReaderShare) {
            latencies += other.latencies
            failures += other.failures
            notReady += other.notReady
            wrong += other.wrong
            firstWrong = firstWrong ?? other.firstWrong
        }

        /// The latencies of the reads that were in flight at any moment of `window`.
        func overlapping(_ window: ClosedRange<Double>) -> [Double] {
            latencies.filter { $0.sent <= window.upperBound && $0.sent + $0.seconds >= window.lowerBound }
                .map(\.seconds)
        }
    }

    /// Asks questions over a connection of its own, one every `interval` seconds (no faster; when it falls behind it
    /// does not make up), until told to stop; every failure is recorded and the connection opened again.
    private static func read(
        _ questions: Questions, conninfo: String, interval: Double, origin: ContinuousClock.Instant,
        until stop: CertificatesBenchmark.Flag, logger: Logger
    ) async throws -> ReaderShare {
        var share = ReaderShare()
        var connection = try await PostgresConnection.connect(conninfo, logger: logger)
        var due = ContinuousClock.now
        var asked = Int.random(in: 0..<2)
        while !stop.isSet {
            if due > .now { try await Task.sleep(for: due - .now) }
            due = max(due + .seconds(interval), .now)
            let person = questions.people[Int.random(in: 0..<questions.people.count)]
            let question: Question = asked % 2 == 0 ? .identity : .relations
            asked += 1
            let sent = ContinuousClock.now
            do {
                let answer = try await ask(question, about: person.id, day: questions.day, on: connection)
                share.latencies.append(((sent - origin).seconds, (ContinuousClock.now - sent).seconds))
                if !answer.ready { share.notReady += 1 }
                let expected = question == .identity ? person.identity : person.relations
                if answer.digest != expected {
                    share.wrong += 1
                    share.firstWrong =
                        share.firstWrong ?? "\(question) of \(person.id): \(answer.digest), before \(expected)"
                }
            } catch {
                share.failures.append("\(error)")
                if await !connection.isUsable {
                    await connection.close()
                    connection = try await PostgresConnection.connect(conninfo, logger: logger)
                }
            }
        }
        await connection.close()
        return share
    }

    // MARK: - The report

    /// What PostgreSQL runs with: in full, and the few settings that matter for the figures.
    private static func settings(_ database: PostgresClient) async throws -> (full: String, tag: String) {
        let names = [
            "fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_wal_size", "max_connections",
        ]
        let rows = try await database.query(
            """
            SELECT current_setting('server_version'),
                string_agg(name || '=' || current_setting(name), ', ' ORDER BY ordinality)
            FROM unnest(\(names)::text[]) WITH ORDINALITY AS name
            """)
        let version = try rows[0].decode(String.self, at: 0)
        let listed = try rows[0].decode(String.self, at: 1)
        let short = listed.split(separator: ", ").prefix(3).joined(separator: ", ")
        return (
            "PostgreSQL \(version), embedded (a private cluster for this run), \(listed)",
            "[embedded PostgreSQL \(version.split(separator: " ").first ?? ""), \(short)]"
        )
    }

    /// Each way the run failed, in words.
    static func problems(_ m: Measurements) -> [String] {
        var problems: [String] = []
        if !m.reads.failures.isEmpty {
            problems.append("\(m.reads.failures.count) reads failed, the first: \(m.reads.failures[0])")
        }
        if m.reads.notReady > 0 { problems.append("\(m.reads.notReady) reads found view_state() not ready") }
        if m.reads.wrong > 0 {
            problems.append("\(m.reads.wrong) reads were answered differently, the first: \(m.reads.firstWrong ?? "")")
        }
        if m.reads.latencies.isEmpty { problems.append("no read was answered") }
        if !m.differing.isEmpty {
            problems.append(
                "after the swap these views differ from before the rebuild: " + m.differing.joined(separator: ", "))
        }
        return problems
    }

    /// The report: what ran, then each figure, with PostgreSQL's settings on every line.
    static func report(_ options: Options, _ m: Measurements) -> String {
        let table = BenchReport(nameWidth: 50, goalWidth: 14)
        let tag = m.postgresTag
        // Name, value, goal, ratio and verdict, padded, then what PostgreSQL ran with.
        func line(_ row: String) -> String {
            let width = table.nameWidth + table.goalWidth + 34
            return row + String(repeating: " ", count: max(1, width - row.count)) + tag
        }
        func zero(_ name: String, _ count: Int) -> String {
            line(table.row(name, "\(count)", goal: "= 0", met: count == 0))
        }
        func held(_ name: String, _ seconds: Double) -> String {
            line(
                table.row(
                    name, table.ms(seconds), goal: "≤ " + table.ms(swapGoal), ratio: seconds / swapGoal,
                    met: seconds <= swapGoal))
        }
        let times = m.rebuild
        let latencies = m.reads.latencies.map(\.seconds)
        let readSeconds = max(m.reads.latencies.map { $0.sent + $0.seconds }.max() ?? 0, 1e-9)
        func count(_ value: Int64, per seconds: Double) -> String {
            "\(value) at " + String(format: "%.0f/s", Double(value) / max(seconds, 1e-9))
        }
        let slowest = m.reads.latencies.max { $0.seconds < $1.seconds }
        let slowestWhen = slowest.map {
            "  the slowest read (\(table.ms($0.seconds))) was sent "
                + String(format: "%.2f s into the rebuild, ", $0.sent - m.rebuildStart)
                + times.phase(at: $0.sent - m.rebuildStart)
        }
        var lines = [
            "tongban bench rebuild: a \(options.keepingLedger ? "shadow rebuild keeping the ledger" : "full shadow rebuild") "
                + "while the live views serve and project",
            "  \(m.postgres)",
            "  \(m.published) events (\(m.people) people asked about); \(options.partitions) partitions per topic; batches "
                + "of \(options.batchSize) on \(options.applyConnections) connections; live projector: tongban project "
                + "(a child process); rebuild: ShadowRebuilder in this process; \(options.readers) readers, "
                + "\(Int(options.readsPerSecond)) reads/s offered, in this process",
            "  limits: issue #21 names none; the 1 s goal for the swap is this bench's own",
            "",
            table.header,
            line(table.row("live projection from zero (verifying)", table.perSecond(m.initial.rate, "events/s"))),
            line(table.row("shadow rebuild, reading", table.perSecond(times.readingRate, "events/s"))),
            line(
                table.row(
                    "  offsets read until first caught up", "\(times.readOffsets)")),
            line(table.row("  reading time", String(format: "%.2f s", times.indexingStarted ?? times.wall))),
            line(table.row("shadow rebuild, index build", String(format: "%.2f s", times.indexing))),
            line(table.row("shadow rebuild, wall time incl. indexes and swap", String(format: "%.2f s", times.wall))),
            held("swap: readers held", m.readersHeld),
            line(table.row("swap: live projector held", table.ms(m.writersHeld))),
            line(table.row("swap: attempts", "\(m.attempts)")),
            line(table.row("reads", count(Int64(latencies.count), per: readSeconds))),
            zero("reader failures", m.reads.failures.count),
            zero("reads with view_state() not ready", m.reads.notReady),
            zero("reads answered differently from before", m.reads.wrong),
            line(table.row("read latency p50", table.ms(latencies.percentile(0.5)))),
            line(table.row("read latency p99", table.ms(latencies.percentile(0.99)))),
            line(table.row("read latency max", table.ms(latencies.last ?? .nan))),
            held("slowest read overlapping the swap", m.swapReads.last ?? 0),
            line(table.row("  reads overlapping the swap", "\(m.swapReads.count)")),
            line(table.row("live projector, events during the rebuild", count(m.liveEvents, per: times.wall))),
            line(table.row("duplicates sent (\(Int(options.tricklePerSecond))/s offered)", "\(m.duplicatesSent)")),
            line(
                table.row(
                    "contract views equal to before the rebuild", "\(m.views - m.differing.count) of \(m.views)",
                    goal: "all", met: m.differing.isEmpty)),
            "",
            slowestWhen ?? "  no read was answered",
            "  reading: from the rebuild's start (shadow created\(options.keepingLedger ? ", ledger copied" : "")) to the "
                + "shadow first reaching the live position; wall time: to the swap's commit. Readers held: from every "
                + "view table taken to the commit; live projector held: from its pause to the commit. A read overlaps "
                + "the swap when it was in flight between the last swap attempt's start and the commit.",
            "  reads run from before the rebuild to the live projector's catching up after it; each read checks "
                + "view_state() in the same statement, and its answer against the one read before the rebuild; the "
                + "duplicates are copies of messages already published (same partition, key and value)",
        ]
        #if DEBUG
            lines.insert(
                "note: a debug build; run `swift run -c release tongban bench rebuild` for real figures", at: 0)
        #endif
        return lines.joined(separator: "\n")
    }
}
