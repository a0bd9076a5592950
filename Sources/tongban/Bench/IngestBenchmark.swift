import Crypto
import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections
import SyntheticPopulation

/// `tongban bench ingest`: the projector against its raw limits, in one run.
///
/// Publishes a signed synthetic population to an embedded Kafka cluster, then measures, on the same topics:
/// 1. raw consume (a consumer that only counts);
/// 2. `tongban project` (a child process, as in production) with signature verification, from zero;
/// 3. the same after `ViewStore.resetForRebuild` (rebuild mode: below the verified watermark nothing is verified),
///    first a full rebuild (the ledger too), then one keeping the ledger (only the facts are written again);
/// 4. the machine's raw Ed25519 verify rate on all cores, over canonical bytes of the same events (before and after
///    run 2).
/// The projector's resident memory is read from `/proc` when it passes 100k, 250k, 500k and 750k events and at the end.
/// After each rebuild, outside the timed runs, every contract view must equal what the verifying run left (row count and
/// a hash of the rows' text), or the benchmark fails.
enum IngestBenchmark {
    struct Options {
        var events: Int
        var partitions: Int
        var batchSize: Int
        var applyConnections: Int
    }

    /// Runs the benchmark on a Kafka mock cluster and a private `EmbeddedPostgres` cluster, both started for the run
    /// and removed after it (never on a configured database: the rebuild runs empty the views and the ledger).
    static func run(_ options: Options, logger: Logger) async throws -> [BenchmarkFigure] {
        try await onEmbeddedStack(logger: logger) { cluster, conninfo in
            try await run(options, cluster: cluster, conninfo: conninfo, logger: logger)
        }
    }

    /// Runs `body` on a Kafka mock cluster and a private `EmbeddedPostgres` cluster (room for a million events' WAL
    /// and tables in memory), both started for it and removed after it, whether it returns or throws.
    /// - Parameters:
    ///   - logger: for the stack's events.
    ///   - body: the benchmark, given the cluster and the server's conninfo.
    /// - Returns: what `body` returns.
    /// - Throws: when the stack cannot start, or what `body` throws.
    static func onEmbeddedStack<T>(
        logger: Logger, _ body: (KafkaMockCluster, String) async throws -> T
    ) async throws -> T {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        do {
            var configuration = EmbeddedPostgres.Configuration()
            configuration.settings["max_wal_size"] = "4GB"
            configuration.settings["shared_buffers"] = "512MB"
            let server = try await EmbeddedPostgres.start(configuration, logger: logger)
            let value: T
            do {
                value = try await body(cluster, server.conninfo())
            } catch {
                try? await server.stop()
                throw error
            }
            try await server.stop()
            await cluster.shutdown()
            return value
        } catch {
            await cluster.shutdown()
            throw error
        }
    }

