import ArgumentParser
import Foundation
import Logging

/// `tongban bench serve`: the certificate services' server under load, each figure against its goal (issue #19).
struct ServeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Questions/s at saturation and p50/p99/p99.9 at 1,000/s over HTTP/1.1, audit on, vs bare SQL.",
        discussion: """
            Projects a synthetic population into its own PostgreSQL, serves it in this process on a free loopback \
            port with the audit log on, and asks kinship questions (and pre-fill questions, once GET /v1/prefill \
            answers 200) over keep-alive connections: back to back for the throughput at saturation, then at a fixed \
            offered rate for the latency percentiles (timed from when each request was due), then the same \
            statements without HTTP, tokens or audit over as many connections as the server's pool has (the \
            database's limit). Goals on a 2-core machine: p99 ≤ 2 ms at 1,000/s; ≥ 5,000 questions/s; ≥ 0.7 × the \
            bare questions' rate. Build with -c release for meaningful figures.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "People in the generated population (about 35 events each).")
    var people = 10_000

    @Option(help: "Seconds of each measured phase (saturation, fixed rate, bare questions).")
    var seconds = 10.0

    @Option(help: "Seconds of warm-up before the measured phases.")
    var warmupSeconds = 3.0

    @Option(help: "The fixed offered rate, in requests per second, for the latency percentiles.")
    var rate = 1_000.0

    @Option(help: "HTTP/1.1 keep-alive connections of the load generator.")
    var connections = 32

    @Option(help: "PostgreSQL connections of the server's pool, and of the bare questions.")
    var databaseConnections = 8

    func validate() throws {
        try global.refuseConfiguredDatabase(benchmark: "serve")
        guard people > 0, seconds > 0, warmupSeconds >= 0, rate > 0, connections > 0, databaseConnections > 0 else {
            throw ValidationError(
                "--people, --seconds, --rate, --connections and --database-connections must be positive, "
                    + "--warmup-seconds not negative")
        }
    }

    func run() async throws {
        try global.refuseConfiguredDatabase(benchmark: "serve")
        let logger = global.bootstrapLogging(label: "tongban.bench")
        var options = ServeBenchmark.Options()
        options.people = people
        options.seconds = seconds
        options.warmupSeconds = warmupSeconds
        options.rate = rate
        options.connections = connections
        options.databaseConnections = databaseConnections
        print(try await ServeBenchmark.run(options, logger: logger))
    }
}
