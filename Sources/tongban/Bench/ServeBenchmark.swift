import API
import APIServer
import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections
import ServiceLifecycle
import SyntheticPopulation

/// `tongban bench serve`: the certificate services' server under load, against the goals of issue #19.
///
/// A synthetic population is projected into a private `EmbeddedPostgres` cluster (never a configured database), a
/// client is registered, and the real server runs in this process on a free loopback port, the audit log on. The
/// load generator (``HTTPLoad``, on threads of its own) asks kinship questions, and pre-fill questions once that
/// endpoint answers 200, over HTTP/1.1 keep-alive connections:
/// 1. a warm-up;
/// 2. back to back on every connection: the throughput at saturation;
/// 3. at a fixed offered rate (1,000/s by default): p50, p99 and p99.9, timed from when each request was due;
/// 4. the same questions without HTTP, tokens or audit (``BareQuestions``) over as many PostgreSQL connections as
///    the server's pool has: the database's own limit.
///
/// Every request sent is checked against the audit log at the end.
enum ServeBenchmark {
    /// What to run.
    struct Options: Sendable {
        var people = 10_000
        var seed: UInt64 = 19
        var seconds = 10.0
        var warmupSeconds = 3.0
        var rate = 1_000.0
        var connections = 32
        var databaseConnections = 8
    }

    /// The goals of issue #19 on a 2-core machine.
    enum Goal {
        static let p99AtRate = 0.002
        static let saturation = 5_000.0
        static let shareOfBareSQL = 0.7
    }

    /// What one run measured, for the report.
    struct Measurements {
        var postgres: String
        var population: String
        var mix: String
        var saturation: HTTPLoad.Result
        var fixedRate: HTTPLoad.Result
        var bare: BareFigures
        /// CPU per question answered at saturation.
        var cpuPerQuestion: CPUShare
        /// HTTP requests sent in all (the token, the pre-fill probe and every phase).
        var sent: Int
        /// What the audit log holds afterwards, in words.
        var audit = ""
    }

    /// Runs the benchmark and returns its report.
    /// - Parameters:
    ///   - options: sizes and durations.
    ///   - logger: for the stack's events.
    /// - Returns: the report, every figure with its goal and ratio.
    /// - Throws: when the stack cannot start, or when any request is not answered 200 (the figures would mean
    ///   nothing).
    static func run(_ options: Options, logger: Logger) async throws -> String {
        let server = try await EmbeddedPostgres.start(logger: logger)
        do {
            let measurements = try await measure(
                options, conninfo: server.conninfo(), cluster: try ClusterCPU(server), logger: logger)
            try await server.stop()
            return report(options, measurements)
        } catch {
            try? await server.stop()
            throw error
        }
    }

    /// The population's events, signed, and its expected answers (whose sample gives the questions).
    private static func generate(_ options: Options) throws -> ([GeneratedEvent], ExpectedAnswers) {
        var configuration = PopulationConfiguration(people: options.people, seed: options.seed)
        configuration.signingKeys = DevKeys.all
        say("generating a population of \(options.people) people…")
        var events: [GeneratedEvent] = []
        let expected = try PopulationGenerator(configuration).generate { events.append($0) }
        return (events.filter(\.shouldBeApplied), expected)
    }

