import ArgumentParser
import Logging

/// `tongban doctor`: checks and explains the environment.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check libraries, PostgreSQL server binaries, and whether the configured Kafka and PostgreSQL answer."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Seconds each connectivity check may take.")
    var timeout = 5

    func run() async throws {
        let logger = global.bootstrapLogging(label: "tongban.doctor")
        let doctor = Doctor(
            kafkaBootstrapServers: global.resolvedKafkaBootstrapServers,
            kafkaProperties: try global.resolvedKafkaProperties(),
            databaseURL: global.resolvedDatabaseURL,
            databaseConfigured: global.isDatabaseConfigured,
            timeout: .seconds(timeout))
        let checks = await doctor.run(logger: logger)
        print("tongban \(TongbanVersion.current)")
        print(Doctor.render(checks))
        if checks.contains(where: { $0.status == .failed }) { throw ExitCode(1) }
    }
}
