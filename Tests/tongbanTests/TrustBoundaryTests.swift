import ArgumentParser
import Events
import Foundation
import Logging
import Postgres
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import Kafka
@testable import Projections
@testable import tongban

/// Only events a department really signed reach the views, in a rebuild as live: a key revoked after a leak takes
/// its events' trust away below the verified watermark, and a recreated topic's messages are verified again.
@Suite("#18 trust boundaries", .sharedMachine)
struct TrustBoundaryTests {
    @Test("#18 a key revoked after a leak: rebuild --keep-ledger and --full both refuse its events, with the reason")
    func revokedKeyRebuilds() async throws {
        let population = try SignedPopulation.make(people: 30, seed: 81, anomalyRate: 0)
        let leaked = DevKeys.key(for: .civilAffairs)
        var afterLeak = EventKeyRegistry()
        for key in DevKeys.all.values {
            try afterLeak.register(key, status: key.keyID == leaked.keyID ? .revoked : .active)
        }
        #expect(afterLeak.fingerprint != DevKeys.registry.fingerprint)
        let civilIDs = Set(population.events.filter { $0.department == .civilAffairs }.compactMap(\.id))
        try #require(!civilIDs.isEmpty)
        let logger = Logger(label: "test")
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            _ = try await ProjectionScenario.project(cluster, database: db, group: TestNames.unique("live"))
            try #require(try await ProjectionScenario.ledgerIDs(db.client).isSuperset(of: civilIDs))

            // What the views must be once the leaked key's events are refused: built from the rest alone.
            let reference = try await withTestDatabase { ref in
                try await TongbanMigrations.migrate(ref.client, logger: TestPostgres.logger)
                try await ProjectionScenario.applyReference(
                    population.filter { $0.department != .civilAffairs }, to: ref.client)
                return try await ProjectionScenario.dump(ref.client)
            }

            for kind in ["--keep-ledger", "--full"] {
                try await RebuildCommand.parse([kind, "--in-place", "--yes"]).perform(
                    database: db.client, logger: logger
                ) { _ in }
                _ = try await ProjectionScenario.project(
                    cluster, database: db, group: TestNames.unique("rebuild"), keys: afterLeak)
                #expect(try await ProjectionScenario.dump(db.client) == reference, "after rebuild \(kind)")
                let refused = try await db.client.query(
                    """
                    SELECT event_id::text FROM tongban.dead_letter
                    WHERE reason LIKE \("%key \(leaked.keyID) was revoked%")
                    """
                ).map { try $0.decode(String.self, at: 0) }
                #expect(Set(refused) == civilIDs, "after rebuild \(kind)")
            }
            // The full rebuild decided every event again: the ledger holds none of the leaked key's events.
            #expect(try await ProjectionScenario.ledgerIDs(db.client).isDisjoint(with: civilIDs))
        }
    }

    @Test("#18 a topic recreated with a forged event below the old watermark: every message is verified again")
    func recreatedTopic() async throws {
        let population = try SignedPopulation.make(people: 20, seed: 83, anomalyRate: 0)
        // Forged: a household event with another id, its signature copied from the original (it no longer matches).
        let original = try #require(population.events.first { $0.department == .household && $0.shouldBeApplied })
        let originalID = try #require(original.id)
        let forgedID = UUID().uuidString.lowercased()
        let forged = Array(
            String(decoding: original.line, as: UTF8.self).replacingOccurrences(of: originalID, with: forgedID).utf8)
        let logger = Logger(label: "test")
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            _ = try await ProjectionScenario.project(cluster, database: db, group: TestNames.unique("live"))
            let before = try await ProjectionScenario.dump(db.client)
            let watermarks = try await db.client.query(
                "SELECT count(*) FROM tongban.checkpoint WHERE verified_anchor IS NOT NULL AND verified_keys IS NOT NULL"
            )[0].decode(Int.self, at: 0)
            #expect(watermarks > 0)

            // The topics deleted and created again: the forged event first, then what the departments published.
            try await withMockCluster { recreated in
                try await ProjectionScenario.createTopics(on: recreated)
                try await ProjectionScenario.publish(
                    messages: [KafkaProducerMessage(topic: original.topic, key: original.key, value: forged)],
                    to: recreated)
                try await ProjectionScenario.publish(population.events, to: recreated)
                try await RebuildCommand.parse(["--full", "--in-place", "--yes"]).perform(
                    database: db.client, logger: logger
                ) { _ in
                }
                _ = try await ProjectionScenario.project(recreated, database: db, group: TestNames.unique("rebuild"))
            }
            #expect(!(try await ProjectionScenario.ledgerIDs(db.client).contains(forgedID)), "the forged event")
            let reasons = try await db.client.query(
                "SELECT reason FROM tongban.dead_letter WHERE event_id = \(UUID(uuidString: forgedID)!)"
            ).map { try $0.decode(String.self, at: 0) }
            #expect(reasons.count == 1 && reasons[0].contains("signature does not match"), "\(reasons)")
            #expect(try await ProjectionScenario.dump(db.client) == before)
        }
    }

    @Test("#18 below a trusted watermark a key revoked since is still refused (a lookup, not a signature check)")
    func keyLookupBelowWatermark() async throws {
        let population = try SignedPopulation.make(people: 5, seed: 84, anomalyRate: 0)
        let event = try #require(population.events.first { $0.department == .household && $0.shouldBeApplied })
        var registry = DevKeys.registry
        let message = KafkaMessage(
            topic: event.topic, partition: 0, offset: 0, key: Array(event.key.utf8), value: event.line, timestamp: nil,
            headers: [])
        let position = PartitionPosition(expected: 0, watermark: 10, trustedThrough: 10, rejected: [])
        let partition = KafkaTopicPartition(event.topic, 0)
        func prepare(_ keys: EventKeyRegistry) async throws -> PreparedBatch {
            let verifier = BatchVerifier(
                validator: try EventValidator(), keys: keys, tasks: 1, maximumClockSkew: .seconds(300))
            return await verifier.prepare([message], positions: [partition: position])
        }
        let trusted = try await prepare(registry)
        #expect(trusted.staged.count == 1 && trusted.trusted == 1)
        try registry.register(DevKeys.key(for: .household), status: .revoked)
        let refused = try await prepare(registry)
        #expect(refused.staged.isEmpty)
        #expect(refused.deadLetters.first?.reason.contains("was revoked") == true)
        #expect(try await prepare(EventKeyRegistry()).deadLetters.first?.reason.contains("unknown key id") == true)

        // A message larger than an event may be is refused unread.
        let verifier = BatchVerifier(
            validator: try EventValidator(), keys: registry, tasks: 1, maximumClockSkew: .seconds(300),
            maximumEventBytes: 64)
        let large = await verifier.prepare([message], positions: [partition: position])
        #expect(large.deadLetters.first?.reason.contains("more than the 64 an event may have") == true)
    }
}

