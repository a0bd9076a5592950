import API
import APIServer
import ArgumentParser
import Certificates
import Events
import Foundation
import Kafka
import Logging
import Operations
import Postgres
import Projections
import ServiceLifecycle
import SyntheticPopulation
import TongbanSchemas

/// `tongban dev`: the whole stack on this machine with nothing to configure.
///
/// Starts an in-process Kafka cluster (librdkafka's mock cluster, real wire protocol on loopback)
/// and a private PostgreSQL cluster from the system's server binaries, creates the department
/// topics, applies the migrations from `schemas/migrations`, checks both end to end, prints how
/// to reach them from other terminals, and keeps running until Ctrl-C.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run Tongban on an embedded Kafka cluster and a private PostgreSQL, with nothing to configure."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Brokers of the embedded Kafka cluster.")
    var brokers = 3

    @Option(help: "Partitions of each department topic.")
    var partitions = 6

    @Option(help: "People in the synthetic population published at start (0: publish nothing).")
    var people = 1_000

    @Option(help: "Seed of the synthetic population.")
    var seed: UInt64 = 1

    @Option(help: "Share of anomalous messages in the population (invalid ones become dead letters).")
    var anomalies = 0.01

    @OptionGroup var operations: OperationsOptions

    @Option(help: "The port of the certificate services' API (0 picks a free one).")
    var apiPort = 8080

    @Flag(help: "Stop once the population is projected and checked (for scripts and tests).")
    var exitWhenReady = false

    func run() async throws {
        // First: Ctrl-C while the embedded cluster starts must still stop it, not leave a PostgreSQL running.
        let stop = await StopSignals.trap()
        let logger = global.bootstrapLogging(label: "tongban.dev")
        let stack = try await DevStack.start(brokers: brokers, partitions: partitions, logger: logger)
        do {
            try stop.check()
            try await stack.selfCheck(logger: logger)
            try stop.check()
            let published = try await stack.publishPopulation(
                people: people, seed: seed, anomalies: anomalies, logger: logger)
            try stop.check()
            // This run's department keys, for department developers who publish to the running stack.
            let keysDirectory = Self.keysDirectory
            try DevelopmentKeyFiles.save(DevKeys.all, to: keysDirectory)
            defer { try? FileManager.default.removeItem(at: keysDirectory) }
            let statuses = StatusBoard()
            let server = try operations.server(
                health: { HealthReport(projectors: statuses.projectors.map(\.status)) }, logger: logger)
            var configuration = ProjectorConfiguration(
                kafka: KafkaConfiguration(bootstrapServers: stack.kafka.bootstrapServers),
                catalog: try EventCatalog.embedded())
            configuration.consumer.sessionTimeout = .seconds(6)
            let projector = try Projector(
                configuration: configuration, database: stack.database, keys: DevKeys.registry, logger: logger)
            statuses.projectors = [projector]
            // The certificate services' API, with a development client and a token key made for this run.
            let registration = try await ClientRegistry(database: stack.database, logger: logger).register(
                name: "tongban dev", scopes: APIScope.allCases, purposes: ["development"], requestsPerSecond: 1_000)
            let audit = AuditLog(client: stack.database, logger: logger)
            // Citizens' sign-in, development only: an issuer made for this run, its keys in the keys directory.
            let citizenLogin = try await DevCitizenLogin.start(in: keysDirectory, citizen: published.samplePerson)
            let (bound, announce) = AsyncStream<Int>.makeStream()
            let api = try await CertificateServicesServer.application(
                configuration: .init(port: self.apiPort), database: stack.database,
                tokenKey: TokenSigningKey.generateForDevelopment(), audit: audit, logger: logger,
                citizens: citizenLogin.verifier,
                certificates: try CertificateHub(
                    keys: HubKeySet.ephemeral(),
                    publicBaseURL: self.apiPort == 0 ? "http://localhost" : "http://localhost:\(self.apiPort)"),
                onServerRunning: { port in
                    announce.yield(port)
                    announce.finish()
                })
            var services: [any Service] = [
                stack.database, audit, api, projector,
                CertificateServicesServer.rechecker(database: stack.database, logger: logger),
            ]
            if let server { services.append(server) }
            let group = ServiceGroup(services: services, logger: logger)
            let banner = stack.banner(published: published, keys: keysDirectory)
            // The views are reported once ready; when the services end first (Ctrl-C), the wait is given up.
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                tasks.addTask {
                    try await stop.run(group)
                    return true
                }
                tasks.addTask {
                    // Unbuffered: the banner must reach logs and pipes now, not when a buffer fills.
                    var port = self.apiPort
                    for await bound in bound { port = bound }
                    let text =
                        banner + "\n" + Self.apiBanner(port: port, client: registration, published: published)
                        + citizenLogin.banner(base: "http://127.0.0.1:\(port)")
                    FileHandle.standardOutput.write(Data((text + "\n").utf8))
                    return false
                }
                tasks.addTask {
                    let outcome: String
                    do {
                        outcome = try await Self.waitForViews(projector, published: published)
                    } catch let error where stop.isRequested || error is CancellationError {
                        return false  // stopped before the views were ready: nothing to report
                    }
                    FileHandle.standardOutput.write(Data((outcome + "\n").utf8))
                    if exitWhenReady { await stop.request() }
                    return false
                }
                while let servicesEnded = try await tasks.next() {
                    if servicesEnded { tasks.cancelAll() }
                }
            }
        } catch is StopRequested {
            logger.notice("stopped during start-up")
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
        print("tongban dev: stopped; the embedded cluster and database are gone.")
    }

    /// How to reach the certificate services' API from another terminal: three requests that work as printed.
    static func apiBanner(port: Int, client: ClientRegistry.Registration, published: PublishedPopulation) -> String {
        let base = "http://127.0.0.1:\(port)"
        var lines = [
            "Certificate services' API on \(base): a development client with every scope and the purpose "
                + "\"development\" (its secret is for this run only). Try, from another terminal:",
            "  TOKEN=$(curl -s -u '\(client.client.id):\(client.secret)' -d grant_type=client_credentials "
                + "\(base)/oauth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        ]
        if let person = published.samplePerson, let relative = published.sampleRelative {
            let question = "'\(base)/v1/kinship?subject=\(person)&relative=\(relative)'"
            lines.append("  curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Tongban-Purpose: development' \(question)")
            lines.append("  curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Tongban-Purpose: marketing' \(question)")
        }
        return lines.joined(separator: "\n")
    }

    /// Where this run writes its development keys (removed when it stops).
    static var keysDirectory: URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("tongban-dev-\(getpid())-keys")
    }

    /// Waits until the projector has handled every published message, and says what the views hold.
    static func waitForViews(_ projector: Projector, published: PublishedPopulation) async throws -> String {
        guard published.messages > 0 else { return "Nothing published; the projector is waiting for events." }
        let started = ContinuousClock.now
        while true {
            let status = projector.status
            if status.applied + status.duplicates + status.deadLetters >= published.messages {
                let seconds = (ContinuousClock.now - started) / .seconds(1)
                return """
                    Views are up to date: \(status.applied) events applied, \(status.duplicates) re-sent duplicates \
                    ignored, \(status.deadLetters) dead letters (\(published.rejected) were invalid on purpose), \
                    in \(String(format: "%.1f", seconds)) s.
                    """
            }
            if status.phase == .stopped { throw CommandFailure("the projector stopped before the views were ready") }
            try await Task.sleep(for: .milliseconds(200))
        }
    }
}

