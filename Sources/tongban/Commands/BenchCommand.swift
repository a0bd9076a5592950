import ArgumentParser
import Foundation
import Logging

/// Benchmarks that print their figures. Build with `-c release` for meaningful numbers.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Tongban's throughput and latency on this machine (use a release build).",
        subcommands: [ClientsBench.self, EventsBench.self, IngestBench.self, ApplyBench.self]
    )
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

    func run() async throws {
        let logger = global.bootstrapLogging(label: "tongban.bench")
        #if DEBUG
            print("note: this is a debug build; run `swift run -c release tongban bench clients` for real figures")
        #endif
        var figures = try await KafkaBenchmark.run(messages: messages, partitions: partitions, logger: logger)
        figures += try await PostgresBenchRunner.run(global: global, rows: rows, logger: logger)
        print(BenchmarkTable.render(figures))
    }
}

/// `tongban bench events`: generation, validation, signing and verification rates.
struct EventsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Generate, validate, sign and verify events/s, against the raw Ed25519 verify rate."
    )

    @Option(help: "People in the generated population (about 34 events each).")
    var people = 20_000

    @Option(help: "Events sampled for the validate/sign/verify figures.")
    var sample = 100_000

    func run() async throws {
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

    func run() async throws {
        let logger = global.bootstrapLogging(label: "tongban.bench")
        #if DEBUG
            print("note: this is a debug build; run `swift run -c release tongban bench apply` for real figures")
        #endif
        let figures = try await ApplyBenchmark.run(
            events: events, batchSize: batchSize,
            conninfo: global.isDatabaseConfigured ? global.resolvedDatabaseURL : nil, logger: logger)
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

    func run() async throws {
        let logger = global.bootstrapLogging(label: "tongban.bench")
        #if DEBUG
            print("note: this is a debug build; run `swift run -c release tongban bench ingest` for real figures")
        #endif
        let options = IngestBenchmark.Options(
            events: events, partitions: partitions, batchSize: batchSize, applyConnections: applyConnections,
            conninfo: global.isDatabaseConfigured ? global.resolvedDatabaseURL : nil)
        print(BenchmarkTable.render(try await IngestBenchmark.run(options, logger: logger)))
    }
}
