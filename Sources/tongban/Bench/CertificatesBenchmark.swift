import API
import APIServer
import Certificates
import Crypto
import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections
import Publishing
import ServiceLifecycle
import Synchronization
import SyntheticPopulation

/// `tongban bench certificates`: issuing, verifying and revoking certificates, against the goals of issue #20.
///
/// A signed synthetic population is published to a Kafka mock cluster and applied to a private `EmbeddedPostgres`
/// cluster at the positions Kafka gave it (never a configured database). The real server runs in this process on a
/// free loopback port with the audit log on and a hub key made for the run, beside a running projector on the mock
/// cluster and the re-checker, as `tongban serve` and `tongban project` run them. The load generator (``HTTPLoad``,
/// on threads of its own) then measures, over HTTP/1.1 keep-alive connections:
/// 1. issuance (`POST /v1/certificates`, kinship certificates): a warm-up, the throughput at saturation, and p50/p99
///    at a fixed offered rate (1,000/s), timed from when each request was due; when saturation is below that rate,
///    also at a share of saturation, so that one latency figure is not mostly queueing;
/// 2. verification (`POST /v1/verify` of issued certificates): throughput at saturation, and p50/p99 at a fixed rate;
/// 3. the raw Ed25519 sign rate (swift-crypto) and `DataIntegrity.sign` of an issued certificate, on one core and on
///    all of them;
/// 4. revocation: death events published through Kafka, one every `revocationInterval`, each taking away the basis of
///    one kinship certificate; per event, the delay from its application (`tongban.event.applied_at`) to the
///    revocation in the database, and to the bit showing in `GET /v1/status-lists/{n}` as served.
///
/// Every audited request sent is checked against the audit log at the end.
enum CertificatesBenchmark {
    /// What to run.
    struct Options: Sendable {
        var people = 10_000
        var seed: UInt64 = 20
        var seconds = 10.0
        var warmupSeconds = 3.0
        var rate = 1_000.0
        /// The share of saturation offered for the latency figures when saturation is below ``rate``.
        var belowSaturation = 0.5
        var connections = 32
        var databaseConnections = 8
        /// Partitions of each department topic.
        var partitions = 4
        var revocations = 100
        /// Seconds between two death events.
        var revocationInterval = 0.1
    }

    /// The goals of issue #20 on a 2-core machine.
    enum Goal {
        static let saturation = 5_000.0
        static let p99AtRate = 0.005
        static let revocationP99 = 1.0
    }

    /// The address the hub's certificates name (status lists and pages start with it); the load generator asks the
    /// server on its loopback port for the same paths.
    static let publicURL = "https://tongban.example.gov.cn"

    /// What one run measured, for the report.
    struct Measurements {
        var postgres = ""
        var population = ""
        var mix = ""
        var saturation = HTTPLoad.Result()
        var fixedRate = HTTPLoad.Result()
        /// Issuance at a share of saturation, when saturation was below the fixed rate.
        var belowRate: (rate: Double, result: HTTPLoad.Result)?
        var verifySaturation = HTTPLoad.Result()
        var verifyRate: (rate: Double, result: HTTPLoad.Result) = (0, HTTPLoad.Result())
        var signing = SignRates()
        var revocation = RevocationFigures()
        /// CPU seconds per certificate issued at saturation: this process (without the generator), PostgreSQL, and
        /// the load generator.
        var cpuPerCertificate = CPUShare()
        /// The same per verification.
        var cpuPerVerification = CPUShare()
        /// Audited HTTP requests sent in all (status lists are public and not audited).
        var audited = 0
        /// What the audit log holds afterwards, in words.
        var audit = ""
        /// Where PostgreSQL's time went during issuance at saturation, one line per statement (empty when
        /// pg_stat_statements could not be loaded).
        var statements: [String] = []
        /// Statements still running when issuance at saturation ended (longer than a second), with their age.
        var running: [String] = []
        /// The certificates the re-checker had not caught up with when the load phases ended, how long the wait for
        /// it to catch up lasted, and how many it still had not caught up with then.
        var backlog: CatchUp?
        /// Statements cancelled at teardown because they held up the services' graceful shutdown.
        var cancelled: [String] = []
    }

    /// A wait for the re-checker to catch up with the certificates issued (`caught_up` on every row).
    struct CatchUp: Sendable {
        /// Certificates not caught up with when the wait began.
        var waiting = 0
        var seconds = 0.0
        /// Certificates still not caught up with when it ended.
        var left = 0
    }

    /// The signing rates, per second.
    struct SignRates: Sendable {
        var cores = 1
        var ed25519OneCore = 0.0
        var ed25519AllCores = 0.0
        var documentOneCore = 0.0
        var documentAllCores = 0.0
        /// Bytes of the signed certificate whose unsigned document was signed.
        var documentBytes = 0
    }

    /// What the revocation phase measured.
    struct RevocationFigures: Sendable {
        var events = 0
        /// Certificates revoked in the database by the event published for them.
        var revoked = 0
        /// Certificates whose bit the served status list showed.
        var seen = 0
        /// Seconds from the event's application to the revocation's row (both the database's clock), sorted.
        var database: [Double] = []
        /// Seconds from the event's application to the answer of the first status list showing the bit, sorted.
        var http: [Double] = []
        /// Seconds from publishing to the event's application (the projector's batching), sorted.
        var applied: [Double] = []
        /// Status list requests sent by the watcher.
        var polls = 0
        var pollInterval = 0.01
        /// The wait, before the first death, for the re-checker to catch up with the certificates issued so far.
        var before = CatchUp()
    }

    /// A certificate the revocation phase takes away: a child's kinship certificate naming their living mother.
    struct Victim: Sendable {
        var child: String
        var mother: String
        var certificate: UUID
        /// The path of the revocation list, e.g. `/v1/status-lists/1`.
        var list: String
        var index: Int
    }

    /// Runs the benchmark and returns its report.
    /// - Parameters:
    ///   - options: sizes and durations.
    ///   - logger: for the stack's events.
    /// - Returns: the report, every figure with its goal and ratio where the issue names one.
    /// - Throws: when the stack cannot start, or when any request is not answered as expected (the figures would mean
    ///   nothing).
    static func run(_ options: Options, logger: Logger) async throws -> String {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        let server: EmbeddedPostgres
        do {
            // pg_stat_statements says where PostgreSQL's time goes; without it (not installed) the run goes on.
            var configuration = EmbeddedPostgres.Configuration()
            configuration.settings["shared_preload_libraries"] = "pg_stat_statements"
            do {
                server = try await EmbeddedPostgres.start(configuration, logger: logger)
            } catch {
                logger.warning("PostgreSQL did not start with pg_stat_statements; starting without it")
                server = try await EmbeddedPostgres.start(logger: logger)
            }
        } catch {
            await cluster.shutdown()
            throw error
        }
        do {
            let measurements = try await measure(
                options, cluster: cluster, conninfo: server.conninfo(), postgresCPU: try ClusterCPU(server),
                logger: logger)
            try await server.stop()
            await cluster.shutdown()
            return report(options, measurements)
        } catch {
            try? await server.stop()
            await cluster.shutdown()
            throw error
        }
    }