@Suite("#18 development keys and rebuild --verify", .sharedMachine)
struct DevelopmentKeyTests {
    @Test("#18 tongban project refuses a key set holding a development key unless --allow-development-keys")
    func projectRefusesDevelopmentKeys() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dev-keys-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try DevelopmentKeyFiles.save(DevKeys.all, to: directory)
        let publicKeys = directory.appendingPathComponent("public.jwks").path
        // A production key set with one development key slipped in.
        var mixed = EventKeyRegistry()
        try mixed.register(try DepartmentSigningKey.generate(department: "property", name: "2026-01"))
        try mixed.register(DevKeys.key(for: .household))
        let mixedFile = directory.appendingPathComponent("mixed.jwks")
        try Data(mixed.jwks.utf8).write(to: mixedFile)
        for file in [publicKeys, mixedFile.path] {
            await #expect {
                _ = try await ProjectCommand.parse(["--keys", file]).loadKeys()
            } throws: { error in
                "\(error)".contains("development keys") && "\(error)".contains(DevKeys.key(for: .household).keyID)
                    && "\(error)".contains("--allow-development-keys")
            }
        }
        let allowed = try await ProjectCommand.parse(["--keys", publicKeys, "--allow-development-keys"]).loadKeys()
        #expect(allowed.fingerprint == DevKeys.registry.fingerprint)
        // The private halves were written for the developer, readable by the owner alone.
        let mode =
            try FileManager.default.attributesOfItem(
                atPath: directory.appendingPathComponent("household.private.jwk").path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(throws: (any Error).self) {
            try KeysCommand.Generate.parse(["--department", "household", "--name", "dev-only-1"]).run()
        }
    }

    @Test("#18 rebuild --verify trusts no watermark: every signature is verified again, and vouched for again")
    func rebuildVerify() async throws {
        let population = try SignedPopulation.make(people: 12, seed: 85, anomalyRate: 0)
        let logger = Logger(label: "test")
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            _ = try await ProjectionScenario.project(cluster, database: db, group: TestNames.unique("live"))
            let before = try await ProjectionScenario.dump(db.client)
            try await RebuildCommand.parse(["--full", "--in-place", "--yes"]).perform(
                database: db.client, logger: logger
            ) { _ in }
            let trusting = try await ProjectionScenario.project(cluster, database: db, group: TestNames.unique("r1"))
            #expect(trusting[0].trusted == population.events.count)
            var said: [String] = []
            try await RebuildCommand.parse(["--full", "--verify", "--in-place", "--yes"]).perform(
                database: db.client, logger: logger
            ) {
                said.append($0)
            }
            #expect(said.contains { $0.contains("every signature will be verified again") })
            let verifying = try await ProjectionScenario.project(cluster, database: db, group: TestNames.unique("r2"))
            #expect(verifying[0].trusted == 0)
            #expect(try await ProjectionScenario.dump(db.client) == before)
            let vouched = try await db.client.query(
                "SELECT count(*) FILTER (WHERE verified_keys = \(DevKeys.registry.fingerprint)), count(*) FROM tongban.checkpoint"
            )[0]
            #expect(try vouched.decode(Int.self, at: 0) == vouched.decode(Int.self, at: 1))
        }
    }
}