/// What `tongban dev` published.
struct PublishedPopulation: Sendable {
    var people: Int
    var messages: Int
    var rejected: Int
    var samplePerson: String?
    /// A relative of ``samplePerson`` (its mother or father), for the printed kinship question.
    var sampleRelative: String?
}

/// The embedded Kafka cluster and PostgreSQL of `tongban dev`.
struct DevStack: Sendable {
    let kafka: KafkaMockCluster
    let postgres: EmbeddedPostgres
    let database: PostgresClient
    let topics: [String]
    let appliedMigrations: [Int]

    static func start(brokers: Int, partitions: Int, logger: Logger) async throws -> DevStack {
        let kafka = try KafkaMockCluster(brokers: brokers, logger: logger)
        // The topics come from the contract (schemas/events/catalog.json), not a second list here.
        let catalog = try EventCatalog.embedded()
        let topics = catalog.topics.values.sorted() + [catalog.deadLetterTopic]
        let postgres: EmbeddedPostgres
        do {
            for topic in topics { try await kafka.createTopic(topic, partitions: partitions) }
            postgres = try await EmbeddedPostgres.start(logger: logger)
        } catch {
            await kafka.shutdown()
            throw error
        }
        let database = PostgresClient(
            configuration: .init(conninfo: try CertificateServicesServer.databaseConnectionString(postgres.conninfo())),
            logger: logger)
        do {
            let applied = try await TongbanMigrations.migrate(database, logger: logger)
            // For psql and other tools in other terminals: the password in a libpq password file, never printed.
            try postgres.writePasswordFile()
            return DevStack(
                kafka: kafka, postgres: postgres, database: database, topics: topics, appliedMigrations: applied)
        } catch {
            await database.shutdown()
            try? await postgres.stop()
            await kafka.shutdown()
            throw error
        }
    }

