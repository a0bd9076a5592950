import ArgumentParser
import Foundation
import Kafka
import Logging

/// Options every subcommand takes: where Kafka and PostgreSQL are, and how much to log.
///
/// This is the only place that reads configuration. Keys and their environment variables:
/// - `--kafka-bootstrap-servers` / `KAFKA_BOOTSTRAP_SERVERS`: `host:port,…` of the Kafka brokers.
/// - `--kafka-property KEY=VALUE` (repeatable) / `KAFKA_PROPERTIES` (`KEY=VALUE;KEY=VALUE`): any
///   librdkafka property, e.g. `security.protocol=SASL_SSL`. Values are never logged.
/// - `--database-url` / `DATABASE_URL`: a libpq URL or `key=value` string. When empty, libpq's own
///   `PG*` variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, …) apply.
/// - `--log-level` / `LOG_LEVEL`: trace, debug, info, notice, warning, error, critical.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers, host:port,… (env KAFKA_BOOTSTRAP_SERVERS).")
    var kafkaBootstrapServers: String?

    @Option(
        name: .customLong("kafka-property"),
        help: "A librdkafka property KEY=VALUE; repeatable (env KAFKA_PROPERTIES, ';'-separated).")
    var kafkaProperties: [String] = []

    @Option(help: "libpq connection URL or key=value string; empty means libpq's PG* variables (env DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error (env LOG_LEVEL).")
    var logLevel: String?

    /// The environment the options read in place of the process's, in this task and its children: lets tests give a
    /// command `DATABASE_URL` or `PG*` variables without changing the environment of the whole test process.
    @TaskLocal static var environmentOverride: [String: String]?

    private var environment: [String: String] { Self.environmentOverride ?? ProcessInfo.processInfo.environment }

    /// The libpq variables that point at a PostgreSQL server on their own (``isDatabaseConfigured``).
    static let databaseVariables = ["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE"]

    /// The Kafka bootstrap servers, if configured.
    var resolvedKafkaBootstrapServers: String? {
        (kafkaBootstrapServers ?? environment["KAFKA_BOOTSTRAP_SERVERS"]).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// librdkafka properties from the flag and the environment.
    func resolvedKafkaProperties() throws -> [String: String] {
        // Values may be secrets: a bad entry is named by its position, never by its text.
        let fromEnvironment = (environment["KAFKA_PROPERTIES"] ?? "").split(separator: ";").map(String.init)
        var properties: [String: String] = [:]
        for (source, entries) in [("KAFKA_PROPERTIES", fromEnvironment), ("--kafka-property", kafkaProperties)] {
            for (index, entry) in entries.enumerated() where !entry.isEmpty {
                guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                    throw ValidationError(
                        "entry \(index + 1) of \(source) is not KEY=VALUE (a ';' inside a value is not supported in "
                            + "KAFKA_PROPERTIES: pass that property with --kafka-property)")
                }
                properties[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
            }
        }
        return properties
    }

    /// The Kafka client configuration, for a command that cannot run without Kafka: the bootstrap servers and every
    /// librdkafka property given.
    /// - Throws: ``CommandFailure`` saying how to configure the servers when none are, or `ValidationError` for a
    ///   malformed property.
    func requiredKafka() throws -> KafkaConfiguration {
        guard let servers = resolvedKafkaBootstrapServers else {
            throw CommandFailure("no Kafka cluster: set KAFKA_BOOTSTRAP_SERVERS or pass --kafka-bootstrap-servers")
        }
        var kafka = KafkaConfiguration(bootstrapServers: servers)
        kafka.additionalProperties = try resolvedKafkaProperties()
        return kafka
    }

    /// The libpq connection string: the flag, else `DATABASE_URL`, else "" (libpq's `PG*` variables).
    var resolvedDatabaseURL: String {
        databaseURL ?? environment["DATABASE_URL"] ?? ""
    }

    /// The libpq connection string, for a command that cannot run without PostgreSQL.
    /// - Throws: ``CommandFailure`` saying how to configure it, when nothing is (``isDatabaseConfigured``).
    func requiredDatabaseURL() throws -> String {
        guard isDatabaseConfigured else {
            throw CommandFailure("no PostgreSQL: set DATABASE_URL (or PGHOST, PGDATABASE, …) or pass --database-url")
        }
        return resolvedDatabaseURL
    }

    /// Whether a PostgreSQL server was configured at all (a URL or any `PG*` connection variable).
    var isDatabaseConfigured: Bool {
        !resolvedDatabaseURL.isEmpty || Self.databaseVariables.contains { environment[$0] != nil }
    }

    /// Everything given that points at a PostgreSQL server, by name: `--database-url`, `DATABASE_URL` (each when not
    /// empty) and every ``databaseVariables`` entry set; empty when none is. Not empty whenever
    /// ``isDatabaseConfigured``, and also when `DATABASE_URL` is set but an empty `--database-url` overrides it.
    var databaseConfigurationSources: [String] {
        var sources: [String] = []
        if let databaseURL, !databaseURL.isEmpty { sources.append("--database-url") }
        if let url = environment["DATABASE_URL"], !url.isEmpty { sources.append("DATABASE_URL") }
        return sources + Self.databaseVariables.filter { environment[$0] != nil }
    }

    /// Sets up logging for the process (only the executable does this) and returns its logger.
    func bootstrapLogging(label: String) -> Logger {
        let level = Logger.Level(rawValue: (logLevel ?? environment["LOG_LEVEL"] ?? "notice").lowercased()) ?? .notice
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}
