import Foundation
import Postgres
import Projections
import Testing
import TongbanTesting

/// Apply throughput, printed (a benchmark, not a timed test): run with `TONGBAN_BENCH_APPLY=1`.
@Suite("Apply throughput", .sharedMachine)
struct ApplyBenchmark {
    @Test(
        "events per second for one big batch",
        .enabled(if: ProcessInfo.processInfo.environment["TONGBAN_BENCH_APPLY"] != nil, "set TONGBAN_BENCH_APPLY=1"))
    func throughput() async throws {
        let people = Int(ProcessInfo.processInfo.environment["TONGBAN_BENCH_PEOPLE"] ?? "") ?? 2_000
        let population = try ProjectionFixtures.make(people: people, seed: 7, anomalyRate: 0)
        let events = Array(population.events.prefix(50_000))
        try await withTestDatabase { db in
            try await ProjectionFixtures.migrate(db.client)
            let store = try ViewStore()
            let clock = ContinuousClock()
            let elapsed = try await clock.measure {
                try await ProjectionFixtures.apply(events, batchSize: events.count, store: store, client: db.client)
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(
                "apply: \(events.count) events in one transaction: \(seconds) s, \(Int(Double(events.count) / seconds)) events/s"
            )
        }
    }
}
