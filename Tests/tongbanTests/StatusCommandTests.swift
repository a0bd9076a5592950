import ArgumentParser
import Foundation
import Kafka
import Logging
import Postgres
import Projections
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import tongban

/// `tongban status` and `tongban migrate`: the real executable against a projected population on a mock Kafka cluster,
/// read through its `--json` document, and the parts that need a moving checkpoint (events/s, rebuild progress) in
/// process.
@Suite("#21 tongban status", .sharedMachine)
struct StatusCommandTests {
    /// Runs `tongban ARGUMENTS` with the database (and Kafka, when given) in its environment only: no inherited `PG*`,
    /// `DATABASE_URL` or `KAFKA_*` variable points it anywhere else.
    static func tongban(
        _ arguments: [String], database: TestDatabase, kafka: String? = nil
    ) async throws -> TestProcess.Result {
        try await TestProcess.run(
            try TongbanExecutable.required(), arguments, environment: environment(database: database, kafka: kafka))
    }

    /// The environment of a child `tongban`.
    static func environment(database: TestDatabase, kafka: String?) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("PG") && !$0.key.hasPrefix("KAFKA_") && $0.key != "DATABASE_URL"
        }
        environment["DATABASE_URL"] = database.conninfo
        environment["KAFKA_BOOTSTRAP_SERVERS"] = kafka
        return environment
    }

    /// Parses a `--json` document.
    static func document(_ text: String) throws -> [String: Any] {
        try #require(
            JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    /// The partitions of the one view group of a document, by topic and partition.
    static func partitions(_ document: [String: Any]) throws -> [KafkaTopicPartition: [String: Any]] {
        let groups = try #require(document["viewGroups"] as? [[String: Any]])
        try #require(groups.count == 1)
        #expect(groups[0]["viewGroup"] as? String == "tongban.views")
        var result: [KafkaTopicPartition: [String: Any]] = [:]
        for entry in try #require(groups[0]["partitions"] as? [[String: Any]]) {
            let topic = try #require(entry["topic"] as? String)
            let partition = try #require(entry["partition"] as? Int)
            result[KafkaTopicPartition(topic, Int32(partition))] = entry
        }
        return result
    }

    /// A number of a document as Int64 (`nil` for JSON's null or a missing member).
    static func int(_ value: Any?) -> Int64? {
        (value as? NSNumber).map { $0.int64Value }
    }

    @Test("--json: positions, ends and lag of every partition, dead letters, last error; lag unknown without Kafka")
    func projectedPopulation() async throws {
        let population = try SignedPopulation.make(people: 30, seed: 2104, anomalyRate: 0.03)
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            _ = try await ProjectionScenario.project(cluster, database: db, group: TestNames.unique("status"))
            // Published once the projector has stopped: the views do not hold them, and status must say so.
            let late = Array(population.events.filter { $0.department == .household && $0.shouldBeApplied }.prefix(7))
            try #require(late.count == 7)
            try await ProjectionScenario.publish(late, to: cluster)
            let ends = try await ProjectionScenario.endOffsets(on: cluster)
            let checkpoints = try await ProjectionScenario.checkpoints(conninfo: db.conninfo)
            try #require(!checkpoints.isEmpty)

            let result = try await Self.tongban(
                ["status", "--json", "--sample-seconds", "0"], database: db, kafka: cluster.bootstrapServers)
            #expect(result.status == 0, "\(result.errors)")
            let document = try Self.document(result.output)
            #expect(document["format"] as? String == "tongban.status.v1")
            let kafka = try #require(document["kafka"] as? [String: Any])
            #expect(kafka["configured"] as? Bool == true && kafka["reachable"] as? Bool == true)
            let views = try #require(document["views"] as? [String: Any])
            #expect(views["ready"] as? Bool == true && views["rebuilding"] as? Bool == false)
            #expect(Self.int(views["partitions"]) == Int64(checkpoints.count))
            #expect(views["rebuild"] is NSNull)

            // Every partition of every department topic, as Kafka and the checkpoints have it.
            let partitions = try Self.partitions(document)
            #expect(Set(partitions.keys) == Set(ends.keys))
            for (partition, end) in ends {
                let entry = try #require(partitions[partition])
                let position = checkpoints[partition]
                #expect(Self.int(entry["position"]) == position, "\(partition)")
                #expect(Self.int(entry["highWatermark"]) == end, "\(partition)")
                #expect(Self.int(entry["earliestOffset"]) == 0, "\(partition)")
                #expect(Self.int(entry["lag"]) == end - (position ?? 0), "\(partition)")
                #expect(entry["problem"] is NSNull, "\(partition)")
                #expect(entry["eventsPerSecond"] is NSNull, "no second sample: --sample-seconds 0")
            }
            let group = try #require((document["viewGroups"] as? [[String: Any]])?.first)
            #expect(Self.int(group["lag"]) == 7, "the messages published after the projector stopped")
            #expect(Self.int(group["position"]) == checkpoints.values.reduce(0, +))

            // The dead letters: what the database holds, per topic.
            let recorded = try await db.client.query(
                "SELECT topic, count(*)::bigint FROM tongban.dead_letter GROUP BY topic"
            ).map { (try $0.decode(String.self, at: 0), Int(try $0.decode(Int64.self, at: 1))) }
            let total = recorded.reduce(0) { $0 + $1.1 }
            try #require(total > 0, "the population's anomalies are dead letters")
            #expect(total == population.rejected.count)
            var deadLetters = try #require(document["deadLetters"] as? [String: Any])
            #expect(Self.int(deadLetters["total"]) == Int64(total))
            #expect(Self.int(deadLetters["notRedriven"]) == Int64(total))
            let topics = try #require(deadLetters["topics"] as? [[String: Any]])
            #expect(
                Dictionary(uniqueKeysWithValues: topics.map { ($0["topic"] as? String ?? "", Self.int($0["total"])) })
                    == Dictionary(uniqueKeysWithValues: recorded.map { ($0.0, Int64?(Int64($0.1))) }))

            // One more dead letter: counted, and the newest is the last error.
            let reason = "inserted by StatusCommandTests: unknown key id household/none"
            try await db.client.execute(
                """
                INSERT INTO tongban.dead_letter (topic, partition, message_offset, value, reason)
                VALUES ('tongban.household', 0, 999999, '\\x7b7d', \(reason))
                """)
            let after = try Self.document(
                try await Self.tongban(
                    ["status", "--json", "--sample-seconds", "0"], database: db, kafka: cluster.bootstrapServers
                ).output)
            deadLetters = try #require(after["deadLetters"] as? [String: Any])
            #expect(Self.int(deadLetters["total"]) == Int64(total + 1))
            let household = (deadLetters["topics"] as? [[String: Any]])?.first {
                $0["topic"] as? String == "tongban.household"
            }
            let householdBefore = recorded.first { $0.0 == "tongban.household" }?.1 ?? 0
            #expect(Self.int(household?["total"]) == Int64(householdBefore + 1))
            let lastError = try #require(after["lastError"] as? [String: Any])
            #expect(lastError["source"] as? String == "dead-letter")
            #expect(lastError["position"] as? String == "tongban.household:0:999999")
            #expect(lastError["detail"] as? String == reason)

            // The table: a line per partition, the dead letters and the last error.
            let text = try await Self.tongban(
                ["status", "--sample-seconds", "0"], database: db, kafka: cluster.bootstrapServers)
            #expect(text.status == 0)
            #expect(text.output.contains("view group tongban.views: position"))
            #expect(text.output.contains("dead letters \(total + 1) (\(total + 1) not redriven)"))
            #expect(text.output.contains("last error "))
            #expect(text.output.contains("tongban.household:0:999999: \(reason)"))
            for partition in ends.keys {
                let row = "  \(partition.topic) "
                #expect(
                    text.output.split(separator: "\n").contains {
                        $0.hasPrefix(row) && $0.split(separator: " ").dropFirst().first == "\(partition.partition)"
                    }, "no row for \(partition)")
            }
            #expect(!text.output.contains("\u{1B}"), "no terminal control without --watch")

            // Kafka gone: the command still answers, with lag unknown and the positions from PostgreSQL.
            let started = ContinuousClock.now
            let unreachable = try await Self.tongban(
                ["status", "--json", "--sample-seconds", "0", "--kafka-timeout-seconds", "2"], database: db,
                kafka: "127.0.0.1:1")
            #expect(ContinuousClock.now - started < .seconds(30))
            #expect(unreachable.status == 0, "\(unreachable.errors)")
            let blind = try Self.document(unreachable.output)
            let blindKafka = try #require(blind["kafka"] as? [String: Any])
            #expect(blindKafka["reachable"] as? Bool == false)
            #expect((blindKafka["error"] as? String)?.isEmpty == false)
            let known = try Self.partitions(blind)
            #expect(Set(known.keys) == Set(checkpoints.keys), "only the checkpoints are known without Kafka")
            for (partition, entry) in known {
                #expect(Self.int(entry["position"]) == checkpoints[partition])
                #expect(entry["lag"] is NSNull && entry["highWatermark"] is NSNull)
            }
            #expect((blind["viewGroups"] as? [[String: Any]])?.first?["lag"] is NSNull)
        }
    }

    @Test("events/s from two samples, and a rebuild's progress and time left")
    func rateAndRebuild() async throws {
        try await withTestDatabase { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            // Partition 0 is being read again (a rebuild) at 100 of 400; partition 1 is back at its watermark.
            try await db.client.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                VALUES ('tongban.views', 'tongban.household', 0, 100, 400),
                       ('tongban.views', 'tongban.household', 1, 400, 400)
                """)
            let mover = Task {
                try await Task.sleep(for: .milliseconds(300))
                try await db.client.execute(
                    """
                    UPDATE tongban.checkpoint SET next_offset = 200, updated_at = now()
                    WHERE topic = 'tongban.household' AND partition = 0
                    """)
            }
            var output = ""
            let command = try StatusCommand.parse(["--json", "--sample-seconds", "1"])
            try await command.perform(database: db.client, kafka: nil) { output += $0 }
            try await mover.value
            let document = try Self.document(output)

            let kafka = try #require(document["kafka"] as? [String: Any])
            #expect(kafka["configured"] as? Bool == false && kafka["reachable"] is NSNull)
            let partitions = try Self.partitions(document)
            let moving = try #require(partitions[KafkaTopicPartition("tongban.household", 0)])
            let still = try #require(partitions[KafkaTopicPartition("tongban.household", 1)])
            // 100 offsets over a sample of a little more than 1 s.
            let rate = try #require(moving["eventsPerSecond"] as? Double)
            #expect(rate > 50 && rate <= 100, "\(rate)")
            #expect(still["eventsPerSecond"] as? Double == 0)
            #expect(moving["rebuildProgress"] as? Double == 0.5)
            #expect(still["rebuildProgress"] is NSNull)
            #expect(moving["lag"] is NSNull, "no Kafka: lag unknown")

            let views = try #require(document["views"] as? [String: Any])
            #expect(views["ready"] as? Bool == false && views["rebuilding"] as? Bool == true)
            #expect(Self.int(views["partitionsBehind"]) == 1)
            let rebuild = try #require(views["rebuild"] as? [String: Any])
            #expect(rebuild["progress"] as? Double == 0.75, "(200 + 400) of (400 + 400)")
            #expect(Self.int(rebuild["remaining"]) == 200)
            let eta = try #require(rebuild["etaSeconds"] as? Double)
            #expect(abs(eta - 200 / rate) < 0.001)
            #expect((document["deadLetters"] as? [String: Any]).map { Self.int($0["total"]) } == 0)
            #expect(document["lastError"] is NSNull)

            var text = ""
            try await StatusCommand.parse(["--sample-seconds", "0"]).perform(database: db.client, kafka: nil) {
                text += $0
            }
            #expect(text.contains("views     REBUILDING: 1 of 2 partitions below their verified watermark, 75.0 %"))
            #expect(text.contains("rebuilding: 50.0 % read again"))
            #expect(text.contains("kafka     not configured"))
        }
    }

    @Test("migrate and migrate --check; status refuses a database without the schema; --watch stops on SIGINT")
    func watchAndMigrate() async throws {
        try await withTestDatabase { db in
            let refused = try await Self.tongban(["status"], database: db)
            #expect(refused.status != 0)
            #expect(refused.errors.contains("run `tongban migrate`"), "\(refused.errors)")
            let pending = try await Self.tongban(["migrate", "--check"], database: db)
            #expect(pending.status == 1)
            #expect(pending.errors.contains("the database lacks migrations [1, "), "\(pending.errors)")

            let migrated = try await Self.tongban(["migrate"], database: db)
            #expect(migrated.status == 0, "\(migrated.errors)")
            let versions = try TongbanMigrations.all().map(\.version)
            #expect(migrated.output.contains("applied migrations \(versions)"))
            #expect(try await TongbanMigrations.pending(db.client).isEmpty)
            let again = try await Self.tongban(["migrate"], database: db)
            #expect(again.output.contains("nothing applied"))
            let checked = try await Self.tongban(["migrate", "--check", "--wait-seconds", "5"], database: db)
            #expect(checked.status == 0 && checked.output.contains("the schema is up to date"))

            // Nothing projected yet: not ready, the default view group with no partition known (no Kafka).
            let empty = try Self.document(
                try await Self.tongban(["status", "--json", "--sample-seconds", "0"], database: db).output)
            #expect((empty["views"] as? [String: Any])?["ready"] as? Bool == false)
            #expect(try Self.partitions(empty).isEmpty)

            // --watch: a frame a second, each clearing the screen, until SIGINT.
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("status-watch-\(UUID()).out")
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: output) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try TongbanExecutable.required())
            process.arguments = ["status", "--watch", "1"]
            process.environment = Self.environment(database: db, kafka: nil)
            let handle = try FileHandle(forWritingTo: output)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            func frames() -> Int {
                ((try? String(contentsOf: output, encoding: .utf8)) ?? "").components(separatedBy: "\u{1B}[2J").count
                    - 1
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while frames() < 3 && process.isRunning && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(frames() >= 3, "\((try? String(contentsOf: output, encoding: .utf8)) ?? "")")
            kill(process.processIdentifier, SIGINT)
            let stopDeadline = ContinuousClock.now + .seconds(10)
            while process.isRunning && ContinuousClock.now < stopDeadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(!process.isRunning, "still running 10 s after SIGINT")
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
            try handle.close()
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            #expect(text.contains("tongban status (every 1 s; Ctrl-C to stop)"))
            #expect(text.contains("views     NOT READY: nothing projected yet"))
        }
    }
}
