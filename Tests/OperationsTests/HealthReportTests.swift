import Foundation
import Testing
import TongbanTesting

@testable import Operations

@Suite("HealthReport", .sharedMachine)
struct HealthReportTests {
    @Test("the overall status is the worst check, ok when there are none")
    func overallIsWorst() {
        #expect(HealthReport(checks: [:]).status == .ok)
        #expect(HealthReport(checks: ["a": .ok("x"), "b": .degraded("y")]).status == .degraded)
        #expect(HealthReport(checks: ["a": .failing("x"), "b": .degraded("y")]).status == .failing)
        #expect(HealthReport.Status.ok < .degraded && HealthReport.Status.degraded < .failing)
        #expect(HealthReport.Status.degraded.isServing && !HealthReport.Status.failing.isServing)
    }

    @Test("JSON round trip with the status as a word; unknown words are rejected")
    func codable() throws {
        let report = HealthReport(status: .degraded, checks: ["kafka": .degraded("rebalancing")])
        let data = try JSONEncoder().encode(report)
        #expect(try JSONDecoder().decode(HealthReport.self, from: data) == report)
        #expect(String(decoding: data, as: UTF8.self).contains(#""status":"degraded""#))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(HealthReport.Status.self, from: Data(#""fine""#.utf8))
        }
    }

    @Test(
        "credentials that slip into a detail are masked",
        arguments: [
            ("postgres://tongban:s3cr3t@db:5432/tongban failed", "postgres://tongban:***@db:5432/tongban failed"),
            ("host=db password=s3cr3t dbname=x", "host=db password=*** dbname=x"),
            ("sasl.password: s3cr3t, retrying", "sasl.password: ***, retrying"),
            ("API_TOKEN=abc&x=1", "API_TOKEN=***&x=1"),
            ("assigned 12 partitions", "assigned 12 partitions"),
            ("last batch committed 0.4 s ago", "last batch committed 0.4 s ago"),
            ("postgres://db:5432/tongban", "postgres://db:5432/tongban"),
            ("no secret here, 3 tokens: fine", "no secret here, 3 tokens: fine"),
        ])
    func redaction(input: String, expected: String) {
        #expect(HealthReport.redactingCredentials(in: input) == expected)
        let report = HealthReport(checks: ["x": .failing(input)]).redactingCredentials()
        #expect(report.checks["x"] == .failing(expected))
    }
}
