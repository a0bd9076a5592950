import Events
import Foundation
import Kafka
import Postgres
import Projections
import SyntheticPopulation
import Testing
import TongbanTesting

/// `tongban project` processes killed with SIGKILL at random moments: the views must end equal to a from-zero
/// application of the valid events — nothing lost, nothing doubled.
@Suite("tongban project survives SIGKILL", .quietMachine)
struct ProjectorCrashTests {
    /// A `tongban project` child process.
    final class ProjectProcess: @unchecked Sendable {
        let process = Process()
        let output: URL
        /// What `tongban project` logs once it traps SIGTERM, before the rest of its start-up.
        static let started = "starting tongban project"

        /// Starts `tongban project` against the mock cluster and the test database.
        init(cluster: KafkaMockCluster, database: TestDatabase, batchSize: Int) throws {
            let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
                .appendingPathComponent("tongban")
            guard FileManager.default.isExecutableFile(atPath: binary.path) else {
                throw ScenarioError("the tongban executable is not at \(binary.path): build it with `swift build`")
            }
            output = FileManager.default.temporaryDirectory.appendingPathComponent("project-\(UUID()).log")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            process.executableURL = binary
            process.arguments = [
                "project", "--allow-development-keys", "--no-metrics", "--batch-size", String(batchSize),
                "--batch-wait-ms", "50",
                "--group", "crash-test", "--log-level", "notice",
                // A killed member leaves no goodbye: keep the wait for its session to expire short, but longer than
                // the mock coordinator's 3 s initial rebalance delay (librdkafka 2.0.2): a shorter session expires a
                // member while its first JoinGroup waits, and it never joins. The rebalance timeout (max poll
                // interval) bounds how long a JoinGroup can stay unanswered.
                "--kafka-property", "session.timeout.ms=6000", "--kafka-property", "heartbeat.interval.ms=1000",
                "--kafka-property", "max.poll.interval.ms=15000",
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["KAFKA_BOOTSTRAP_SERVERS"] = cluster.bootstrapServers
            environment["DATABASE_URL"] = database.conninfo
            // The development keys of this test process, which signed the population.
            let keys = FileManager.default.temporaryDirectory.appendingPathComponent("crash-keys-\(UUID()).jwks")
            try Data((DevKeys.registry.jwks + "\n").utf8).write(to: keys)
            environment["TONGBAN_DEPARTMENT_KEYS"] = keys.path
            process.environment = environment
            let handle = try FileHandle(forWritingTo: output)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        func kill() async {
            Foundation.kill(process.processIdentifier, SIGKILL)
            await exited()
        }

        /// Waits until the process has logged `text`.
        func waitForLog(_ text: String) async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while !log.contains(text) {
                guard process.isRunning, ContinuousClock.now < deadline else {
                    throw ScenarioError("tongban project never logged \"\(text)\":\n\(log.suffix(3_000))")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }

        /// SIGTERM, and waits for the graceful exit; returns the exit status.
        func terminate() async -> Int32 {
            process.terminate()
            await exited()
            return process.terminationStatus
        }

        /// Waits for the process to end without blocking a thread of the cooperative pool.
        private func exited() async {
            while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }

        var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

        deinit {
            if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(at: output)
        }
    }

    /// Waits until the checkpoints reach `ends`; when they do not, the error carries the projectors' logs.
    static func waitUntilCaughtUp(
        _ ends: [KafkaTopicPartition: Int64], database: TestDatabase, watching processes: ProjectProcess...
    ) async throws {
        do {
            try await ProjectionScenario.waitUntilCaughtUp(ends, conninfo: database.conninfo)
        } catch {
            let logs = processes.enumerated().map {
                "log of projector \($0.offset + 1):\n\($0.element.log.suffix(4_000))"
            }
            throw ScenarioError(([String(describing: error)] + logs).joined(separator: "\n"))
        }
    }

    static func applied(_ conninfo: String) async -> Int64 {
        let checkpoints = (try? await ProjectionScenario.checkpoints(conninfo: conninfo)) ?? [:]
        return checkpoints.values.reduce(0, +)
    }

    /// The views, ledger and dead-letter table equal the reference; the dead-letter topic holds every rejected
    /// message at least once (a crash between sending and committing may repeat one).
    static func checkOutcome(_ population: SignedPopulation, cluster: KafkaMockCluster, database: TestDatabase)
        async throws
    {
        #expect(try await ProjectionScenario.ledgerIDs(database.client) == population.appliedIDs)
        let live = try await ProjectionScenario.dump(database.client)
        try await withTestDatabase { reference in
            try await TongbanMigrations.migrate(reference.client, logger: TestPostgres.logger)
            try await ProjectionScenario.applyReference(population, to: reference.client)
            #expect(try await ProjectionScenario.dump(reference.client) == live)
        }
        let rejected = Set(population.rejected.map(\.line))
        let inTable = try await database.client.query("SELECT value FROM tongban.dead_letter").map {
            try $0.decode([UInt8].self, at: 0)
        }
        #expect(inTable.count == population.rejected.count)
        #expect(Set(inTable) == rejected)
        let onTopic = Set(try await ProjectionScenario.deadLetterMessages(on: cluster).map(\.value))
        #expect(onTopic == rejected)
    }

    @Test("#4 SIGKILL at 20 random moments, then a clean run: views equal the reference")
    func killedTwentyTimes() async throws {
        let population = try SignedPopulation.make(people: 500, seed: 51, anomalyRate: 0.03)
        try await ProjectionScenario.withPublished(population.events) { cluster, database in
            let ends = try await ProjectionScenario.endOffsets(on: cluster)
            var random = SystemRandomNumberGenerator()
            var killedWhileWorking = 0
            var idle: [String] = []
            for kill in 1...20 {
                let before = await Self.applied(database.conninfo)
                let process = try ProjectProcess(cluster: cluster, database: database, batchSize: 100)
                if kill % 4 == 0 {
                    // Now and then while starting: connecting, migrating, joining the group.
                    try await Task.sleep(for: .seconds(Double.random(in: 0.2...2, using: &random)))
                } else {
                    // Mostly while batches are applied: once the checkpoints move, at a random moment.
                    let deadline = ContinuousClock.now + .seconds(30)
                    while await Self.applied(database.conninfo) == before && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    try await Task.sleep(for: .seconds(Double.random(in: 0...1.5, using: &random)))
                }
                await process.kill()
                let after = await Self.applied(database.conninfo)
                if after > before {
                    killedWhileWorking += 1
                } else if kill % 4 != 0 {
                    idle.append("kill \(kill) found no progress in 30 s:\n\(process.log.suffix(3_000))")
                }
                #expect(!process.log.contains("Fatal error"), "kill \(kill): \(process.log.suffix(2_000))")
            }
            // Most kills must have hit a projector that was applying batches, or the test proves little.
            #expect(
                killedWhileWorking >= 10,
                "only \(killedWhileWorking) of 20 kills hit a working projector\n\(idle.joined(separator: "\n"))")
            // The killed ones may have finished the work already; then the stop below comes during start-up,
            // which must be graceful too. Only before the process traps its signals ("starting") would a SIGTERM
            // end it by the signal's default action.
            let last = try ProjectProcess(cluster: cluster, database: database, batchSize: 1_000)
            try await last.waitForLog(ProjectProcess.started)
            try await Self.waitUntilCaughtUp(ends, database: database, watching: last)
            #expect(await last.terminate() == 0, "\(last.log.suffix(2_000))")
            try await Self.checkOutcome(population, cluster: cluster, database: database)
        }
    }

    @Test("#4 SIGTERM during start-up: a graceful stop with status 0")
    func stoppedDuringStartUp() async throws {
        try await withMockCluster { cluster in
            try await ProjectionScenario.createTopics(on: cluster)
            try await withTestDatabase { database in
                // Not migrated yet: the projector's start-up applies the migrations, and the signal comes meanwhile.
                let process = try ProjectProcess(cluster: cluster, database: database, batchSize: 100)
                try await process.waitForLog(ProjectProcess.started)
                #expect(await process.terminate() == 0, "\(process.log.suffix(2_000))")
                // Before the fix, the signal's default action ended the process here (terminated by SIGTERM).
                #expect(process.process.terminationReason == .exit, "ended by a signal:\n\(process.log.suffix(2_000))")
            }
        }
    }

    @Test("#4 two instances in one group, one killed: the other takes over its partitions")
    func twoInstancesOneKilled() async throws {
        let population = try SignedPopulation.make(people: 250, seed: 52, anomalyRate: 0.03)
        try await ProjectionScenario.withPublished(population.events) { cluster, database in
            let ends = try await ProjectionScenario.endOffsets(on: cluster)
            let first = try ProjectProcess(cluster: cluster, database: database, batchSize: 100)
            let second = try ProjectProcess(cluster: cluster, database: database, batchSize: 100)
            // Both work before one dies: the checkpoints move.
            let deadline = ContinuousClock.now + .seconds(60)
            while await Self.applied(database.conninfo) < 2_000 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            await first.kill()
            try await Self.waitUntilCaughtUp(ends, database: database, watching: first, second)
            #expect(await second.terminate() == 0, "\(second.log.suffix(2_000))")
            try await Self.checkOutcome(population, cluster: cluster, database: database)
        }
    }
}