    private static func run(
        _ options: Options, cluster: KafkaMockCluster, conninfo: String, logger: Logger
    ) async throws -> [BenchmarkFigure] {
        let (published, topics) = try await publishPopulation(
            events: options.events, partitions: options.partitions, to: cluster, logger: logger)
        let total = published.messages

        var figures: [BenchmarkFigure] = []
        let raw = try await rawConsume(cluster: cluster, topics: topics, total: total, logger: logger)
        figures.append(
            BenchmarkFigure(
                name: "raw consume", value: raw.rate, unit: "events/s",
                note: "one consumer, no processing, group join excluded; CPU per event (consumer and brokers) "
                    + String(format: "%.1f µs", raw.cpuMicros)))

        let database = PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 2), logger: logger)
        _ = try await TongbanMigrations.migrate(database, logger: logger)
        // This VM's verify rate drifts by up to 2× within an hour: the bound is measured on both sides of the
        // verifying run, and the ratio is given against their mean and their range.
        let before = Ed25519Bound.measure(sample: published.sample)
        let verified = try await projectInChild(
            cluster: cluster, conninfo: conninfo, total: total, batchSize: options.batchSize,
            applyConnections: options.applyConnections, label: "verified")
        let after = Ed25519Bound.measure(sample: published.sample)
        let bound = (before.perSecond + after.perSecond) / 2
        figures.append(
            BenchmarkFigure(
                name: "Ed25519 verify bound (\(before.cores) cores)", value: bound, unit: "sigs/s",
                note: "swift-crypto alone over the canonical bytes of \(published.sample.count) of these events; mean "
                    + "of \(Int(before.perSecond)) before and \(Int(after.perSecond)) after the verifying run"))
        let spread = [before.perSecond, after.perSecond].sorted()
        figures.append(
            BenchmarkFigure(
                name: "projector, verifying", value: verified.rate, unit: "events/s",
                note: "from zero: validate + verify + apply; \(ratio(verified.rate, bound)) of the verify bound "
                    + "(\(ratio(verified.rate, spread[1]))–\(ratio(verified.rate, spread[0])) against either "
                    + "measurement; goal ≥ 0.80); \(verified.cpu)"))

        // Each rebuild must give the views the verifying run gave (checked outside the timed runs).
        let live = try await viewDigests(database)
        guard !live.isEmpty else { throw BenchmarkError("no contract views to compare: are the migrations applied?") }
        var rebuilds: [(String, ProjectorRun)] = []
        for keepingLedger in [false, true] {
            try await database.withConnection {
                try await ViewStore().resetForRebuild(keepingLedger: keepingLedger, on: $0)
            }
            let label = keepingLedger ? "rebuild-facts" : "rebuild"
            let rebuilt = try await projectInChild(
                cluster: cluster, conninfo: conninfo, total: total, batchSize: options.batchSize,
                applyConnections: options.applyConnections, label: label)
            rebuilds.append((label, rebuilt))
            let differing = try await viewDigests(database).filter { live[$0.key] != $0.value }.keys.sorted()
            guard differing.isEmpty else {
                throw BenchmarkError(
                    "after the \(label) run these views differ from the verifying run's: "
                        + differing.joined(separator: ", "))
            }
            figures.append(
                BenchmarkFigure(
                    name: keepingLedger ? "projector, rebuild keeping the ledger" : "projector, rebuild mode",
                    value: rebuilt.rate, unit: "events/s",
                    note: (keepingLedger
                        ? "facts only, decisions read from the ledger; "
                        : "ledger and facts, every event decided again; ")
                        + "below the verified watermark; \(ratio(rebuilt.rate, raw.rate)) of raw consume (goals ≥ "
                        + "100,000/s and ≥ 0.50); "
                        + String(format: "including %.1f s building the deferred indexes; ", rebuilt.indexSeconds)
                        + rebuilt.cpu))
        }
        await database.shutdown()
        figures.append(
            BenchmarkFigure(
                name: "views after each rebuild", value: Double(live.count), unit: "views",
                note: "contract views checked equal to the verifying run's (row count and hash of the rows' text)"))
        for (name, run) in [("verifying", verified)] + rebuilds {
            for (events, kilobytes) in run.memory {
                figures.append(
                    BenchmarkFigure(
                        name: "projector RSS (\(name)) at \(events / 1_000)k", value: Double(kilobytes) / 1_024,
                        unit: "MiB", note: "resident set of the tongban project process"))
            }
        }
        return figures
    }

    /// Every contract view's row count and an order-independent hash of its rows' text, by view.
    static func viewDigests(_ database: PostgresClient) async throws -> [String: String] {
        let views = try await database.withConnection { try await ViewStore.contractViews(on: $0) }
        var digests: [String: String] = [:]
        for view in views {
            let rows = try await database.query(
                """
                SELECT count(*)::text || ' ' || coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text
                FROM tongban.\(identifier: view) t
                """)
            digests[view] = try rows[0].decode(String.self, at: 0)
        }
        return digests
    }

    static func ratio(_ value: Double, _ bound: Double) -> String {
        String(format: "%.2f", value / max(bound, 1))
    }

    // MARK: - Publishing

    struct Published {
        var messages: Int
        var megabytes: Int
        /// Some of the signed events, for the Ed25519 bound.
        var sample: [[UInt8]]
    }

    /// Creates the department topics (`partitions` each) and the dead-letter topic, publishes about `events` signed
    /// events to them, and checks that the cluster kept every one.
    /// - Parameters:
    ///   - events: how many events, about (a population of events/35 people).
    ///   - partitions: partitions of each department topic.
    ///   - cluster: the mock cluster.
    ///   - logger: for the producer.
    /// - Returns: what was published, and the department topics, sorted.
    /// - Throws: when publishing fails, or when the cluster's retention dropped any of it.
    static func publishPopulation(
        events: Int, partitions: Int, to cluster: KafkaMockCluster, logger: Logger
    ) async throws -> (Published, topics: [String]) {
        let catalog = try EventCatalog.embedded()
        let topics = Array(Set(catalog.topics.values)).sorted()
        for topic in topics { try await cluster.createTopic(topic, partitions: partitions) }
        try await cluster.createTopic(catalog.deadLetterTopic, partitions: 2)

        say("generating and publishing about \(events) signed events…")
        let published = try await publish(events: events, to: cluster, logger: logger)
        try await checkRetention(cluster: cluster, topics: topics, logger: logger)
        say(
            "published \(published.messages) events (\(published.megabytes) MiB as JSON) to \(topics.count) topics × "
                + "\(partitions) partitions")
        return (published, topics)
    }

    /// Generates a signed population into a temporary file, then publishes it in chunks (memory stays bounded).
    static func publish(events: Int, to cluster: KafkaMockCluster, logger: Logger) async throws -> Published {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-ingest-\(UUID()).tsv")
        defer { try? FileManager.default.removeItem(at: path) }
        guard FileManager.default.createFile(atPath: path.path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path.path)
        else { throw BenchmarkError("cannot write \(path.path)") }
        var writer = BufferedWriter(handle: handle)
        var configuration = PopulationConfiguration(people: max(1, events / 35), seed: 7)
        configuration.signingKeys = DevKeys.all
        var sample: [[UInt8]] = []
        var bytes = 0
        var count = 0
        _ = try PopulationGenerator(configuration).generate { event in
            try writer.write(Array("\(event.topic)\t\(event.key)\t".utf8))
            try writer.write(event.line)
            try writer.write([UInt8(ascii: "\n")])
            if sample.count < 20_000 && count % 7 == 0 { sample.append(event.line) }
            bytes += event.line.count
            count += 1
        }
        try writer.close()

        var producerConfiguration = KafkaProducerConfiguration(kafka: .init(bootstrapServers: cluster.bootstrapServers))
        producerConfiguration.linger = .milliseconds(20)
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        do {
            guard let data = FileManager.default.contents(atPath: path.path) else {
                throw BenchmarkError("cannot read \(path.path)")
            }
            var chunk: [KafkaProducerMessage] = []
            chunk.reserveCapacity(50_000)
            for line in data.split(separator: UInt8(ascii: "\n")) {
                let fields = line.split(separator: UInt8(ascii: "\t"), maxSplits: 2)
                guard fields.count == 3 else { continue }
                chunk.append(
                    KafkaProducerMessage(
                        topic: String(decoding: fields[0], as: UTF8.self), key: Array(fields[1]),
                        value: Array(fields[2])))
                if chunk.count == 50_000 {
                    try await send(chunk, producer)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            try await send(chunk, producer)
        } catch {
            await producer.shutdown(flushTimeout: .zero)
            throw error
        }
        await producer.shutdown()
        return Published(messages: count, megabytes: bytes >> 20, sample: sample)
    }

    private static func send(_ messages: [KafkaProducerMessage], _ producer: KafkaProducer) async throws {
        guard !messages.isEmpty else { return }
        let reports = try await producer.send(messages)
        if let failed = reports.first(where: { $0.error != nil }), let error = failed.error { throw error }
    }

    /// The mock cluster drops the oldest batches of a partition beyond 5 MiB: a replay from zero must still see
    /// offset 0 everywhere.
    static func checkRetention(cluster: KafkaMockCluster, topics: [String], logger: Logger) async throws {
        let admin = try KafkaAdmin(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        var lost: [String] = []
        for topic in topics {
            for offsets in (try? await admin.partitionOffsets(topic: topic)) ?? [] where offsets.earliest > 0 {
                lost.append("\(topic)[\(offsets.partition)] lost its first \(offsets.earliest) messages")
            }
        }
        await admin.shutdown()
        if !lost.isEmpty {
            throw BenchmarkError(
                lost.joined(separator: ", ") + " to the mock cluster's 5 MiB per partition: use more --partitions or "
                    + "fewer --events")
        }
    }

    // MARK: - Measurements

    /// Messages per second of a consumer that only counts, from its first message to the last.
    static func rawConsume(
        cluster: KafkaMockCluster, topics: [String], total: Int, logger: Logger
    ) async throws -> (rate: Double, cpuMicros: Double) {
        let consumer = try KafkaConsumer(
            configuration: .init(kafka: .init(bootstrapServers: cluster.bootstrapServers), groupID: "bench-raw"),
            topics: topics, handler: .always(.beginning), logger: logger)
        var count = 0
        var start: ContinuousClock.Instant?
        var startCPU = ProcessCPU.snapshot()
        var counted = 0
        do {
            while count < total {
                let batch = try await consumer.nextBatch(maxMessages: 10_000, maxWait: .milliseconds(100))
                if start == nil && !batch.isEmpty {
                    start = .now
                    startCPU = ProcessCPU.snapshot()
                    counted = batch.count
                }
                count += batch.count
            }
        } catch {
            await consumer.shutdown()
            throw error
        }
        let seconds = (ContinuousClock.now - (start ?? .now)).seconds
        let cpu = (ProcessCPU.snapshot().benchmark - startCPU.benchmark) * 1e6 / Double(max(count - counted, 1))
        await consumer.shutdown()
        return (Double(count - counted) / max(seconds, 1e-9), cpu)
    }

    struct ProjectorRun {
        var rate: Double
        /// (events projected, resident kilobytes) when the projector passed 100k events, and at the end.
        var memory: [(Int, Int)]
        /// Where the CPU went, per event, from the first commit to the last.
        var cpu = ""
        /// Seconds from the last checkpoint reaching the end to the deferred indexes being built (a rebuild).
        var indexSeconds = 0.0

    }

    /// Runs `tongban project` as a child process until the checkpoints reach `total`, and measures it from its
    /// first commit (group join excluded) to the last.
    static func projectInChild(
        cluster: KafkaMockCluster, conninfo: String, total: Int, batchSize: Int, applyConnections: Int,
        label: String
    ) async throws -> ProjectorRun {
        let child = try ProjectorChild(
            cluster: cluster, conninfo: conninfo, batchSize: batchSize, applyConnections: applyConnections,
            label: label)
        defer { child.abandon() }
        let process = child.process

        let connection = try await PostgresConnection.connect(conninfo, logger: Logger(label: "bench"))
        var first: (ContinuousClock.Instant, Int)?
        var firstCPU = ProcessCPU.snapshot()
        var memory: [(Int, Int)] = []
        // Resident memory at these points too, to tell a plateau from growth.
        var milestones = [100_000, 250_000, 500_000, 750_000].filter { $0 < total }
        var done = 0
        var progress = ProgressBar(label: label, total: total)
        // A rebuild has ended when the indexes it deferred are built too.
        var deferred = 0
        var caughtUp: ContinuousClock.Instant?
        do {
            while done < total || deferred > 0 {
                guard process.isRunning else {
                    throw BenchmarkError("tongban project exited with status \(process.terminationStatus)")
                }
                try await Task.sleep(for: .milliseconds(50))
                let rows = try await connection.query(
                    """
                    SELECT coalesce(sum(next_offset), 0)::bigint, (SELECT count(*) FROM tongban.rebuild_deferred)
                    FROM tongban.checkpoint WHERE view_group = 'tongban.views'
                    """)
                done = Int(try rows[0].decode(Int64.self, at: 0))
                deferred = Int(try rows[0].decode(Int64.self, at: 1))
                if first == nil && done > 0 {
                    first = (.now, done)
                    firstCPU = ProcessCPU.snapshot(child: process.processIdentifier)
                }
                if let milestone = milestones.first, done >= milestone,
                    let rss = residentKilobytes(process.processIdentifier)
                {
                    memory.append((done, rss))
                    milestones.removeAll { $0 <= done }
                }
                if done >= total && caughtUp == nil { caughtUp = .now }
                progress.update(done)
            }
        } catch {
            progress.finish(done)
            await connection.close()
            throw error
        }
        let end = ContinuousClock.now
        let endCPU = ProcessCPU.snapshot(child: process.processIdentifier)
        progress.finish(done)
        if let rss = residentKilobytes(process.processIdentifier) { memory.append((done, rss)) }
        await connection.close()
        await child.stop()
        guard let first, done > first.1 else { return ProjectorRun(rate: 0, memory: memory) }
        return ProjectorRun(
            rate: Double(done - first.1) / max((end - first.0).seconds, 1e-9), memory: memory,
            cpu: ProcessCPU.perEvent(from: firstCPU, to: endCPU, events: done - first.1, childName: "projector"),
            indexSeconds: (end - (caughtUp ?? end)).seconds)
    }

    /// `tongban project` as a child process (as in production) on the benchmark's stack, with the key file it reads.
    final class ProjectorChild {
        /// The running child.
        let process: Process
        /// The development keys' file it was given (removed when it is stopped).
        private let keys: URL

        /// Starts the child: consumer group `bench-<label>`, development keys allowed, no metrics, no migrations.
        /// - Parameters:
        ///   - cluster: the mock cluster, in place of any configured Kafka.
        ///   - conninfo: the embedded server, given in the child's environment only, never as arguments.
        ///   - batchSize: `--batch-size`.
        ///   - applyConnections: `--apply-connections`.
        ///   - label: names its consumer group and its key file.
        /// - Throws: when the key file cannot be written or the child cannot start.
        init(cluster: KafkaMockCluster, conninfo: String, batchSize: Int, applyConnections: Int, label: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            process.arguments = [
                "project", "--allow-development-keys", "--no-metrics", "--no-migrate", "--batch-size",
                String(batchSize), "--apply-connections", String(applyConnections),
                "--group", "bench-\(label)", "--log-level", "warning",
            ]
            // The embedded cluster goes to the child in its environment only, never as arguments, in place of any PG*
            // variable or DATABASE_URL it would inherit; the mock cluster in place of any configured Kafka.
            var environment = try ChildEnvironment.connecting(to: conninfo)
            environment["KAFKA_PROPERTIES"] = nil
            environment["KAFKA_BOOTSTRAP_SERVERS"] = cluster.bootstrapServers
            // This run's development keys (the population was signed with them), in a file the child reads.
            keys = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-bench-keys-\(label).jwks")
            try Data((DevKeys.registry.jwks + "\n").utf8).write(to: keys)
            environment["TONGBAN_DEPARTMENT_KEYS"] = keys.path
            process.environment = environment
            do {
                try process.run()
            } catch {
                try? FileManager.default.removeItem(at: keys)
                throw error
            }
            self.process = process
        }

        /// Stops the child gracefully (SIGTERM: the batch in hand commits), waits for it, and removes its key file.
        func stop() async {
            process.terminate()
            // Polled, not `waitUntilExit()`: that would block a thread of the cooperative pool.
            while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
            try? FileManager.default.removeItem(at: keys)
        }

        /// Kills the child if it still runs (a benchmark that failed) and removes its key file.
        func abandon() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(at: keys)
        }
    }

    /// VmRSS of a process, in KiB.
    static func residentKilobytes(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }
}

/// The machine's raw Ed25519 verification rate on all cores: the bound for verified ingest.
enum Ed25519Bound {
    /// Verifies signatures over the canonical bytes of `sample` (re-signed with one key) on every core for a few
    /// seconds.
    static func measure(sample: [[UInt8]]) -> (perSecond: Double, cores: Int) {
        let key = Curve25519.Signing.PrivateKey()
        let messages = sample.prefix(4_000).compactMap { line -> [UInt8]? in
            guard let envelope = try? JSONParser.parse(line).objectValue else { return nil }
            return try? EventSignatures.signingBytes(of: envelope)
        }
        let signatures = messages.compactMap { try? key.signature(for: $0) }
        // The raw bytes cross threads; each thread makes its own key from them.
        let publicKeyBytes = key.publicKey.rawRepresentation
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let rounds = max(1, 40_000 / max(messages.count, 1))
        let start = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: cores) { _ in
            guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKeyBytes) else { return }
            for _ in 0..<rounds {
                for (message, signature) in zip(messages, signatures) {
                    _ = publicKey.isValidSignature(signature, for: message)
                }
            }
        }
        let seconds = (ContinuousClock.now - start).seconds
        return (Double(messages.count * rounds * cores) / max(seconds, 1e-9), cores)
    }
}
