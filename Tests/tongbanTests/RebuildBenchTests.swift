import ArgumentParser
import Foundation
import Testing
import TongbanTesting

@testable import tongban

/// `tongban bench rebuild` with tiny numbers, end to end: its own PostgreSQL and Kafka mock cluster, a live
/// `tongban project` child, readers and a trickle of duplicates around a shadow rebuild and its swap, and a report
/// giving every figure with what PostgreSQL ran with.
@Suite("#21 tongban bench rebuild", .sharedMachine)
struct RebuildBenchTests {
    @Test(
        "#21 bench rebuild runs end to end: the rebuild's rate and times, the swap's holds, the readers' latencies with no failure and no read not ready, the live projector's events, the views unchanged"
    )
    func endToEnd() async throws {
        // Benchmarks refuse a configured database: the child gets an environment without one.
        let environment = ProcessInfo.processInfo.environment.filter {
            $0.key != "DATABASE_URL" && !GlobalOptions.databaseVariables.contains($0.key)
        }
        let started = ContinuousClock.now
        let result = try await TestProcess.run(
            try TongbanExecutable.required(),
            [
                "bench", "rebuild", "--events", "2500", "--partitions", "4", "--readers", "2", "--reads-per-second",
                "100", "--trickle-per-second", "50", "--batch-size", "500", "--log-level", "warning",
            ], environment: environment)
        #expect(result.status == 0, "\(result.output)\n\(result.errors.suffix(3_000))")
        let output = result.output
        #expect(ContinuousClock.now - started < .seconds(90))
        // Counts that must be zero, judged against that goal.
        for figure in [
            "reader failures", "reads with view_state() not ready", "reads answered differently from before",
        ] {
            let line = CertificatesBenchTests.line(output, figure)
            #expect(
                CertificatesBenchTests.value(line, after: figure) == 0 && line.contains("= 0")
                    && line.contains(" met "), "\(line)")
        }
        // The swap's hold on readers, against the bench's own 1 s goal, with the ratio and the verdict.
        for figure in ["swap: readers held", "slowest read overlapping the swap"] {
            let line = CertificatesBenchTests.line(output, figure)
            let tail = line.components(separatedBy: "≤ 1000.00 ms").last ?? ""
            let words = tail.split(separator: " ")
            #expect(
                words.count >= 2 && Double(words[0]) != nil && (words[1] == "met" || words[1] == "MISSED"), "\(line)")
        }
        // Rates and times are positive numbers.
        for figure in [
            "live projection from zero (verifying)", "shadow rebuild, reading", "shadow rebuild, index build",
            "shadow rebuild, wall time incl. indexes and swap", "swap: live projector held", "reads",
            "read latency p50", "read latency p99", "read latency max", "live projector, events during the rebuild",
            "duplicates sent (50/s offered)",
        ] {
            let line = CertificatesBenchTests.line(output, figure)
            #expect((CertificatesBenchTests.value(line, after: figure) ?? 0) > 0, "\(figure): \(line)\n\(output)")
        }
        let views = CertificatesBenchTests.line(output, "contract views equal to before the rebuild")
        #expect(views.contains(" met ") && !views.contains("0 of 0"), "\(views)")
        // Every figure line says what PostgreSQL ran with; the header says it in full, and that #21 names no limit.
        let table = output.components(separatedBy: "\n").drop { !$0.hasPrefix("figure ") }.dropFirst()
        let figures = table.prefix { !$0.isEmpty }
        #expect(figures.count > 20, "\(output)")
        for figure in figures {
            #expect(
                figure.contains("[embedded PostgreSQL") && figure.contains("fsync=off")
                    && figure.contains("synchronous_commit=off"), "\(figure)")
        }
        #expect(output.contains("embedded (a private cluster for this run), fsync=off"), "\(output)")
        #expect(output.contains("issue #21 names none"))
        #expect(output.contains("the slowest read ("))
    }

    @Test("#21 bench rebuild refuses a configured database, when parsed and when run, and impossible numbers")
    func refuses() async throws {
        for configured in [["DATABASE_URL": "postgresql://somewhere/real"], ["PGHOST": "somewhere", "PGPORT": "1"]] {
            let refusal = #expect(throws: (any Error).self) {
                try GlobalOptions.$environmentOverride.withValue(configured) { _ = try RebuildBench.parse([]) }
            }
            let words = refusal.map { RebuildBench.message(for: $0) } ?? ""
            #expect(words.contains("`tongban bench rebuild`") && !words.contains("somewhere"), "\(words)")
            #expect(configured.keys.allSatisfy { words.contains($0) }, "\(words)")
        }
        // Parsed while nothing is configured, then run once something is: run() refuses before it starts anything.
        let parsed = try GlobalOptions.$environmentOverride.withValue([:]) { try RebuildBench.parse([]) }
        await #expect(throws: CommandFailure.self) {
            try await GlobalOptions.$environmentOverride.withValue(["PGDATABASE": "tongban"]) { try await parsed.run() }
        }
        // The defaults: a million events, full rebuild, 4 readers, 200 duplicates a second.
        let defaults = parsed.options
        #expect(defaults.events == 1_000_000 && defaults.partitions == 48 && !defaults.keepingLedger)
        #expect(defaults.readers == 4 && defaults.tricklePerSecond == 200 && defaults.problem == nil)
        #expect(defaults.batchSize == 5_000 && defaults.applyConnections == 2)
        let keeping = try GlobalOptions.$environmentOverride.withValue([:]) {
            try RebuildBench.parse(["--keep-ledger", "--trickle-per-second", "0"])
        }
        #expect(keeping.options.keepingLedger && keeping.options.problem == nil, "no trickle is allowed")
        for impossible in [
            ["--readers", "0"], ["--trickle-per-second", "-1"], ["--events", "0"], ["--batch-size", "0"],
        ] {
            #expect(throws: (any Error).self, "\(impossible)") {
                try GlobalOptions.$environmentOverride.withValue([:]) { _ = try RebuildBench.parse(impossible) }
            }
        }
    }
}
