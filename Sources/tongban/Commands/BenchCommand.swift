import ArgumentParser
import Foundation
import Logging

/// Benchmarks that print their figures. Build with `-c release` for meaningful numbers.
///
/// Every benchmark runs on the stack it starts itself (an `EmbeddedPostgres` cluster, a Kafka mock cluster) and
/// never on a configured one: `bench ingest` and `bench apply` empty the views and the ledger of the database they
/// measure. While a database is configured (`--database-url`, `DATABASE_URL`, `PGHOST`, …) each refuses before
/// connecting to anything (``GlobalOptions/refuseConfiguredDatabase(benchmark:)``).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Tongban's throughput and latency on this machine (use a release build).",
        discussion: """
            Each benchmark starts its own PostgreSQL (from the system's server binaries) and Kafka mock cluster, and \
            removes them when it ends. It never uses a configured database: while --database-url, DATABASE_URL or \
            PGHOST, PGHOSTADDR, PGPORT, PGDATABASE or PGSERVICE is set, it refuses to start.
            """,
        subcommands: [
            ClientsBench.self, EventsBench.self, IngestBench.self, ApplyBench.self, ServeBench.self,
            CertificatesBench.self, RebuildBench.self,
        ]
    )
}

extension GlobalOptions {
    /// Refuses to run a benchmark while a PostgreSQL server is configured: benchmarks run only on the embedded
    /// cluster they start (`bench ingest` and `bench apply` empty the views and the ledger of the database they use).
    /// - Parameter benchmark: the subcommand, e.g. `ingest`, for the message.
    /// - Throws: ``CommandFailure`` naming what configures the database and saying to unset it.
    func refuseConfiguredDatabase(benchmark: String) throws {
        let sources = databaseConfigurationSources
        guard !sources.isEmpty else { return }
        let variables = sources.filter { !$0.hasPrefix("--") }
        let remedies =
            (variables.isEmpty ? [] : ["unset \(variables.joined(separator: ", "))"])
            + (sources.contains("--database-url") ? ["drop --database-url"] : [])
        throw CommandFailure(
            "a database is configured (\(sources.joined(separator: ", "))), and benchmarks run only on the embedded "
                + "PostgreSQL they start, never on a configured database (`bench ingest` and `bench apply` empty the "
                + "views and the ledger): "
                + remedies.joined(separator: " and ") + " to run `tongban bench \(benchmark)`; nothing was touched")
    }
}

/// `tongban bench clients`: the Kafka and PostgreSQL client layers against their raw limits.
struct ClientsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: "Producer/consumer msgs/s on the mock cluster; COPY rows/s vs psql \\copy; round-trip p50/p99."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Messages to produce and consume.")
    var messages = 1_000_000

    @Option(help: "Partitions of the benchmark topic (the mock keeps at most 5 MiB per partition).")
    var partitions = 32

    @Option(help: "Rows for the COPY benchmarks.")
    var rows = 1_000_000

    func validate() throws { try global.refuseConfiguredDatabase(benchmark: "clients") }

    func run() async throws {
        try global.refuseConfiguredDatabase(benchmark: "clients")
        let logger = global.bootstrapLogging(label: "tongban.bench")
        #if DEBUG
            print("note: this is a debug build; run `swift run -c release tongban bench clients` for real figures")
        #endif
        var figures = try await KafkaBenchmark.run(messages: messages, partitions: partitions, logger: logger)
        figures += try await PostgresBenchRunner.run(rows: rows, logger: logger)
        print(BenchmarkTable.render(figures))
    }
}

/// `tongban bench events`: generation, validation, signing and verification rates.
struct EventsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Generate, validate, sign and verify events/s, against the raw Ed25519 verify rate."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "People in the generated population (about 34 events each).")
    var people = 20_000

    @Option(help: "Events sampled for the validate/sign/verify figures.")
    var sample = 100_000

    func validate() throws { try global.refuseConfiguredDatabase(benchmark: "events") }

    func run() async throws {
        try global.refuseConfiguredDatabase(benchmark: "events")
        #if DEBUG
            print("note: this is a debug build; run `swift run -c release tongban bench events` for real figures")
        #endif
        print(BenchmarkTable.render(try await EventsBenchmark.run(people: people, sample: sample)))
    }
}

/// `tongban bench apply`: the views' store alone (no Kafka).
struct ApplyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "ViewStore.apply events/s without Kafka, with the CPU of the projector side and of PostgreSQL."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Events to apply (a signed synthetic population of about events/35 people).")
    var events = 200_000

    @Option(help: "Events per batch (one transaction).")
    var batchSize = 5_000

    func validate() throws { try global.refuseConfiguredDatabase(benchmark: "apply") }

    func run() async throws {
        try global.refuseConfiguredDatabase(benchmark: "apply")
        let logger = global.bootstrapLogging(label: "tongban.bench")
        #if DEBUG
            print("note: this is a debug build; run `swift run -c release tongban bench apply` for real figures")
        #endif
        let figures = try await ApplyBenchmark.run(events: events, batchSize: batchSize, logger: logger)
        print(BenchmarkTable.render(figures))
    }
}

/// Prints figures as an aligned table.
enum BenchmarkTable {
    static func render(_ figures: [BenchmarkFigure]) -> String {
        let width = figures.map(\.name.count).max() ?? 10
        let unitWidth = figures.map(\.unit.count).max() ?? 8
        return figures.map { f in
            let whole = f.value >= 100 || f.value == f.value.rounded()
            let value = whole ? String(format: "%.0f", f.value) : String(format: "%.3f", f.value)
            return f.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                + value.leftPadded(to: 12) + " " + f.unit.padding(toLength: unitWidth, withPad: " ", startingAt: 0)
                + "  "
                + f.note
        }.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// `tongban bench ingest`: the projector against raw consume and the Ed25519 verify bound.
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Projector events/s verifying and in rebuild mode, against raw consume and the Ed25519 bound; RSS."
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Events to publish (a signed synthetic population of about events/35 people).")
    var events = 1_000_000

    @Option(help: "Partitions of each department topic (the mock keeps at most 5 MiB per partition).")
    var partitions = 48

    @Option(help: "Messages per projector batch.")
    var batchSize = 5_000

    @Option(help: "Connections each projector applies a batch on (tongban project --apply-connections).")
    var applyConnections = 2

    func validate() throws { try global.refuseConfiguredDatabase(benchmark: "ingest") }

    func run() async throws {
        try global.refuseConfiguredDatabase(benchmark: "ingest")
        let logger = global.bootstrapLogging(label: "tongban.bench")
        #if DEBUG
            print("note: this is a debug build; run `swift run -c release tongban bench ingest` for real figures")
        #endif
        let options = IngestBenchmark.Options(
            events: events, partitions: partitions, batchSize: batchSize, applyConnections: applyConnections)
        print(BenchmarkTable.render(try await IngestBenchmark.run(options, logger: logger)))
    }
}