    private static func measure(
        _ options: Options, conninfo: String, cluster: ClusterCPU, logger: Logger
    ) async throws -> Measurements {
        let setup = PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 1), logger: logger)
        do {
            let measurements = try await measure(
                options, conninfo: conninfo, cluster: cluster, setup: setup, logger: logger)
            await setup.shutdown()
            return measurements
        } catch {
            await setup.shutdown()
            throw error
        }
    }

    private static func measure(
        _ options: Options, conninfo: String, cluster: ClusterCPU, setup: PostgresClient, logger: Logger
    ) async throws -> Measurements {
        _ = try await TongbanMigrations.migrate(setup, logger: logger)
        var (events, expected) = try generate(options)
        try await project(events, on: setup)
        // The statistics autovacuum keeps on a serving database: without them the planner takes every table for
        // empty, and the plans it caches per connection read whole tables.
        try await setup.execute("ANALYZE")
        let population = "\(expected.people) people, \(events.count) events applied"
        events = []  // not needed any more: the memory goes back before the load
        let postgres = try await settings(setup)
        let registration = try await ClientRegistry(database: setup, logger: logger).register(
            name: "bench serve", scopes: [.kinship, .prefill], purposes: ["bench"], requestsPerSecond: 100_000)

        let pool = PostgresClient(
            configuration: .init(
                conninfo: try CertificateServicesServer.databaseConnectionString(conninfo),
                maxConnections: options.databaseConnections), logger: logger)
        let audit = AuditLog(client: pool, logger: logger)
        var configuration = CertificateServicesServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.tokenLifetime = .seconds(3_600)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = try await CertificateServicesServer.application(
            configuration: configuration, database: pool, tokenKey: TokenSigningKey.generateForDevelopment(),
            audit: audit, logger: logger, onServerRunning: { portSink.yield($0) })
        let group = ServiceGroup(services: [pool, audit, app], logger: logger)
        let running = Task {
            defer { portSink.finish() }  // a server that cannot start ends the wait for its port
            try await group.run()
        }
        do {
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CommandFailure("the server did not start") }
            var measurements = try await drive(
                options, port: port, registration: registration, expected: expected, pool: pool,
                cluster: cluster, postgres: postgres, population: population)
            await group.triggerGracefulShutdown()
            try await running.value
            let rows = try await setup.query("SELECT count(*) FROM tongban.audit_log")[0].decode(Int.self, at: 0)
            guard rows == measurements.sent else {
                throw CommandFailure(
                    "the audit log holds \(rows) entries, but \(measurements.sent) requests were sent")
            }
            measurements.audit =
                "\(rows) entries, one per request sent, appended in \(audit.committedTransactions) transactions"
            return measurements
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
    }

    /// Applies the events as the projector would (one partition per topic), with checkpoints at their ends, so that
    /// `view_state()` is ready.
    private static func project(_ events: [GeneratedEvent], on database: PostgresClient) async throws {
        let validator = try EventValidator()
        let store = ViewStore()
        var offsets: [KafkaTopicPartition: Int64] = [:]
        var progress = ProgressBar(label: "project", total: events.count)
        try await database.withConnection { connection in
            var start = 0
            while start < events.count {
                let end = min(events.count, start + 5_000)
                var staged: [StagedEvent] = []
                for event in events[start..<end] {
                    let partition = KafkaTopicPartition(event.topic, 0)
                    let offset = offsets[partition, default: 0]
                    offsets[partition] = offset + 1
                    staged.append(
                        try StagedEvent(try validator.readAccepted(event.line), at: partition, offset: offset))
                }
                let checkpoints =
                    end == events.count
                    ? offsets.map { CheckpointAdvance($0.key, from: nil, to: $0.value, verifiedThrough: $0.value) }
                    : []
                try await store.apply(staged, checkpoints: checkpoints, on: connection)
                progress.update(end)
                start = end
            }
        }
        progress.finish(events.count)
        let ready = try await database.query("SELECT ready FROM tongban.view_state()")[0].decode(Bool.self, at: 0)
        guard ready else { throw CommandFailure("the views are not ready after projecting the population") }
    }

    /// What PostgreSQL runs with, in one line.
    private static func settings(_ database: PostgresClient) async throws -> String {
        let names = ["fsync", "synchronous_commit", "shared_buffers", "max_connections"]
        var parts: [String] = []
        for name in names {
            let value = try await database.query("SELECT current_setting(\(name))")[0].decode(String.self, at: 0)
            parts.append("\(name)=\(value)")
        }
        let version = try await database.query("SHOW server_version")[0].decode(String.self, at: 0)
        return "PostgreSQL \(version), embedded, " + parts.joined(separator: ", ")
    }

    /// The questions, the token, and the four phases; the bare questions run on the server's own pool (its
    /// connections, their session settings), idle by then.
    private static func drive(
        _ options: Options, port: Int, registration: ClientRegistry.Registration, expected: ExpectedAnswers,
        pool: PostgresClient, cluster: ClusterCPU, postgres: String, population: String
    ) async throws -> Measurements {
        var sent = 0
        let form =
            "grant_type=client_credentials&client_id=\(registration.client.id)&client_secret=\(registration.secret)"
        let tokenRequest = HTTPLoad.request(
            "POST", "/oauth/token", port: port,
            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form)
        let tokenAnswer = try await HTTPLoad.exchangeOnce(port: port, request: tokenRequest)
        sent += 1
        guard tokenAnswer.status == 200,
            let json = try? JSONSerialization.jsonObject(with: Data(tokenAnswer.body)) as? [String: Any],
            let token = json["access_token"] as? String
        else { throw CommandFailure("no access token: the server answered \(tokenAnswer.status)") }
        let headers = [("Authorization", "Bearer \(token)"), ("Tongban-Purpose", "bench")]

        let questions = Questions(expected)
        guard !questions.kinship.isEmpty else { throw CommandFailure("the population gave no kinship questions") }
        let prefillProbe = try await HTTPLoad.exchangeOnce(
            port: port,
            request: HTTPLoad.request("GET", questions.prefillTarget(0), port: port, headers: headers))
        sent += 1
        let withPrefill = prefillProbe.status == 200
        let targets = questions.targets(withPrefill: withPrefill)
        let requests = targets.map { HTTPLoad.request("GET", $0, port: port, headers: headers) }
        let mix =
            withPrefill
            ? "\(questions.kinship.count) kinship pairs and \(questions.subjects.count) pre-fill subjects, alternating"
            : "\(questions.kinship.count) kinship pairs (GET /v1/prefill answered \(prefillProbe.status): left out)"

        say("warming up for \(options.warmupSeconds) s…")
        let warmup = await HTTPLoad.closedLoop(
            port: port, connections: options.connections, requests: requests,
            duration: .seconds(options.warmupSeconds))
        sent += warmup.answered + warmup.failures
        say("saturation for \(options.seconds) s over \(options.connections) connections…")
        let (saturation, cpuPerQuestion) = try await CPUShare.measuring(cluster) {
            await HTTPLoad.closedLoop(
                port: port, connections: options.connections, requests: requests, duration: .seconds(options.seconds))
        }
        sent += saturation.answered + saturation.failures
        say("\(Int(options.rate)) requests/s for \(options.seconds) s…")
        let fixedRate = await HTTPLoad.openLoop(
            port: port, connections: options.connections, requests: requests, rate: options.rate,
            duration: .seconds(options.seconds))
        sent += fixedRate.answered + fixedRate.failures
        for (name, result) in [("warm-up", warmup), ("saturation", saturation), ("fixed rate", fixedRate)] {
            guard result.notOK == 0, result.failures == 0, result.answered > 0 else {
                throw CommandFailure(
                    "\(name): \(result.answered) answers, statuses \(result.statuses.sorted { $0.key < $1.key }), "
                        + "\(result.failures) failed requests (\(result.firstError ?? "no error")): the figures "
                        + "would mean nothing")
            }
        }
        say("the bare questions for \(options.seconds) s over \(options.databaseConnections) connections…")
        let bareBefore = cluster.seconds()
        var bare = try await bareQuestions(
            questions, withPrefill: withPrefill, database: pool, connections: options.databaseConnections,
            seconds: options.seconds)
        bare.postgresCPU = (cluster.seconds() - bareBefore) / Double(max(bare.kinship.count + bare.prefill.count, 1))
        return Measurements(
            postgres: postgres, population: population, mix: mix, saturation: saturation, fixedRate: fixedRate,
            bare: bare, cpuPerQuestion: cpuPerQuestion, sent: sent)
    }

    /// The questions asked of the server: kinship pairs (and the days they are for), and pre-fill subjects.
    struct Questions {
        var asOf: String
        var kinship: [(subject: String, relative: String)] = []
        var subjects: [String] = []

        /// The generator's sample: each person with their parents, siblings, grandparents and spouses.
        init(_ expected: ExpectedAnswers) {
            asOf = expected.asOf
            for person in expected.sample {
                subjects.append(person.id)
                let relatives =
                    [person.kinship.motherId, person.kinship.fatherId].compactMap { $0 } + person.kinship.siblingIds
                    + person.kinship.grandparentIds + person.kinship.marriages.map(\.spouseId)
                kinship += relatives.map { (person.id, $0) }
            }
        }

        /// `GET /v1/kinship?…` for pair `index`.
        func kinshipTarget(_ index: Int) -> String {
            let pair = kinship[index % kinship.count]
            return "/v1/kinship?subject=\(pair.subject)&relative=\(pair.relative)&asOf=\(asOf)"
        }

        /// `GET /v1/prefill?…` for subject `index`.
        func prefillTarget(_ index: Int) -> String {
            "/v1/prefill?subject=\(subjects[index % subjects.count])&asOf=\(asOf)"
        }

        /// Every kinship question, alternating with a pre-fill question when those are asked.
        func targets(withPrefill: Bool) -> [String] {
            (0..<kinship.count).flatMap { index in
                withPrefill ? [kinshipTarget(index), prefillTarget(index)] : [kinshipTarget(index)]
            }
        }
    }

    /// What the bare questions measured.
    struct BareFigures: Sendable {
        /// Questions answered per second.
        var throughput = 0.0
        /// Seconds each kinship question took, sorted.
        var kinship: [Double] = []
        /// Seconds each pre-fill question took, sorted.
        var prefill: [Double] = []
        /// CPU seconds PostgreSQL spent per question.
        var postgresCPU = 0.0
    }

    /// The same questions asked straight of the views, back to back on `connections` connections of `database`.
    private static func bareQuestions(
        _ questions: Questions, withPrefill: Bool, database: PostgresClient, connections: Int, seconds: Double
    ) async throws -> BareFigures {
        let start = ContinuousClock.now
        let end = start + .seconds(seconds)
        var figures = try await withThrowingTaskGroup(of: BareFigures.self) { tasks in
            for worker in 0..<connections {
                tasks.addTask {
                    var share = BareFigures()
                    var index = worker
                    while ContinuousClock.now < end {
                        let sent = ContinuousClock.now
                        // Kinship and pre-fill in turn, as the HTTP phases ask them.
                        if withPrefill && index % 2 == 1 {
                            let subject = questions.subjects[(index / 2) % questions.subjects.count]
                            guard try await BareQuestions.prefill(subject: subject, asOf: questions.asOf, on: database)
                            else { throw CommandFailure("the views were not ready for a bare question") }
                            share.prefill.append((ContinuousClock.now - sent).seconds)
                        } else {
                            let pair = questions.kinship[(withPrefill ? index / 2 : index) % questions.kinship.count]
                            guard
                                try await BareQuestions.kinship(
                                    subject: pair.subject, relative: pair.relative, asOf: questions.asOf,
                                    on: database)
                            else { throw CommandFailure("the views were not ready for a bare question") }
                            share.kinship.append((ContinuousClock.now - sent).seconds)
                        }
                        index += connections + (connections % 2 == 0 ? 1 : 0)
                    }
                    return share
                }
            }
            var all = BareFigures()
            for try await share in tasks {
                all.kinship += share.kinship
                all.prefill += share.prefill
            }
            return all
        }
        figures.kinship.sort()
        figures.prefill.sort()
        figures.throughput =
            Double(figures.kinship.count + figures.prefill.count) / (ContinuousClock.now - start).seconds
        return figures
    }

    /// The report: what ran, then each figure with its goal and ratio.
    static func report(_ options: Options, _ m: Measurements) -> String {
        let table = BenchReport(nameWidth: 44, goalWidth: 14)
        func rate(_ value: Double) -> String { table.perSecond(value, "q/s") }
        let saturation = m.saturation.throughput
        let p99 = m.fixedRate.percentile(0.99)
        let share = saturation / max(m.bare.throughput, 1e-9)
        var lines = [
            "tongban bench serve: questions over HTTP/1.1 keep-alive, every request audited",
            "  \(m.postgres)",
            "  server: this process, pool of \(options.databaseConnections) PostgreSQL connections; load: "
                + "\(options.connections) keep-alive connections from threads of this process",
            "  population: \(m.population); questions: \(m.mix)",
            "",
            table.header,
            table.row(
                "throughput at saturation", rate(saturation), goal: "≥ " + rate(Goal.saturation),
                ratio: saturation / Goal.saturation, met: saturation >= Goal.saturation),
            table.row("  p50 at saturation", table.ms(m.saturation.percentile(0.5))),
            table.row("  p99 at saturation", table.ms(m.saturation.percentile(0.99))),
            table.row("p50 at \(Int(options.rate))/s offered", table.ms(m.fixedRate.percentile(0.5))),
            table.row(
                "p99 at \(Int(options.rate))/s offered", table.ms(p99), goal: "≤ " + table.ms(Goal.p99AtRate),
                ratio: p99 / Goal.p99AtRate, met: p99 <= Goal.p99AtRate),
            table.row("p99.9 at \(Int(options.rate))/s offered", table.ms(m.fixedRate.percentile(0.999))),
            table.row("  rate achieved", rate(m.fixedRate.throughput), goal: rate(options.rate)),
            table.row("bare questions, \(options.databaseConnections) connections", rate(m.bare.throughput)),
            table.row(
                "  bare kinship p50 / p99",
                table.ms(m.bare.kinship.percentile(0.5)) + " / "
                    + table.ms(m.bare.kinship.percentile(0.99))),
            table.row(
                "  bare pre-fill p50 / p99",
                m.bare.prefill.isEmpty
                    ? "not asked"
                    : table.ms(m.bare.prefill.percentile(0.5)) + " / "
                        + table.ms(m.bare.prefill.percentile(0.99))),
            table.row(
                "saturation ÷ bare questions", String(format: "%.2f", share),
                goal: String(format: "≥ %.2f", Goal.shareOfBareSQL), ratio: share / Goal.shareOfBareSQL,
                met: share >= Goal.shareOfBareSQL),
            table.row("CPU per question, server (this process)", table.micros(m.cpuPerQuestion.process)),
            table.row("CPU per question, PostgreSQL", table.micros(m.cpuPerQuestion.postgres)),
            table.row("CPU per bare question, PostgreSQL", table.micros(m.bare.postgresCPU)),
            table.row("CPU per question, load generator", table.micros(m.cpuPerQuestion.generator)),
            "",
            "  audit log: \(m.audit); every answer 200",
            "  the p50/p99/p99.9 at a fixed rate are timed from when each request was due (coordinated omission "
                + "corrected); the bare questions are the same statements on the same pool, decoded, without HTTP, "
                + "tokens or audit",
        ]
        #if DEBUG
            lines.insert("note: a debug build; run `swift run -c release tongban bench serve` for real figures", at: 0)
        #endif
        return lines.joined(separator: "\n")
    }
}
