import ArgumentParser
import Foundation
import Testing
import TongbanTesting

@testable import tongban

/// `tongban bench serve` with tiny numbers, end to end: its own PostgreSQL, the real server, the load generator, the
/// bare questions, and a report giving every figure with its goal and ratio.
@Suite("#19 tongban bench serve", .sharedMachine)
struct ServeBenchTests {
    @Test("#19 bench serve runs end to end and prints each figure with its goal, its ratio and PostgreSQL's settings")
    func endToEnd() async throws {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("tongban")
        try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build tongban with `swift build`")
        // Benchmarks refuse a configured database: hand the child an environment without one.
        let environment = ProcessInfo.processInfo.environment.filter {
            $0.key != "DATABASE_URL" && !GlobalOptions.databaseVariables.contains($0.key)
        }
        let started = ContinuousClock.now
        let result = try await TestProcess.run(
            binary.path,
            [
                "bench", "serve", "--people", "30", "--seconds", "0.5", "--warmup-seconds", "0.2", "--rate", "50",
                "--connections", "3", "--database-connections", "2", "--log-level", "warning",
            ], environment: environment)
        #expect(result.status == 0, "\(result.output)\n\(result.errors.suffix(3_000))")
        let output = result.output
        #expect(ContinuousClock.now - started < .seconds(60))
        let goals = [
            ("throughput at saturation", "≥ 5000 q/s"), ("p99 at 50/s offered", "≤ 2.00 ms"),
            ("saturation ÷ bare questions", "≥ 0.70"),
        ]
        for (figure, goal) in goals {
            let line = output.split(separator: "\n").first { $0.hasPrefix(figure) }.map(String.init) ?? ""
            #expect(line.contains(goal), "\(figure): \(line)")
            // The ratio and the verdict follow the goal.
            let tail = line.components(separatedBy: goal).last ?? ""
            #expect(
                tail.split(separator: " ").count == 2 && Double(tail.split(separator: " ")[0]) != nil
                    && (tail.hasSuffix("met") || tail.hasSuffix("MISSED")), "\(line)")
        }
        for figure in [
            "p50 at 50/s offered", "p99.9 at 50/s offered", "bare questions, 2 connections", "bare kinship p50 / p99",
            "CPU per question, PostgreSQL",
        ] {
            #expect(output.contains(figure), "\(figure) missing:\n\(output)")
        }
        #expect(output.contains("fsync=off"), "what PostgreSQL ran with:\n\(output)")
        #expect(output.contains("pool of 2 PostgreSQL connections"))
        #expect(output.contains("one per request sent"), "every request audited:\n\(output)")
        #expect(output.contains("kinship pairs"))
        // The fixed rate is kept: 50/s offered for half a second.
        let achieved = output.split(separator: "\n").first { $0.contains("rate achieved") } ?? ""
        let value = achieved.split(separator: " ").dropFirst(2).first.flatMap { Double($0) } ?? 0
        #expect(value > 25 && value < 75, "\(achieved)")
    }

    @Test("#19 bench serve refuses a configured database and impossible numbers")
    func refuses() async throws {
        let refused = #expect(throws: (any Error).self) {
            try GlobalOptions.$environmentOverride.withValue(["DATABASE_URL": "postgresql://somewhere/real"]) {
                _ = try ServeBench.parse([])
            }
        }
        let message = refused.map { ServeBench.message(for: $0) } ?? ""
        #expect(message.contains("`tongban bench serve`") && message.contains("DATABASE_URL"), "\(message)")
        #expect(!message.contains("somewhere"), "the connection string is never repeated")
        #expect(throws: (any Error).self) {
            try GlobalOptions.$environmentOverride.withValue([:]) { _ = try ServeBench.parse(["--connections", "0"]) }
        }
        #expect(throws: (any Error).self) {
            try GlobalOptions.$environmentOverride.withValue([:]) { _ = try ServeBench.parse(["--rate", "-1"]) }
        }
        let parsed = try GlobalOptions.$environmentOverride.withValue([:]) { try ServeBench.parse([]) }
        #expect(parsed.rate == 1_000 && parsed.connections == 32 && parsed.databaseConnections == 8)
    }
}
