import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections
import SyntheticPopulation

/// `tongban bench apply`: the views' store alone, without Kafka, to see what the apply costs on each side.
///
/// A signed synthetic population is read as a rebuild reads it (`EventValidator.readAccepted`, then fingerprinted
/// as `StagedEvent`s) and applied in batches with `ViewStore.apply` on one connection, from an empty database: a
/// private `EmbeddedPostgres` cluster started for the run and removed after it (never a configured database).
/// Reading and applying are timed apart; the CPU of this process and of PostgreSQL during the apply is reported
/// per event.
enum ApplyBenchmark {
    static func run(events: Int, batchSize: Int, logger: Logger) async throws -> [BenchmarkFigure] {
        var configuration = PopulationConfiguration(people: max(1, events / 35), seed: 7)
        configuration.signingKeys = DevKeys.all
        var messages: [(partition: KafkaTopicPartition, line: [UInt8])] = []
        var next: [KafkaTopicPartition: Int64] = [:]
        print("generating about \(events) signed events…")
        _ = try PopulationGenerator(configuration).generate { event in
            var hash: UInt32 = 2_166_136_261
            for byte in event.key.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
            messages.append((KafkaTopicPartition(event.topic, Int32(hash % 48)), event.line))
        }
        var server = EmbeddedPostgres.Configuration()
        server.settings["max_wal_size"] = "4GB"
        server.settings["shared_buffers"] = "512MB"
        let postgres = try await EmbeddedPostgres.start(server, logger: logger)
        do {
            let figures = try await measure(
                messages, batchSize: batchSize, conninfo: postgres.conninfo(), offsets: &next, logger: logger)
            try await postgres.stop()
            return figures
        } catch {
            try? await postgres.stop()
            throw error
        }
    }

    private static func measure(
        _ messages: [(partition: KafkaTopicPartition, line: [UInt8])], batchSize: Int, conninfo: String,
        offsets: inout [KafkaTopicPartition: Int64], logger: Logger
    ) async throws -> [BenchmarkFigure] {
        let database = PostgresClient(configuration: .init(conninfo: conninfo, maxConnections: 1), logger: logger)
        _ = try await TongbanMigrations.migrate(database, logger: logger)
        let validator = try EventValidator()
        let store = ViewStore()
        var reading = Duration.zero
        var applying = Duration.zero
        var applyCPU = (benchmark: 0.0, postgres: 0.0)
        var progress = ProgressBar(label: "apply", total: messages.count)
        var done = 0
        try await database.withConnection { connection in
            var start = 0
            while start < messages.count {
                let end = min(messages.count, start + batchSize)
                let readStart = ContinuousClock.now
                var staged: [StagedEvent] = []
                staged.reserveCapacity(end - start)
                for (partition, line) in messages[start..<end] {
                    let offset = offsets[partition, default: 0]
                    offsets[partition] = offset + 1
                    let event = try validator.readAccepted(line)
                    staged.append(try StagedEvent(event, at: partition, offset: offset, message: line))
                }
                reading += ContinuousClock.now - readStart
                let before = ProcessCPU.snapshot()
                let applyStart = ContinuousClock.now
                try await store.apply(staged, checkpoints: [], on: connection)
                applying += ContinuousClock.now - applyStart
                let after = ProcessCPU.snapshot()
                applyCPU.benchmark += after.benchmark - before.benchmark
                applyCPU.postgres += after.postgres - before.postgres
                done = end
                progress.update(done)
                start = end
            }
        }
        progress.finish(done)
        await database.shutdown()
        let count = Double(messages.count)
        return [
            BenchmarkFigure(
                name: "read (readAccepted + fingerprint)", value: count / reading.seconds, unit: "events/s",
                note: String(format: "one core, %.1f µs per event", reading.seconds * 1e6 / count)),
            BenchmarkFigure(
                name: "apply (ViewStore, 1 connection)", value: count / applying.seconds, unit: "events/s",
                note: String(
                    format: "batches of %d; CPU per event: this process %.1f µs, PostgreSQL %.1f µs", batchSize,
                    applyCPU.benchmark * 1e6 / count, applyCPU.postgres * 1e6 / count)),
        ]
    }
}
