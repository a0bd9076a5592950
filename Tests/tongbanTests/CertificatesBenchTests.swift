import ArgumentParser
import Foundation
import Testing
import TongbanTesting

@testable import tongban

/// `tongban bench certificates` with tiny numbers, end to end: its own PostgreSQL and Kafka mock cluster, the real
/// server with the projector and the re-checker, the load generator, the signing rates, deaths through Kafka, and a
/// report giving every figure with its goal and ratio.
@Suite("#20 tongban bench certificates", .sharedMachine)
struct CertificatesBenchTests {
    /// The line of the report that starts with `figure`.
    static func line(_ output: String, _ figure: String) -> String {
        output.split(separator: "\n").first { $0.hasPrefix(figure) }.map(String.init) ?? ""
    }

    /// The number that starts a figure's value (after its name).
    static func value(_ line: String, after figure: String) -> Double? {
        line.dropFirst(figure.count).split(separator: " ").first.flatMap { Double($0) }
    }

    @Test(
        "#20 bench certificates runs end to end: issuance, verification, signing and revocation, each figure with its goal, ratio and PostgreSQL's settings"
    )
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
                "bench", "certificates", "--people", "40", "--duration", "0.5", "--warmup-seconds", "0.2", "--rate",
                "40", "--connections", "3", "--database-connections", "2", "--revocations", "3", "--log-level",
                "warning",
            ], environment: environment)
        #expect(result.status == 0, "\(result.output)\n\(result.errors.suffix(3_000))")
        let output = result.output
        #expect(ContinuousClock.now - started < .seconds(150))
        let goals = [
            ("issuance throughput at saturation", "≥ 5000 cert/s"), ("issuance p99 at 40/s offered", "≤ 5.00 ms"),
            ("revocation in the database, p99", "≤ 1000.00 ms"),
            ("revocation in the served status list, p99", "≤ 1000.00 ms"),
            ("certificates/s the CPU allows", "≥ 5000 cert/s"),
        ]
        for (figure, goal) in goals {
            let line = Self.line(output, figure)
            #expect(line.contains(goal), "\(figure): \(line)\n\(output)")
            // The ratio and the verdict follow the goal.
            let tail = line.components(separatedBy: goal).last ?? ""
            let words = tail.split(separator: " ")
            #expect(
                words.count == 2 && Double(words[0]) != nil && (tail.hasSuffix("met") || tail.hasSuffix("MISSED")),
                "\(line)")
        }
        for figure in [
            "issuance p50 at 40/s offered", "verification throughput at saturation",
            "  verification p50 / p99 at saturation", "Ed25519 sign (swift-crypto), 1 core",
            "DataIntegrity.sign of a certificate, 1 core", "revocation in the database, p50",
            "revocation in the served status list, p50", "CPU per certificate, server (this process)",
            "CPU per certificate, PostgreSQL", "CPU per verification, server (this process)",
        ] {
            #expect(!Self.line(output, figure).isEmpty, "\(figure) missing:\n\(output)")
        }
        // Each sign rate is a positive number of signatures per second.
        for figure in ["Ed25519 sign (swift-crypto), 1 core", "DataIntegrity.sign of a certificate, 1 core"] {
            let rate = Self.value(Self.line(output, figure), after: figure) ?? 0
            #expect(rate > 0, "\(Self.line(output, figure))")
        }
        #expect(output.contains("fsync=off"), "what PostgreSQL ran with:\n\(output)")
        #expect(output.contains("jit=off"), "the settings as the API's sessions see them:\n\(output)")
        #expect(output.contains("pool of 2 PostgreSQL connections"))
        #expect(output.contains("one per request sent"), "every audited request in the audit log:\n\(output)")
        #expect(output.contains("kinship pairs that can be certified"))
        #expect(output.contains("what limits issuance:"))
        // Every death revoked its certificate, and the served list showed each bit.
        #expect(output.contains("3 / 3 of 3"), "\(Self.line(output, "  revocations seen"))")
        // The fixed rate is kept (40/s offered for half a second), unless saturation is below it: then a share of
        // saturation is offered as well.
        let saturation =
            Self.value(
                Self.line(output, "issuance throughput at saturation"), after: "issuance throughput at saturation")
            ?? 0
        let below = output.split(separator: "\n").first { $0.hasPrefix("issuance p99 at") && $0.contains("× sat.") }
        #expect((saturation < 40) == (below != nil), "saturation \(saturation)/s:\n\(output)")
    }

    @Test("#20 bench certificates refuses a configured database and impossible numbers")
    func refuses() async throws {
        let refused = #expect(throws: (any Error).self) {
            try GlobalOptions.$environmentOverride.withValue(["DATABASE_URL": "postgresql://somewhere/real"]) {
                _ = try CertificatesBench.parse([])
            }
        }
        let message = refused.map { CertificatesBench.message(for: $0) } ?? ""
        #expect(message.contains("`tongban bench certificates`") && message.contains("DATABASE_URL"), "\(message)")
        #expect(!message.contains("somewhere"), "the connection string is never repeated")
        for arguments in [["--revocations", "0"], ["--rate", "-1"], ["--duration", "0"]] {
            #expect(throws: (any Error).self) {
                try GlobalOptions.$environmentOverride.withValue([:]) { _ = try CertificatesBench.parse(arguments) }
            }
        }
        let parsed = try GlobalOptions.$environmentOverride.withValue([:]) { try CertificatesBench.parse([]) }
        #expect(parsed.people == 10_000 && parsed.rate == 1_000 && parsed.seconds == 10 && parsed.revocations == 100)
        let short = try GlobalOptions.$environmentOverride.withValue([:]) {
            try CertificatesBench.parse(["--duration", "2"])
        }
        #expect(short.seconds == 2, "--duration is --seconds")
    }
}