    private static func measure(
        _ options: Options, cluster: KafkaMockCluster, conninfo: String, postgresCPU: ClusterCPU, logger: Logger
    ) async throws -> Measurements {
        let setup = PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 2), logger: logger)
        do {
            let measurements = try await measure(
                options, cluster: cluster, conninfo: conninfo, postgresCPU: postgresCPU, setup: setup,
                logger: logger)
            await setup.shutdown()
            return measurements
        } catch {
            await setup.shutdown()
            throw error
        }
    }

    private static func measure(
        _ options: Options, cluster: KafkaMockCluster, conninfo: String, postgresCPU: ClusterCPU,
        setup: PostgresClient, logger: Logger
    ) async throws -> Measurements {
        _ = try await TongbanMigrations.migrate(setup, logger: logger)
        let catalog = try EventCatalog.embedded()
        let topics = Array(Set(catalog.topics.values)).sorted()
        for topic in topics { try await cluster.createTopic(topic, partitions: options.partitions) }
        try await cluster.createTopic(catalog.deadLetterTopic, partitions: 2)
        let (expected, applied) = try await loadPopulation(
            options, topics: topics, cluster: cluster, database: setup, logger: logger)
        // The statistics autovacuum keeps on a serving database (as `bench serve` does).
        try await setup.execute("ANALYZE")
        var measurements = Measurements()
        measurements.population = "\(expected.people) people, \(applied) events applied"
        // The settings as the API's sessions see them (they turn JIT off).
        let apiSession = PostgresClient(
            configuration: .init(
                conninfo: try CertificateServicesServer.databaseConnectionString(conninfo), maxConnections: 1),
            logger: logger)
        do {
            measurements.postgres = try await settings(apiSession)
        } catch {
            await apiSession.shutdown()
            throw error
        }
        await apiSession.shutdown()
        do {
            try await setup.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        } catch {
            logger.notice("no pg_stat_statements: the report will not say which statements took PostgreSQL's time")
        }
        let registration = try await ClientRegistry(database: setup, logger: logger).register(
            name: "bench certificates", scopes: [.certificates, .kinship], purposes: ["bench"],
            requestsPerSecond: 100_000)

        let pool = PostgresClient(
            configuration: .init(
                conninfo: try CertificateServicesServer.databaseConnectionString(conninfo),
                maxConnections: options.databaseConnections), logger: logger)
        // The projector's own pool, as a `tongban project` process would have: its apply connections and one more.
        let projectorPool = PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 3), logger: logger)
        let audit = AuditLog(client: pool, logger: logger)
        var configuration = CertificateServicesServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.tokenLifetime = .seconds(3_600)
        let hub = try CertificateHub(keys: .ephemeral(), publicBaseURL: publicURL)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = try await CertificateServicesServer.application(
            configuration: configuration, database: pool, tokenKey: TokenSigningKey.generateForDevelopment(),
            audit: audit, logger: logger, certificates: hub, onServerRunning: { portSink.yield($0) })
        var projectorConfiguration = ProjectorConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), groupID: "bench-certificates",
            catalog: catalog)
        projectorConfiguration.consumer.sessionTimeout = .seconds(6)
        let projector = try Projector(
            configuration: projectorConfiguration, database: projectorPool, keys: DevKeys.registry, logger: logger)
        let group = ServiceGroup(
            services: [
                pool, projectorPool, audit, app, projector,
                CertificateServicesServer.rechecker(database: pool, logger: logger),
            ], logger: logger)
        let finished = Flag()
        let running = Task {
            defer {
                portSink.finish()  // a server that cannot start ends the wait for its port
                finished.set()
            }
            try await group.run()
        }
        do {
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CommandFailure("the server did not start") }
            let stack = Stack(
                port: port, registration: registration, cluster: cluster, projector: projector, database: setup,
                postgresCPU: postgresCPU, logger: logger)
            try await drive(options, stack: stack, expected: expected, into: &measurements)
            measurements.cancelled = await stop(group, running: running, finished: finished, database: setup)
            try await running.value
            let rows = try await setup.query("SELECT count(*) FROM tongban.audit_log")[0].decode(Int.self, at: 0)
            guard rows == measurements.audited else {
                throw CommandFailure(
                    "the audit log holds \(rows) entries, but \(measurements.audited) audited requests were sent")
            }
            measurements.audit =
                "\(rows) entries, one per request sent (status lists are public and not audited), appended in "
                + "\(audit.committedTransactions) transactions"
            return measurements
        } catch {
            _ = await stop(group, running: running, finished: finished, database: setup)
            _ = try? await running.value
            throw error
        }
    }

    /// What the phases talk to.
    struct Stack {
        var port: Int
        var registration: ClientRegistry.Registration
        var cluster: KafkaMockCluster
        var projector: Projector
        var database: PostgresClient
        var postgresCPU: ClusterCPU
        var logger: Logger
    }

    // MARK: - The population

    /// Generates the population, publishes it to the department topics, and applies it as the projector would, at
    /// the partitions and offsets Kafka stored it at, with every partition's checkpoint at its end: the running
    /// projector then starts where the views are and reads only what is published later.
    /// - Returns: the expected answers (whose sample gives the questions) and the events applied.
    private static func loadPopulation(
        _ options: Options, topics: [String], cluster: KafkaMockCluster, database: PostgresClient, logger: Logger
    ) async throws -> (ExpectedAnswers, Int) {
        var configuration = PopulationConfiguration(people: options.people, seed: options.seed)
        configuration.signingKeys = DevKeys.all
        configuration.anomalyRate = 0
        // More sampled people than the default: the revocations take some of them away from the issuance questions.
        configuration.expectedSampleSize = 400
        say("generating a population of \(options.people) people…")
        var events: [GeneratedEvent] = []
        let expected = try PopulationGenerator(configuration).generate { events.append($0) }
        events = events.filter(\.shouldBeApplied)

        say("publishing \(events.count) events to \(topics.count) topics × \(options.partitions) partitions…")
        var producerConfiguration = KafkaProducerConfiguration(kafka: .init(bootstrapServers: cluster.bootstrapServers))
        producerConfiguration.linger = .milliseconds(20)
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        var positions: [(partition: Int32, offset: Int64)] = []
        positions.reserveCapacity(events.count)
        do {
            var start = 0
            while start < events.count {
                let end = min(events.count, start + 50_000)
                let reports = try await producer.send(
                    events[start..<end].map { KafkaProducerMessage(topic: $0.topic, key: $0.key, value: $0.line) })
                if let failed = reports.first(where: { $0.error != nil }), let error = failed.error { throw error }
                positions += reports.map { ($0.partition, $0.offset) }
                start = end
            }
        } catch {
            await producer.shutdown(flushTimeout: .zero)
            throw error
        }
        await producer.shutdown()

        let validator = try EventValidator()
        let store = ViewStore()
        // Every partition gets a checkpoint, as on a hub whose partitions have all seen events: the re-checker starts
        // a partition where its first checkpoint stands.
        var next: [KafkaTopicPartition: Int64] = [:]
        for topic in topics {
            for partition in 0..<options.partitions { next[KafkaTopicPartition(topic, Int32(partition))] = 0 }
        }
        var progress = ProgressBar(label: "apply", total: events.count)
        try await database.withConnection { connection in
            var start = 0
            while start < events.count {
                let end = min(events.count, start + 5_000)
                var staged: [StagedEvent] = []
                for index in start..<end {
                    let event = events[index]
                    let partition = KafkaTopicPartition(event.topic, positions[index].partition)
                    let offset = positions[index].offset
                    guard let expected = next[partition], offset >= expected else {
                        throw CommandFailure("Kafka stored \(event.topic) out of order at offset \(offset)")
                    }
                    next[partition] = offset + 1
                    staged.append(
                        try StagedEvent(try validator.readAccepted(event.line), at: partition, offset: offset))
                }
                let checkpoints =
                    end == events.count
                    ? next.map { CheckpointAdvance($0.key, from: nil, to: $0.value) } : []
                try await store.apply(staged, checkpoints: checkpoints, on: connection)
                progress.update(end)
                start = end
            }
        }
        progress.finish(events.count)
        let ready = try await database.query("SELECT ready FROM tongban.view_state()")[0].decode(Bool.self, at: 0)
        guard ready else { throw CommandFailure("the views are not ready after applying the population") }
        return (expected, events.count)
    }

    /// What PostgreSQL runs with, in one line, as a session of `database` sees it.
    private static func settings(_ database: PostgresClient) async throws -> String {
        let names = [
            "fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_connections", "jit",
            "shared_preload_libraries",
        ]
        var parts: [String] = []
        for name in names {
            let value = try await database.query("SELECT current_setting(\(name))")[0].decode(String.self, at: 0)
            parts.append("\(name)=\(value)")
        }
        let version = try await database.query("SHOW server_version")[0].decode(String.self, at: 0)
        return "PostgreSQL \(version), embedded (a private cluster for this run), " + parts.joined(separator: ", ")
    }

    // MARK: - The questions

    /// The people of the run: the revocations' children and mothers, kept apart from the issuance questions, so that
    /// a death re-checks the one certificate made for it and not thousands issued under load.
    struct Cast {
        var victims: [(child: String, mother: String)] = []
        var pairs: [(subject: String, relative: String)] = []
    }

    /// Picks the cast from the sample: the victims from its end (living children with a mother, no person twice),
    /// then every kinship pair of the others (parents, siblings, grandparents, spouses) in which neither person nor
    /// the subject's parents (through whom siblings and grandparents are related) is one of the victims' people.
    /// - Parameters:
    ///   - expected: the ground truth.
    ///   - victims: how many certificates the revocations need (a quarter more are picked: a mother who died before
    ///     the end of the population cannot die again).
    /// - Returns: the cast.
    static func cast(_ expected: ExpectedAnswers, victims: Int) -> Cast {
        var cast = Cast()
        var used = Set<String>()
        let wanted = victims + victims / 4 + 2
        for person in expected.sample.reversed() where cast.victims.count < wanted && !person.identity.deceased {
            guard let mother = person.kinship.motherId, !used.contains(person.id), !used.contains(mother) else {
                continue
            }
            cast.victims.append((person.id, mother))
            used.insert(person.id)
            used.insert(mother)
        }
        for person in expected.sample where !used.contains(person.id) {
            let parents = [person.kinship.motherId, person.kinship.fatherId].compactMap { $0 }
            guard parents.allSatisfy({ !used.contains($0) }) else { continue }
            let relatives =
                parents + person.kinship.siblingIds + person.kinship.grandparentIds
                + person.kinship.marriages.map(\.spouseId)
            for relative in relatives where !used.contains(relative) { cast.pairs.append((person.id, relative)) }
        }
        return cast
    }

    /// The body of `POST /v1/certificates` for a kinship certificate.
    static func issuanceBody(subject: String, relative: String) -> String {
        #"{"kind":"kinship","subject":"\#(subject)","relative":"\#(relative)"}"#
    }

    /// The token, the victims' certificates, the questions that can be certified, and the five phases.
    private static func drive(
        _ options: Options, stack: Stack, expected: ExpectedAnswers, into m: inout Measurements
    ) async throws {
        let port = stack.port
        let registration = stack.registration
        let form =
            "grant_type=client_credentials&client_id=\(registration.client.id)&client_secret=\(registration.secret)"
        let tokenAnswer = try await HTTPLoad.exchangeOnce(
            port: port,
            request: HTTPLoad.request(
                "POST", "/oauth/token", port: port,
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form))
        m.audited += 1
        guard tokenAnswer.status == 200,
            let json = try? JSONSerialization.jsonObject(with: Data(tokenAnswer.body)) as? [String: Any],
            let token = json["access_token"] as? String
        else { throw CommandFailure("no access token: the server answered \(tokenAnswer.status)") }
        let headers = [
            ("Authorization", "Bearer \(token)"), ("Tongban-Purpose", "bench"), ("Content-Type", "application/json"),
        ]
        func issuance(_ subject: String, _ relative: String) -> [UInt8] {
            HTTPLoad.request(
                "POST", "/v1/certificates", port: port, headers: headers,
                body: issuanceBody(subject: subject, relative: relative))
        }

        let cast = Self.cast(expected, victims: options.revocations)
        say(
            "issuing the revocations' \(cast.victims.count) candidate certificates and probing \(cast.pairs.count) pairs…"
        )
        let victimAnswers = try await exchangeAll(
            port: port, requests: cast.victims.map { issuance($0.child, $0.mother) }, connections: 4)
        m.audited += victimAnswers.count
        var victims: [Victim] = []
        for (candidate, answer) in zip(cast.victims, victimAnswers) where victims.count < options.revocations {
            guard answer.status == 201 else {
                if answer.status == 422 { continue }
                throw CommandFailure(
                    "issuing a certificate answered \(answer.status): \(String(decoding: answer.body, as: UTF8.self))")
            }
            if let victim = try victim(candidate, issued: answer.body) { victims.append(victim) }
        }
        guard !victims.isEmpty else {
            throw CommandFailure(
                "the population gave no living mother and child for the revocations: use more --people")
        }
        // The revocations first, on a hub that has issued only their certificates: what a death costs by itself.
        say("waiting for the re-checker to catch up with the \(victimAnswers.count) certificates issued so far…")
        let before = try await catchUp(stack.database, within: max(60, 6 * options.seconds))
        m.revocation = try await revoke(victims, options: options, stack: stack)
        m.revocation.before = before
        let probes = try await exchangeAll(
            port: port, requests: cast.pairs.map { issuance($0.subject, $0.relative) }, connections: 4)
        m.audited += probes.count
        var requests: [[UInt8]] = []
        var credentials: [[UInt8]] = []
        for (pair, answer) in zip(cast.pairs, probes) {
            switch answer.status {
            case 201:
                requests.append(issuance(pair.subject, pair.relative))
                if let credential = try JSONParser.parse(answer.body).objectValue?["credential"] {
                    credentials.append(credential.serialized)
                }
            case 422: continue  // nothing to certify today (e.g. a marriage that ended)
            default:
                throw CommandFailure(
                    "issuing a certificate answered \(answer.status): \(String(decoding: answer.body, as: UTF8.self))")
            }
        }
        guard !requests.isEmpty, let sample = credentials.first else {
            throw CommandFailure("the population gave no kinship pair that can be certified: use more --people")
        }
        m.mix =
            "\(requests.count) kinship pairs that can be certified today (parents, siblings, grandparents, spouses), "
            + "in turn; \(victims.count) more certificates kept for the revocations"

        try await issue(options, stack: stack, requests: requests, into: &m)
        try await verify(options, stack: stack, credentials: credentials, into: &m)
        // The backlog as the load left it; the signing rates then run without the re-checker catching up beside them.
        say("waiting up to 30 s for the re-checker to catch up with the certificates issued under load…")
        m.backlog = try await catchUp(stack.database, within: 30)
        say("signing rates…")
        m.signing = try await signRates(credential: sample, seconds: max(0.2, min(2, options.seconds / 4)))
    }

    /// Waits until the re-checker has caught up with every certificate issued (no row `NOT caught_up`), for at most
    /// `limit` seconds.
    /// - Returns: the certificates waiting at first, the seconds waited, and those still waiting at the end.
    private static func catchUp(_ database: PostgresClient, within limit: Double) async throws -> CatchUp {
        func waiting() async throws -> Int {
            try await database.query("SELECT count(*) FROM tongban.certificate WHERE NOT caught_up")[0].decode(
                Int.self, at: 0)
        }
        let start = ContinuousClock.now
        var wait = CatchUp(waiting: try await waiting())
        wait.left = wait.waiting
        while wait.left > 0 && (ContinuousClock.now - start).seconds < limit {
            try await Task.sleep(for: .milliseconds(100))
            wait.left = try await waiting()
        }
        wait.seconds = (ContinuousClock.now - start).seconds
        return wait
    }

    /// Statements of other sessions that have been running longer than `seconds`: process id, age and start.
    private static func longStatements(_ database: PostgresClient, olderThan seconds: Double) async throws -> [(
        pid: Int32, seconds: Double, query: String
    )] {
        try await database.query(
            """
            SELECT pid, extract(epoch FROM now() - query_start)::float8,
                left(regexp_replace(query, '\\s+', ' ', 'g'), 90)
            FROM pg_stat_activity
            WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
                AND query_start < now() - make_interval(secs => \(seconds))
            ORDER BY 2 DESC
            """
        ).map {
            (try $0.decode(Int32.self, at: 0), try $0.decode(Double.self, at: 1), try $0.decode(String.self, at: 2))
        }
    }

    /// Waits for the services to stop after a graceful shutdown was asked for, cancelling any statement that has run
    /// longer than 5 s meanwhile (a service stops between two statements, never in one).
    /// - Returns: the statements cancelled, with their age.
    private static func stop(
        _ group: ServiceGroup, running: Task<Void, any Error>, finished: Flag, database: PostgresClient
    ) async -> [String] {
        await group.triggerGracefulShutdown()
        var cancelled: [String] = []
        var pids = Set<Int32>()
        while !finished.isSet {
            for statement in (try? await longStatements(database, olderThan: 5)) ?? []
            where !pids.contains(statement.pid) {
                pids.insert(statement.pid)
                _ = try? await database.query("SELECT pg_cancel_backend(\(statement.pid))")
                cancelled.append(String(format: "%.0f s: ", statement.seconds) + statement.query)
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return cancelled
    }

    /// Set once, read from any thread.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        /// Whether it is set.
        var isSet: Bool { value.load(ordering: .acquiring) }
        /// Sets it.
        func set() { value.store(true, ordering: .releasing) }
    }

    /// Reads a victim's issued certificate: kept when both people are living on it (a death can then take it away).
    private static func victim(_ candidate: (child: String, mother: String), issued body: [UInt8]) throws -> Victim? {
        guard let answer = try JSONParser.parse(body).objectValue,
            let id = answer["id"]?.stringValue.flatMap({ UUID(uuidString: $0) }),
            let credential = answer["credential"]?.objectValue,
            let claims = credential["credentialSubject"]?.objectValue?["answer"]?.objectValue
        else { throw CommandFailure("an issued certificate without id, credential or answer") }
        guard claims["subject"]?.objectValue?["living"] == .bool(true),
            claims["relative"]?.objectValue?["living"] == .bool(true)
        else { return nil }
        let entries = credential["credentialStatus"]?.arrayValue ?? []
        guard
            let entry = entries.compactMap(\.objectValue).first(where: {
                $0["statusPurpose"] == .string("revocation")
            }),
            let url = entry["statusListCredential"]?.stringValue, url.hasPrefix(publicURL),
            let index = entry["statusListIndex"]?.stringValue.flatMap({ Int($0) })
        else { throw CommandFailure("an issued certificate without a revocation status entry") }
        return Victim(
            child: candidate.child, mother: candidate.mother, certificate: id,
            list: String(url.dropFirst(publicURL.count)), index: index)
    }

    // MARK: - Issuance and verification

    /// Warm-up, saturation, the fixed rate, and a share of saturation when that is below the fixed rate.
    private static func issue(
        _ options: Options, stack: Stack, requests: [[UInt8]], into m: inout Measurements
    ) async throws {
        let port = stack.port
        say("issuance: warming up for \(options.warmupSeconds) s…")
        let warmup = await HTTPLoad.closedLoop(
            port: port, connections: options.connections, requests: requests,
            duration: .seconds(options.warmupSeconds))
        m.audited += warmup.answered + warmup.failures
        try expectAll(201, warmup, "issuance warm-up", allowEmpty: options.warmupSeconds < 0.5)
        say("issuance: saturation for \(options.seconds) s over \(options.connections) connections…")
        let statementsKept = (try? await stack.database.query("SELECT pg_stat_statements_reset()")) != nil
        (m.saturation, m.cpuPerCertificate) = try await CPUShare.measuring(stack.postgresCPU) {
            await HTTPLoad.closedLoop(
                port: port, connections: options.connections, requests: requests, duration: .seconds(options.seconds))
        }
        m.audited += m.saturation.answered + m.saturation.failures
        try expectAll(201, m.saturation, "issuance at saturation")
        if statementsKept {
            m.statements = try await statements(stack.database, answers: m.saturation.answered)
        }
        m.running = try await longStatements(stack.database, olderThan: 1).map {
            String(format: "%.0f s: ", $0.seconds) + $0.query
        }
        say("issuance: \(Int(options.rate))/s offered for \(options.seconds) s…")
        m.fixedRate = await HTTPLoad.openLoop(
            port: port, connections: options.connections, requests: requests, rate: options.rate,
            duration: .seconds(options.seconds))
        m.audited += m.fixedRate.answered + m.fixedRate.failures
        try expectAll(201, m.fixedRate, "issuance at \(Int(options.rate))/s")
        if m.saturation.throughput < options.rate {
            let rate = max(1, (options.belowSaturation * m.saturation.throughput).rounded())
            say(
                "issuance: saturation is below \(Int(options.rate))/s: \(Int(rate))/s offered for \(options.seconds) s…"
            )
            let result = await HTTPLoad.openLoop(
                port: port, connections: options.connections, requests: requests, rate: rate,
                duration: .seconds(options.seconds))
            m.audited += result.answered + result.failures
            try expectAll(201, result, "issuance at \(Int(rate))/s")
            m.belowRate = (rate, result)
        }
    }

    /// Verification of issued certificates: saturation, then a fixed rate (the issuance rate, or a share of the
    /// verification saturation when that is lower).
    private static func verify(
        _ options: Options, stack: Stack, credentials: [[UInt8]], into m: inout Measurements
    ) async throws {
        let port = stack.port
        let requests = credentials.prefix(2_000).map { credential in
            HTTPLoad.request(
                "POST", "/v1/verify", port: port, headers: [("Content-Type", "application/json")],
                body: #"{"credential":"# + String(decoding: credential, as: UTF8.self) + "}")
        }
        let probe = try await HTTPLoad.exchangeOnce(port: port, request: requests[0])
        m.audited += 1
        guard probe.status == 200,
            let verdict = try? JSONSerialization.jsonObject(with: Data(probe.body)) as? [String: Any],
            verdict["verified"] as? Bool == true
        else {
            throw CommandFailure(
                "POST /v1/verify of an issued certificate answered \(probe.status): "
                    + String(decoding: probe.body, as: UTF8.self))
        }
        say("verification: saturation for \(options.seconds) s over \(options.connections) connections…")
        (m.verifySaturation, m.cpuPerVerification) = try await CPUShare.measuring(stack.postgresCPU) {
            await HTTPLoad.closedLoop(
                port: port, connections: options.connections, requests: requests, duration: .seconds(options.seconds))
        }
        m.audited += m.verifySaturation.answered + m.verifySaturation.failures
        try expectAll(200, m.verifySaturation, "verification at saturation")
        let rate = max(1, min(options.rate, (options.belowSaturation * m.verifySaturation.throughput).rounded()))
        say("verification: \(Int(rate))/s offered for \(options.seconds) s…")
        let result = await HTTPLoad.openLoop(
            port: port, connections: options.connections, requests: requests, rate: rate,
            duration: .seconds(options.seconds))
        m.audited += result.answered + result.failures
        try expectAll(200, result, "verification at \(Int(rate))/s")
        m.verifyRate = (rate, result)
    }

    /// The statements that took most of PostgreSQL's time since the last reset: per certificate, the microseconds
    /// spent planning and running them and how many times each ran, with the statement's start.
    private static func statements(_ database: PostgresClient, answers: Int) async throws -> [String] {
        let rows = try await database.query(
            """
            SELECT calls, total_exec_time + total_plan_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 72)
            FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
            ORDER BY 2 DESC LIMIT 8
            """)
        let count = Double(max(answers, 1))
        return try rows.map { row in
            let calls = Double(try row.decode(Int64.self, at: 0))
            let milliseconds = try row.decode(Double.self, at: 1)
            return String(format: "%7.0f µs %6.2f calls  ", milliseconds * 1e3 / count, calls / count)
                + (try row.decode(String.self, at: 2))
        }
    }

    /// Fails unless every answer of a phase had `status` and no request failed.
    private static func expectAll(
        _ status: Int, _ result: HTTPLoad.Result, _ name: String, allowEmpty: Bool = false
    ) throws {
        let others = result.statuses.filter { $0.key != status }
        guard others.isEmpty, result.failures == 0, allowEmpty || result.answered > 0 else {
            throw CommandFailure(
                "\(name): \(result.answered) answers, statuses \(result.statuses.sorted { $0.key < $1.key }), "
                    + "\(result.failures) failed requests (\(result.firstError ?? "no error")): the figures would "
                    + "mean nothing")
        }
    }

    /// Sends requests over `connections` keep-alive connections, each on a thread of its own, and keeps every answer
    /// (status and body), in the requests' order.
    /// - Throws: ``HTTPLoadError`` when a connection fails.
    static func exchangeAll(port: Int, requests: [[UInt8]], connections: Int) async throws -> [(
        status: Int, body: [UInt8]
    )] {
        let count = max(1, min(connections, requests.count))
        guard !requests.isEmpty else { return [] }
        let state = ExchangeState()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            for lane in 0..<count {
                Thread.detachNewThread {
                    do {
                        let connection = try KeepAliveConnection(port: port)
                        for index in stride(from: lane, to: requests.count, by: count) {
                            let answer = try connection.exchange(requests[index], keepBody: true)
                            state.answers.withLock { $0[index] = answer }
                        }
                    } catch {
                        state.failure.withLock { $0 = $0 ?? "\(error)" }
                    }
                    if state.finished.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == count {
                        done.resume()
                    }
                }
            }
        }
        if let error = state.failure.withLock({ $0 }) { throw HTTPLoadError(description: error) }
        return state.answers.withLock { all in requests.indices.map { all[$0]! } }
    }

    /// What the threads of ``exchangeAll(port:requests:connections:)`` share.
    private final class ExchangeState: Sendable {
        let answers = Mutex<[Int: (status: Int, body: [UInt8])]>([:])
        let failure = Mutex<String?>(nil)
        let finished = Atomic<Int>(0)
    }

    // MARK: - Signing

    /// The raw Ed25519 sign rate and `DataIntegrity.sign` of an issued certificate (its proof taken off), each on one
    /// core and on all of them, on threads outside the cooperative pool.
    /// - Parameters:
    ///   - credential: an issued certificate, as JSON.
    ///   - seconds: how long each of the four measures lasts.
    /// - Returns: the rates.
    /// - Throws: when the certificate cannot be read or signed.
    static func signRates(credential: [UInt8], seconds: Double) async throws -> SignRates {
        guard var document = try JSONParser.parse(credential).objectValue else {
            throw CommandFailure("an issued certificate that is not a JSON object")
        }
        document["proof"] = nil
        let key = HubKeySet.ephemeral().current
        let didWeb = try DIDWeb(baseURL: publicURL)
        let method = "\(didWeb.did)#\(key.id)"
        let created = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        _ = try DataIntegrity.sign(document: document, with: key, verificationMethod: method, created: created)
        let unsigned = document
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var rates = SignRates(cores: cores, documentBytes: credential.count)
                // A key per thread; what eddsa-jcs-2022 signs is two SHA-256 digests, 64 bytes.
                let raw: @Sendable () -> @Sendable () -> Void = {
                    let privateKey = Curve25519.Signing.PrivateKey()
                    let message = [UInt8](repeating: 0x5a, count: 64)
                    return { _ = try? privateKey.signature(for: message) }
                }
                let signDocument: @Sendable () -> @Sendable () -> Void = {
                    {
                        _ = try? DataIntegrity.sign(
                            document: unsigned, with: key, verificationMethod: method, created: created)
                    }
                }
                rates.ed25519OneCore = measureRate(threads: 1, seconds: seconds, raw)
                rates.ed25519AllCores = measureRate(threads: cores, seconds: seconds, raw)
                rates.documentOneCore = measureRate(threads: 1, seconds: seconds, signDocument)
                rates.documentAllCores = measureRate(threads: cores, seconds: seconds, signDocument)
                continuation.resume(returning: rates)
            }
        }
    }

    /// Operations per second of `threads` threads, each running the work `make` gives it for `seconds`.
    private static func measureRate(
        threads: Int, seconds: Double, _ make: @escaping @Sendable () -> @Sendable () -> Void
    ) -> Double {
        let done = Mutex(0)
        let start = Monotonic.now
        let end = start + UInt64(seconds * 1e9)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            let work = make()
            var count = 0
            repeat {
                for _ in 0..<16 { work() }
                count += 16
            } while Monotonic.now < end
            done.withLock { $0 += count }
        }
        let elapsed = Double(Monotonic.now - start) / 1e9
        return Double(done.withLock { $0 }) / max(elapsed, 1e-9)
    }

    // MARK: - Revocation

    /// Publishes one death per victim through Kafka, one every ``Options/revocationInterval``, and measures when each
    /// certificate is revoked in the database and when its bit shows in the served status list.
    private static func revoke(_ victims: [Victim], options: Options, stack: Stack) async throws -> RevocationFigures {
        let deadline = ContinuousClock.now + .seconds(60)
        while stack.projector.status.assignment.isEmpty {
            guard ContinuousClock.now < deadline else {
                throw CommandFailure("the projector was assigned no partition within 60 s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        var producer = KafkaProducerConfiguration(kafka: .init(bootstrapServers: stack.cluster.bootstrapServers))
        producer.linger = .milliseconds(1)
        let publisher = try DepartmentPublisher(
            configuration: .init(producer: producer, key: DevKeys.key(for: .household)), logger: stack.logger)
        var figures = RevocationFigures(events: victims.count)
        let watcher = StatusListWatcher(
            port: stack.port,
            watched: victims.map { .init(certificate: $0.certificate, list: $0.list, index: $0.index) },
            interval: figures.pollInterval)
        let watching = Task { await watcher.run() }
        var published: [UUID: (event: String, at: Double)] = [:]
        do {
            // The lists as they were before any death: no watched bit may be set yet.
            while watcher.polls == 0 && watcher.error == nil { try await Task.sleep(for: .milliseconds(5)) }
            if let error = watcher.error { throw CommandFailure("the status list watcher: \(error)") }
            say(
                "revocation: \(victims.count) deaths through Kafka, one every \(Int(options.revocationInterval * 1000)) "
                    + "ms, with the projector and the re-checker running…")
            let yesterday = CivilDate(daysSinceEpoch: Int((Date().timeIntervalSince1970 + 8 * 3600) / 86_400) - 1)
            for victim in victims {
                let at = Date().timeIntervalSince1970
                let receipt = try await publisher.publish(
                    death(of: victim.mother, on: yesterday.description))
                published[victim.certificate] = (receipt.id, at)
                try await Task.sleep(for: .seconds(options.revocationInterval))
            }
            let ids = victims.map(\.certificate)
            let wait = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < wait && watcher.error == nil {
                figures.revoked = try await stack.database.query(
                    "SELECT count(*) FROM tongban.certificate WHERE certificate_id = ANY(\(ids)) AND revoked_at IS NOT NULL"
                )[0].decode(Int.self, at: 0)
                if figures.revoked == victims.count && watcher.seenCount == victims.count { break }
                try await Task.sleep(for: .milliseconds(50))
            }
        } catch {
            watcher.stop()
            _ = await watching.value
            await publisher.shutdown()
            throw error
        }
        watcher.stop()
        let outcome = await watching.value
        await publisher.shutdown()
        if let error = outcome.error { throw CommandFailure("the status list watcher: \(error)") }
        figures.polls = outcome.polls
        let rows = try await stack.database.query(
            """
            SELECT s.certificate_id, s.caused_by_event, extract(epoch FROM e.applied_at)::float8,
                extract(epoch FROM s.changed_at - s.event_applied_at)::float8
            FROM tongban.certificate_status_change s JOIN tongban.event e ON e.event_id = s.caused_by_event
            WHERE s.certificate_id = ANY(\(victims.map(\.certificate))) AND s.action = 'revoke'
            """)
        for row in rows {
            let id = try row.decode(UUID.self, at: 0)
            let cause = try row.decode(UUID.self, at: 1)
            guard let sent = published[id], cause.uuidString.lowercased() == sent.event.lowercased() else {
                throw CommandFailure(
                    "certificate \(id) was revoked by event \(cause), not by the death published for it")
            }
            let applied = try row.decode(Double.self, at: 2)
            figures.database.append(try row.decode(Double.self, at: 3))
            figures.applied.append(applied - sent.at)
            if let seen = outcome.seen[id] { figures.http.append(seen - applied) }
        }
        figures.revoked = rows.count
        figures.seen = figures.http.count
        figures.database.sort()
        figures.http.sort()
        figures.applied.sort()
        return figures
    }

    /// A death registration for the household department to sign and publish.
    static func death(of person: String, on day: String) -> JSONValue {
        .object(
            JSONObject([
                ("specversion", .string("1.0")), ("id", .string(UUID().uuidString.lowercased())),
                ("source", .string("/departments/household/\(person.prefix(6))")),
                ("type", .string("household.death-registered.v1")), ("subject", .string(person)),
                ("time", .string("\(day)T00:00:00+08:00")), ("datacontenttype", .string("application/json")),
                (
                    "data",
                    .object(JSONObject([("personId", .string(person)), ("dateOfDeath", .string(day))]))
                ),
            ]))
    }

    // MARK: - The report

    /// The report: what ran, then each figure with its goal and ratio, then what limits the throughput.
    static func report(_ options: Options, _ m: Measurements) -> String {
        let table = BenchReport(nameWidth: 52, goalWidth: 16)
        let saturation = m.saturation.throughput
        let p99 = m.fixedRate.percentile(0.99)
        let cores = Double(m.signing.cores)
        let r = m.revocation
        let allSeen = r.revoked == r.events && r.seen == r.events
        let databaseP99 = r.database.percentile(0.99)
        let httpP99 = r.http.percentile(0.99)
        let signMicros = 1 / max(m.signing.documentOneCore, 1e-9)
        let cpu = m.cpuPerCertificate
        let bound = cores / max(cpu.total, 1e-12)
        let budget = cores / Goal.saturation
        var lines = [
            "tongban bench certificates: kinship certificates over HTTP/1.1 keep-alive, every request audited",
            "  \(m.postgres)",
            "  server: this process (the API with a hub key made for the run, the audit log, the re-checker, a "
                + "projector and the Kafka mock broker), pool of \(options.databaseConnections) PostgreSQL "
                + "connections; load: \(options.connections) keep-alive connections from threads of this process",
            "  population: \(m.population); questions: \(m.mix)",
            "",
            table.header,
            table.row(
                "issuance throughput at saturation", table.perSecond(saturation, "cert/s"),
                goal: "≥ " + table.perSecond(Goal.saturation, "cert/s"), ratio: saturation / Goal.saturation,
                met: saturation >= Goal.saturation),
            table.row(
                "  issuance p50 / p99 at saturation",
                table.ms(m.saturation.percentile(0.5)) + " / " + table.ms(m.saturation.percentile(0.99))),
            table.row("issuance p50 at \(Int(options.rate))/s offered", table.ms(m.fixedRate.percentile(0.5))),
            table.row(
                "issuance p99 at \(Int(options.rate))/s offered", table.ms(p99), goal: "≤ " + table.ms(Goal.p99AtRate),
                ratio: p99 / Goal.p99AtRate, met: p99 <= Goal.p99AtRate),
            table.row(
                "  rate achieved", table.perSecond(m.fixedRate.throughput, "cert/s"),
                goal: table.perSecond(options.rate, "/s")),
        ]
        if let below = m.belowRate {
            let share = String(format: "%.2f", below.rate / max(saturation, 1e-9))
            let belowP99 = below.result.percentile(0.99)
            lines += [
                table.row(
                    "issuance p50 at \(Int(below.rate))/s offered (\(share) × sat.)",
                    table.ms(below.result.percentile(0.5))),
                table.row(
                    "issuance p99 at \(Int(below.rate))/s offered (\(share) × sat.)", table.ms(belowP99),
                    goal: "(≤ " + table.ms(Goal.p99AtRate) + ")", ratio: belowP99 / Goal.p99AtRate),
                table.row(
                    "  rate achieved", table.perSecond(below.result.throughput, "cert/s"),
                    goal: table.perSecond(below.rate, "/s")),
            ]
        }
        lines += [
            table.row("verification throughput at saturation", table.perSecond(m.verifySaturation.throughput, "req/s")),
            table.row(
                "  verification p50 / p99 at saturation",
                table.ms(m.verifySaturation.percentile(0.5)) + " / " + table.ms(m.verifySaturation.percentile(0.99))),
            table.row(
                "verification p50 / p99 at \(Int(m.verifyRate.rate))/s offered",
                table.ms(m.verifyRate.result.percentile(0.5)) + " / " + table.ms(m.verifyRate.result.percentile(0.99))),
            table.row("Ed25519 sign (swift-crypto), 1 core", table.perSecond(m.signing.ed25519OneCore, "sig/s")),
            table.row(
                "Ed25519 sign (swift-crypto), \(m.signing.cores) cores",
                table.perSecond(m.signing.ed25519AllCores, "sig/s")),
            table.row(
                "DataIntegrity.sign of a certificate, 1 core", table.perSecond(m.signing.documentOneCore, "sig/s")),
            table.row(
                "DataIntegrity.sign of a certificate, \(m.signing.cores) cores",
                table.perSecond(m.signing.documentAllCores, "sig/s")),
            table.row("revocation in the database, p50", table.ms(r.database.percentile(0.5))),
            table.row(
                "revocation in the database, p99", table.ms(databaseP99), goal: "≤ " + table.ms(Goal.revocationP99),
                ratio: databaseP99 / Goal.revocationP99, met: allSeen && databaseP99 <= Goal.revocationP99),
            table.row("revocation in the served status list, p50", table.ms(r.http.percentile(0.5))),
            table.row(
                "revocation in the served status list, p99", table.ms(httpP99),
                goal: "≤ " + table.ms(Goal.revocationP99),
                ratio: httpP99 / Goal.revocationP99, met: allSeen && httpP99 <= Goal.revocationP99),
            table.row("  revocations seen (database / status list)", "\(r.revoked) / \(r.seen) of \(r.events)"),
            table.row(
                "  re-checker caught up before the first death",
                r.before.left == 0
                    ? String(format: "in %.1f s", r.before.seconds)
                    : String(format: "NOT in %.0f s", r.before.seconds)),
            table.row(
                "  published → applied p50 / p99 (projector)",
                table.ms(r.applied.percentile(0.5)) + " / " + table.ms(r.applied.percentile(0.99))),
            table.row(
                "re-checker backlog when the load phases ended", "\(m.backlog?.waiting ?? 0) certificates"),
            table.row(
                "  caught up within 30 s",
                m.backlog.map {
                    $0.left == 0
                        ? String(format: "yes, in %.1f s", $0.seconds) : "no: \($0.left) left"
                } ?? "—"),
            table.row("CPU per certificate, server (this process)", table.micros(cpu.process)),
            table.row("CPU per certificate, PostgreSQL", table.micros(cpu.postgres)),
            table.row("CPU per certificate, load generator", table.micros(cpu.generator)),
            table.row("CPU per verification, server (this process)", table.micros(m.cpuPerVerification.process)),
            table.row("CPU per verification, PostgreSQL", table.micros(m.cpuPerVerification.postgres)),
            table.row(
                "certificates/s the CPU allows (\(m.signing.cores) cores ÷ CPU)", table.perSecond(bound, "cert/s"),
                goal: "≥ " + table.perSecond(Goal.saturation, "cert/s"), ratio: bound / Goal.saturation,
                met: bound >= Goal.saturation),
            "",
            "  audit log: \(m.audit); every issuance answered 201, every verification 200",
        ]
        if !m.running.isEmpty {
            lines.append("  still running when issuance at saturation ended (its time is in PostgreSQL's CPU above):")
            lines += m.running.map { "    " + $0 }
        }
        if !m.cancelled.isEmpty {
            lines.append("  cancelled at teardown, as they held up the graceful shutdown:")
            lines += m.cancelled.map { "    " + $0 }
        }
        if !m.statements.isEmpty {
            lines.append(
                "  where PostgreSQL's time went during issuance at saturation (pg_stat_statements, planning and "
                    + "running, per certificate; top-level statements):")
            lines += m.statements.map { "    " + $0 }
        }
        lines += [
            "  the p50/p99 at a fixed rate are timed from when each request was due (coordinated omission corrected)",
            "  revocation: the delay from the death event's application (tongban.event.applied_at) to the "
                + "certificate's revocation row (changed_at − event_applied_at, the database's clock), and to the "
                + String(
                    format: "answer of the first GET /v1/status-lists/{n} showing its bit (polled every %.0f ms, ",
                    r.pollInterval * 1e3)
                + "\(r.polls) polls); published → applied includes the projector's batch wait",
            "  what limits issuance: \(table.micros(cpu.total)) of CPU per certificate (server \(table.micros(cpu.process)), "
                + "PostgreSQL \(table.micros(cpu.postgres)), load generator \(table.micros(cpu.generator))) on "
                + "\(m.signing.cores) cores allow \(table.perSecond(bound, "cert/s")); \(table.perSecond(Goal.saturation, "cert/s")) "
                + "needs at most \(table.micros(budget)) per certificate. Signing (DataIntegrity.sign) takes "
                + "\(table.micros(signMicros)) of it: "
                + String(
                    format: "%.0f%% of the server's share, %.0f%% of the whole",
                    100 * signMicros / max(cpu.process, 1e-12),
                    100 * signMicros / max(cpu.total, 1e-12)),
        ]
        #if DEBUG
            lines.insert(
                "note: a debug build; run `swift build -c release` and `.build/release/tongban bench certificates` "
                    + "for real figures", at: 0)
        #endif
        return lines.joined(separator: "\n")
    }
}

/// Polls the served status lists on a thread of its own (never the cooperative pool) and notes when each watched bit
/// is first set: the wall-clock time the answer showing it arrived.
final class StatusListWatcher: Sendable {
    /// A certificate's revocation bit.
    struct Watched: Sendable {
        var certificate: UUID
        /// The list's path, e.g. `/v1/status-lists/1`.
        var list: String
        var index: Int
    }

    /// What the watcher saw.
    struct Outcome: Sendable {
        /// Seconds since 1970 when each bit was first seen set.
        var seen: [UUID: Double] = [:]
        var polls = 0
        var error: String?
    }

    let port: Int
    let watched: [Watched]
    let interval: Double
    private let state = Mutex(Outcome())
    private let stopping = Atomic<Bool>(false)

    /// Creates a watcher; ``run()`` starts it.
    /// - Parameters:
    ///   - port: the server's port on 127.0.0.1.
    ///   - watched: the bits.
    ///   - interval: seconds from the start of one round of requests to the next.
    init(port: Int, watched: [Watched], interval: Double) {
        self.port = port
        self.watched = watched
        self.interval = interval
    }

    /// Rounds of requests done so far.
    var polls: Int { state.withLock { $0.polls } }
    /// Bits seen set so far.
    var seenCount: Int { state.withLock { $0.seen.count } }
    /// The failure that stopped the watcher, if any.
    var error: String? { state.withLock { $0.error } }

    /// Asks the watcher to stop after its round.
    func stop() { stopping.store(true, ordering: .relaxed) }

    /// Polls until ``stop()`` or a failure (a bit set in the first round is one: it was set before any event).
    /// - Returns: what it saw.
    func run() async -> Outcome {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                self.poll()
                continuation.resume(returning: self.state.withLock { $0 })
            }
        }
    }

    private func poll() {
        let connection: KeepAliveConnection
        do { connection = try KeepAliveConnection(port: port) } catch {
            state.withLock { $0.error = "\(error)" }
            return
        }
        let lists = Dictionary(grouping: watched, by: \.list).sorted { $0.key < $1.key }
        var first = true
        while !stopping.load(ordering: .relaxed) {
            let started = Monotonic.now
            do {
                for (path, entries) in lists {
                    let seen = state.withLock { $0.seen }
                    let pending = entries.filter { seen[$0.certificate] == nil }
                    guard !pending.isEmpty else { continue }
                    let answer = try connection.exchange(
                        HTTPLoad.request("GET", path, port: port, headers: []), keepBody: true)
                    let arrived = Date().timeIntervalSince1970
                    guard answer.status == 200 else {
                        throw HTTPLoadError(description: "GET \(path) answered \(answer.status)")
                    }
                    let list = try Self.list(answer.body)
                    for entry in pending {
                        guard try list.bit(at: entry.index) else { continue }
                        guard !first else {
                            throw HTTPLoadError(description: "\(path) bit \(entry.index) was set before any event")
                        }
                        state.withLock { $0.seen[entry.certificate] = arrived }
                    }
                }
            } catch {
                state.withLock { $0.error = "\(error)" }
                return
            }
            first = false
            state.withLock { $0.polls += 1 }
            Monotonic.sleep(until: started + UInt64(interval * 1e9))
        }
    }

    /// The bits of a served `BitstringStatusListCredential`.
    private static func list(_ body: [UInt8]) throws -> BitstringStatusList {
        guard let credential = try JSONParser.parse(body).objectValue,
            let encoded = credential["credentialSubject"]?.objectValue?["encodedList"]?.stringValue
        else { throw HTTPLoadError(description: "a status list without credentialSubject.encodedList") }
        return try BitstringStatusList.decode(encodedList: encoded)
    }
}
