import ArgumentParser
import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections
import ServiceLifecycle
import TongbanSchemas
import UnixSignals

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

    @Flag(help: "Stop as soon as the stack is up and checked (for scripts and tests).")
    var exitWhenReady = false

    func run() async throws {
        let logger = global.bootstrapLogging(label: "tongban.dev")
        let stack = try await DevStack.start(brokers: brokers, partitions: partitions, logger: logger)
        do {
            try await stack.selfCheck(logger: logger)
            // Unbuffered: the banner must reach logs and pipes now, not when a buffer fills.
            FileHandle.standardOutput.write(Data((stack.banner + "\n").utf8))
            if !exitWhenReady {
                let group = ServiceGroup(
                    configuration: .init(
                        services: [.init(service: stack.database)],
                        gracefulShutdownSignals: [.sigterm, .sigint],
                        logger: logger))
                try await group.run()
            }
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
        print("tongban dev: stopped; the embedded cluster and database are gone.")
    }
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
        let database = PostgresClient(configuration: .init(conninfo: postgres.conninfo()), logger: logger)
        do {
            let applied = try await TongbanMigrations.migrate(database, logger: logger)
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

    var banner: String {
        """
        tongban dev is up.
          Kafka (embedded, \(kafka.brokerIDs.count) brokers):  KAFKA_BOOTSTRAP_SERVERS=\(kafka.bootstrapServers)
            topics: \(topics.joined(separator: ", "))
          PostgreSQL (private cluster in \(postgres.directory.path)):
            DATABASE_URL='\(postgres.url())'
            migrations applied: \(appliedMigrations.isEmpty ? "none pending" : appliedMigrations.map(String.init).joined(separator: ", "))
          Self-check passed: a message went through Kafka and back, and PostgreSQL answered.
        From another terminal, export the two variables above and run `tongban doctor`.
        Press Ctrl-C to stop; everything embedded is removed on exit.
        """
    }

    func stop() async {
        await database.shutdown()
        try? await postgres.stop()
        await kafka.shutdown()
    }
}
