import ArgumentParser
import Foundation
import Logging

/// `tongban bench rebuild`: a shadow rebuild while the live views serve and project (issue #21).
struct RebuildBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Shadow rebuild events/s and the swap's hold on readers, with readers and a live projector running.",
        discussion: """
            Publishes a signed synthetic population to its own Kafka mock cluster, projects it into its own \
            PostgreSQL with `tongban project` (a child process), then, with the live projector running again, \
            readers asking the contract views questions and a trickle of duplicates of published messages, rebuilds \
            the views into a shadow copy (ShadowRebuilder, in this process) and swaps it in. Reports the rebuild's \
            rate, its index build and wall time, how long the swap held readers and the live projector, the readers' \
            latencies, failures and reads not ready, and what the live projector applied meanwhile; after the swap \
            every contract view must equal what it was before. Issue #21 names no limit; the 1 s goal for the swap \
            is this bench's own. Fails (after printing the report) when a read failed, found the views not ready or \
            answered differently, or a view changed. Build with -c release for meaningful figures.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Events to publish (a signed synthetic population of about events/35 people).") var events = 1_000_000
    @Option(help: "Partitions of each department topic (the mock keeps at most 5 MiB each).") var partitions = 48
    @Option(help: "Reader tasks, each with a PostgreSQL connection of its own.") var readers = 4
    @Option(help: "Reads per second offered by all the readers together.") var readsPerSecond = 400.0
    @Option(help: "Copies of published messages sent again per second (0: none).") var tricklePerSecond = 200.0
    @Flag(help: "Rebuild keeping the ledger (tongban rebuild --keep-ledger; default --full).") var keepLedger = false
    @Option(help: "Messages per batch, for the projectors and the rebuild.") var batchSize = 5_000
    @Option(help: "Connections each projector and the rebuild apply a batch on.") var applyConnections = 2

    /// The benchmark's options, as given.
    var options: RebuildBenchmark.Options {
        RebuildBenchmark.Options(
            events: events, partitions: partitions, batchSize: batchSize, applyConnections: applyConnections,
            readers: readers, readsPerSecond: readsPerSecond, tricklePerSecond: tricklePerSecond,
            keepingLedger: keepLedger)
    }

    func validate() throws {
        try global.refuseConfiguredDatabase(benchmark: "rebuild")
        if let problem = options.problem { throw ValidationError(problem) }
    }

    func run() async throws {
        try global.refuseConfiguredDatabase(benchmark: "rebuild")
        let outcome = try await RebuildBenchmark.run(options, logger: global.bootstrapLogging(label: "tongban.bench"))
        print(outcome.report)
        guard outcome.problems.isEmpty else {
            throw CommandFailure("the rebuild disturbed the live views: " + outcome.problems.joined(separator: "; "))
        }
    }
}
