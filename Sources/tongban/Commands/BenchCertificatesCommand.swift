import ArgumentParser
import Foundation
import Logging

/// `tongban bench certificates`: issuing, verifying and revoking certificates, each figure against its goal
/// (issue #20).
struct CertificatesBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificates",
        abstract:
            "Certificates/s issued and verified over HTTP/1.1 (audit on), p50/p99, Ed25519 sign rate, revocation delay.",
        discussion: """
            Publishes a synthetic population to a Kafka mock cluster and applies it to its own PostgreSQL, then runs \
            the server in this process (a hub key made for the run, the audit log on) beside a projector and the \
            re-checker. Over keep-alive connections it issues kinship certificates back to back (throughput at \
            saturation) and at a fixed offered rate (p50/p99, timed from when each request was due; when saturation \
            is below that rate, also at a share of saturation), verifies issued certificates with POST /v1/verify, \
            measures the raw Ed25519 sign rate and DataIntegrity.sign of a certificate, and publishes death events \
            through Kafka: for each, the delay from its application to the revocation in the database and to the \
            bit in the served status list. Goals on a 2-core machine: ≥ 5,000 certificates/s; issuance p99 ≤ 5 ms \
            at 1,000/s; revocation visible ≤ 1 s after the event is applied (p99). Build with -c release for \
            meaningful figures.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "People in the generated population (about 35 events each).")
    var people = 10_000

    @Option(
        name: [.customLong("seconds"), .customLong("duration")],
        help: "Seconds of each measured phase (issuance at saturation and at each rate, verification).")
    var seconds = 10.0

    @Option(help: "Seconds of warm-up before the measured phases.")
    var warmupSeconds = 3.0

    @Option(help: "The fixed offered rate of issuance, in requests per second, for the latency percentiles.")
    var rate = 1_000.0

    @Option(help: "HTTP/1.1 keep-alive connections of the load generator.")
    var connections = 32

    @Option(help: "PostgreSQL connections of the server's pool.")
    var databaseConnections = 8

    @Option(help: "Death events published through Kafka, each revoking one certificate (one every 100 ms).")
    var revocations = 100

    func validate() throws {
        try global.refuseConfiguredDatabase(benchmark: "certificates")
        guard people > 0, seconds > 0, warmupSeconds >= 0, rate > 0, connections > 0, databaseConnections > 0,
            revocations > 0
        else {
            throw ValidationError(
                "--people, --seconds, --rate, --connections, --database-connections and --revocations must be "
                    + "positive, --warmup-seconds not negative")
        }
    }

    func run() async throws {
        try global.refuseConfiguredDatabase(benchmark: "certificates")
        let logger = global.bootstrapLogging(label: "tongban.bench")
        var options = CertificatesBenchmark.Options()
        options.people = people
        options.seconds = seconds
        options.warmupSeconds = warmupSeconds
        options.rate = rate
        options.connections = connections
        options.databaseConnections = databaseConnections
        options.revocations = revocations
        print(try await CertificatesBenchmark.run(options, logger: logger))
    }
}
