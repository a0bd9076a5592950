import Foundation
import Kafka
import Logging
import Postgres
import TongbanSchemas

/// One line of `tongban doctor`'s report.
struct DoctorCheck: Sendable, Equatable {
    enum Status: String, Sendable { case ok = "ok", failed = "FAIL", notConfigured = "--" }
    let name: String
    let status: Status
    let detail: String
    /// What to do about a failure, in plain words.
    let fix: String?
}

/// Checks the environment Tongban runs in: its C libraries, the PostgreSQL server binaries, and
/// whether the configured Kafka and PostgreSQL answer. Every check is bounded in time.
struct Doctor: Sendable {
    var kafkaBootstrapServers: String?
    var kafkaProperties: [String: String] = [:]
    var databaseURL: String
    var databaseConfigured: Bool
    var timeout: Duration = .seconds(5)
    var postgresBinDirectory: String? = nil

    func run(logger: Logger) async -> [DoctorCheck] {
        var doctor = self
        doctor.timeout = max(timeout, .seconds(1))  // 0 would mean "wait forever" to libpq
        return await doctor.runChecks(logger: logger)
    }

    private func runChecks(logger: Logger) async -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        checks.append(
            libraryCheck(name: "librdkafka", version: KafkaLibrary.version, minimumMajor: 2, package: "librdkafka-dev"))
        checks.append(
            libraryCheck(name: "libpq", version: PostgresLibrary.version, minimumMajor: 12, package: "libpq-dev"))
        do {
            let directory = try await EmbeddedPostgres.findBinaries(postgresBinDirectory)
            checks.append(DoctorCheck(name: "PostgreSQL server binaries", status: .ok, detail: directory, fix: nil))
        } catch {
            checks.append(
                DoctorCheck(
                    name: "PostgreSQL server binaries", status: .failed, detail: error.message,
                    fix: "apt-get install postgresql (needed by `tongban dev` and the tests), or set TONGBAN_PG_BINDIR")
            )
        }
        let schemaCount = TongbanSchemaFiles.paths.filter { $0.hasPrefix("events/") }.count
        checks.append(
            DoctorCheck(
                name: "embedded contracts", status: schemaCount > 0 ? .ok : .failed,
                detail: "\(schemaCount) event schema files from schemas/",
                fix: schemaCount > 0 ? nil : "rebuild tongban"))
        checks.append(await kafkaCheck(logger: logger))
        checks.append(await postgresCheck(logger: logger))
        return checks
    }

    func libraryCheck(name: String, version: String, minimumMajor: Int, package: String) -> DoctorCheck {
        let major = Int(version.prefix { $0.isNumber }) ?? 0
        return major >= minimumMajor
            ? DoctorCheck(name: name, status: .ok, detail: version, fix: nil)
            : DoctorCheck(
                name: name, status: .failed, detail: "\(version) is too old (need \(minimumMajor) or later)",
                fix: "apt-get install \(package)")
    }

    func kafkaCheck(logger: Logger) async -> DoctorCheck {
        guard let servers = kafkaBootstrapServers else {
            return DoctorCheck(
                name: "Kafka", status: .notConfigured,
                detail:
                    "not configured: set KAFKA_BOOTSTRAP_SERVERS or --kafka-bootstrap-servers (`tongban dev` needs none)",
                fix: nil)
        }
        var configuration = KafkaConfiguration(bootstrapServers: servers)
        configuration.requestTimeout = timeout
        configuration.additionalProperties = kafkaProperties
        let failure: KafkaError
        do {
            let admin = try KafkaAdmin(configuration: configuration, logger: logger)
            let answer: Result<KafkaClusterMetadata, KafkaError>
            do { answer = .success(try await admin.metadata()) } catch { answer = .failure(error) }
            await admin.shutdown()
            switch answer {
            case .success(let metadata):
                let topics = metadata.topics.filter { $0.name.hasPrefix("tongban.") }.map(\.name).sorted()
                return DoctorCheck(
                    name: "Kafka", status: .ok,
                    detail: "\(servers): \(metadata.brokers.count) brokers, tongban topics: "
                        + (topics.isEmpty ? "none yet" : topics.joined(separator: ", ")),
                    fix: nil)
            case .failure(let error):
                failure = error
            }
        } catch {
            failure = error
        }
        return DoctorCheck(
            name: "Kafka", status: .failed, detail: "\(servers) did not answer within \(timeout): \(failure.detail)",
            fix: "check KAFKA_BOOTSTRAP_SERVERS, that the brokers are up and reachable from here, and the "
                + "security properties (--kafka-property security.protocol=…, sasl.*, ssl.*)")
    }

    func postgresCheck(logger: Logger) async -> DoctorCheck {
        guard databaseConfigured else {
            return DoctorCheck(
                name: "PostgreSQL", status: .notConfigured,
                detail:
                    "not configured: set DATABASE_URL, --database-url or PGHOST/PGPORT/… (`tongban dev` needs none)",
                fix: nil)
        }
        do {
            let connection = try await PostgresConnection.connect(
                try PostgresConnectionString.setting(
                    ["connect_timeout": String(timeout.components.seconds)], in: databaseURL),
                logger: logger)
            let rows: PostgresRows
            do {
                try await connection.execute("SET statement_timeout = \(Int(timeout.components.seconds) * 1000)")
                rows = try await connection.query("SELECT current_setting('server_version'), current_database()")
            } catch {
                await connection.close()
                throw error
            }
            await connection.close()
            let version = try rows[0].decode(String.self, at: 0)
            let database = try rows[0].decode(String.self, at: 1)
            return DoctorCheck(
                name: "PostgreSQL", status: .ok, detail: "server \(version), database \(database)", fix: nil)
        } catch {
            return DoctorCheck(
                name: "PostgreSQL", status: .failed, detail: (error as? PostgresError)?.message ?? "\(error)",
                fix: "check DATABASE_URL / PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and that the server is up")
        }
    }

    static func render(_ checks: [DoctorCheck]) -> String {
        checks.map { check in
            var line =
                "  " + check.status.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0) + " "
                + check.name + ": " + check.detail
            if let fix = check.fix { line += "\n        fix: " + fix }
            return line
        }.joined(separator: "\n")
    }
}