    /// Produces and consumes a message, and runs a query, so that "up" means "works".
    func selfCheck(logger: Logger) async throws {
        let topic = "tongban.dev.self-check"
        try await kafka.createTopic(topic, partitions: 1)
        var producerConfiguration = KafkaProducerConfiguration(kafka: .init(bootstrapServers: kafka.bootstrapServers))
        producerConfiguration.messageTimeout = .seconds(10)
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let sent: KafkaDeliveryReport
        do {
            sent = try await producer.send(
                KafkaProducerMessage(topic: topic, key: "self-check", value: Array("通办".utf8)))
        } catch {
            await producer.shutdown(flushTimeout: .zero)
            throw CommandFailure("self-check failed: the embedded Kafka did not take a message: \(error.detail)")
        }
        await producer.shutdown()
        let consumer = try KafkaConsumer(
            configuration: .init(
                kafka: .init(bootstrapServers: kafka.bootstrapServers), groupID: "tongban-dev-self-check"),
            topics: [topic], handler: .always(.beginning), logger: logger)
        var received: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(30)
        do {
            while received.isEmpty && ContinuousClock.now < deadline {
                received = try await consumer.nextBatch(maxMessages: 10, maxWait: .milliseconds(200))
            }
        } catch {
            await consumer.shutdown()
            throw CommandFailure("self-check failed: reading from the embedded Kafka: \(error.detail)")
        }
        await consumer.shutdown()
        guard received.first?.offset == sent.offset, received.first?.value == Array("通办".utf8) else {
            throw CommandFailure("self-check failed: the message produced to the embedded Kafka did not come back")
        }
        let rows = try await database.query("SELECT \("通办")::text")
        guard try rows[0].decode(String.self, at: 0) == "通办" else {
            throw CommandFailure("self-check failed: the embedded PostgreSQL did not answer")
        }
    }

    /// Publishes a signed synthetic population (with some invalid messages on purpose) as the departments would.
    func publishPopulation(people: Int, seed: UInt64, anomalies: Double, logger: Logger) async throws
        -> PublishedPopulation
    {
        guard people > 0 else { return PublishedPopulation(people: 0, messages: 0, rejected: 0) }
        var configuration = PopulationConfiguration(people: people, seed: seed)
        configuration.anomalyRate = anomalies
        configuration.signingKeys = DevKeys.all
        var messages: [KafkaProducerMessage] = []
        var rejected = 0
        let expected = try PopulationGenerator(configuration).generate { event in
            messages.append(KafkaProducerMessage(topic: event.topic, key: event.key, value: event.line))
            if !event.shouldBeApplied { rejected += 1 }
        }
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(kafka: .init(bootstrapServers: kafka.bootstrapServers)),
            logger: logger)
        do {
            let reports = try await producer.send(messages)
            if let failed = reports.first(where: { $0.error != nil }), let error = failed.error {
                throw CommandFailure("publishing the synthetic population failed: \(error.detail)")
            }
        } catch {
            await producer.shutdown(flushTimeout: .zero)
            throw error
        }
        await producer.shutdown()
        return PublishedPopulation(
            people: people, messages: messages.count, rejected: rejected,
            samplePerson: expected.sample.first { $0.kinship.motherId ?? $0.kinship.fatherId != nil }?.id,
            sampleRelative: expected.sample.lazy.compactMap { $0.kinship.motherId ?? $0.kinship.fatherId }.first)
    }

    func banner(published: PublishedPopulation, keys: URL) -> String {
        var text = """
            tongban dev is up.
              Kafka (embedded, \(kafka.brokerIDs.count) brokers):  KAFKA_BOOTSTRAP_SERVERS=\(kafka.bootstrapServers)
                topics: \(topics.joined(separator: ", "))
              PostgreSQL (private cluster in \(postgres.directory.path); export both, the password is in the file):
                PGPASSFILE='\(postgres.passwordFile.path)'
                DATABASE_URL='\(postgres.url())'
                migrations applied: \(appliedMigrations.isEmpty ? "none pending" : appliedMigrations.map(String.init).joined(separator: ", "))
              Self-check passed: a message went through Kafka and back, and PostgreSQL answered.
              Department keys of this run (development keys, made afresh for it): \(keys.path)
                publish:  tongban publish --department household --key \(keys.path)/household.private.jwk FILE
                project:  tongban project --keys \(keys.path)/public.jwks --allow-development-keys
            """ + "\n"
        if published.messages > 0 {
            text += """
                Published a synthetic population of \(published.people) people: \(published.messages) signed events, \
                \(published.rejected) of them invalid on purpose. The projector is folding them into the views.
                """ + "\n"
        }
        if let person = published.samplePerson {
            text += """
                Try, from another terminal with PGPASSFILE and DATABASE_URL exported:  psql "$DATABASE_URL" -c \
                "SELECT * FROM tongban.relations('\(person)', current_date)"
                """ + "\n"
        }
        text += """
            Press Ctrl-C to stop; everything embedded is removed on exit.
            """
        return text
    }

    func stop() async {
        await database.shutdown()
        try? await postgres.stop()
        await kafka.shutdown()
    }
}
