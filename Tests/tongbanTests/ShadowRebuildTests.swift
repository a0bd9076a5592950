import ArgumentParser
import Events
import Foundation
import Kafka
import Logging
import Postgres
import Projections
import Synchronization
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import tongban

/// What the readers saw while a shadow rebuild ran beside them.
private final class ReaderLog: Sendable {
    struct State {
        var reads = 0
        var readsAfterSwap = 0
        var failures: [String] = []
        var violations: [String] = []
    }

    let state = Mutex(State())
    let swapped = Atomic<Bool>(false)
    let done = Atomic<Bool>(false)
}

/// `tongban rebuild` into a shadow copy, against the mock Kafka cluster and a real PostgreSQL: the live views keep
/// serving and projecting throughout, the copy is swapped in atomically, a killed rebuild goes on, and a dry run lists
/// how the views would change.
@Suite("#21 rebuilds into a shadow copy", .quietMachine)
struct ShadowRebuildTests {
    static let population: SignedPopulation = try! SignedPopulation.make(people: 60, seed: 2_121, anomalyRate: 0.03)

    /// The contract views of a replay from zero of `population` (its valid events applied straight to a fresh
    /// database).
    static func reference(_ population: SignedPopulation) async throws -> [String: String] {
        try await withTestDatabase { reference in
            try await TongbanMigrations.migrate(reference.client, logger: TestPostgres.logger)
            try await ProjectionScenario.applyReference(population, to: reference.client)
            return try await ProjectionScenario.dump(reference.client)
        }
    }

    /// A pool of the rebuild's own, as `tongban rebuild` has in its own process.
    static func withRebuildPool<T: Sendable>(_ db: TestDatabase, _ body: (PostgresClient) async throws -> T)
        async throws -> T
    {
        let pool = PostgresClient(
            configuration: .init(conninfo: db.conninfo, maxConnections: 8), logger: testLogger("rebuild"))
        do {
            let value = try await body(pool)
            await pool.shutdown()
            return value
        } catch {
            await pool.shutdown()
            throw error
        }
    }

    /// The indexes and constraints of the `tongban` schema, and the grants on its tables, with their definitions.
    static func catalog(_ db: TestDatabase) async throws -> [String] {
        try await db.client.query(
            """
            SELECT 'index ' || tablename || ' ' || indexname || ' ' || indexdef FROM pg_indexes
            WHERE schemaname = 'tongban'
            UNION ALL
            SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = 'tongban'::regnamespace
            UNION ALL
            SELECT 'table ' || relname || ' ' || coalesce(relacl::text, '') || ' ' || coalesce(reloptions::text, '')
            FROM pg_class WHERE relnamespace = 'tongban'::regnamespace AND relkind = 'r'
            ORDER BY 1
            """
        ).map { try $0.decode(String.self, at: 0) }
    }

    /// Reads a few contract views (and the ledger and `view_state()`) in one statement, over and over, until told to
    /// stop, and records every failure and every read that saw the views not ready, empty, or smaller than before:
    /// these views only ever grow as events are applied, so a smaller count is a partial or older view.
    private static func read(_ db: TestDatabase, into log: ReaderLog) async throws {
        let connection = try await PostgresConnection.connect(db.conninfo, logger: TestPostgres.logger)
        var last: [Int64] = []
        while !log.done.load(ordering: .relaxed) {
            let swapped = log.swapped.load(ordering: .relaxed)
            do {
                let rows = try await connection.query(
                    """
                    SELECT (SELECT ready FROM tongban.view_state()), (SELECT count(*) FROM tongban.v_identity),
                        (SELECT count(*) FROM tongban.v_registration), (SELECT count(*) FROM tongban.v_parentage),
                        (SELECT count(*) FROM tongban.v_marriage), (SELECT count(*) FROM tongban.event)
                    """)
                let ready = try rows[0].decode(Bool.self, at: 0)
                let counts = try (1...5).map { try rows[0].decode(Int64.self, at: $0) }
                log.state.withLock { state in
                    state.reads += 1
                    if swapped { state.readsAfterSwap += 1 }
                    if !ready { state.violations.append("view_state() was not ready") }
                    if counts.contains(0) { state.violations.append("a view was empty: \(counts)") }
                    if !last.isEmpty, zip(counts, last).contains(where: { $0 < $1 }) {
                        state.violations.append("a view shrank: \(last) then \(counts)")
                    }
                }
                last = counts
            } catch {
                log.state.withLock { $0.failures.append("\(error)") }
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        await connection.close()
    }

    /// Holds the `views_generation` row in transactions that read the ledger and the views (as the certificate
    /// re-checker's rounds do) until the log says done; a failed round is recorded as a reader failure.
    private static func recheckLike(_ db: TestDatabase, until log: ReaderLog) async throws {
        let connection = try await PostgresConnection.connect(db.conninfo, logger: TestPostgres.logger)
        while !log.done.load(ordering: .relaxed) {
            do {
                try await connection.withTransaction { connection in
                    _ = try await connection.query(
                        "SELECT generation FROM tongban.views_generation FOR UPDATE SKIP LOCKED")
                    try await Task.sleep(for: .milliseconds(30))
                    _ = try await connection.query(
                        "SELECT count(*) FROM tongban.event e JOIN tongban.v_registration r ON r.event_id = e.event_id")
                }
            } catch {
                log.state.withLock { $0.failures.append("re-check round: \(error)") }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await connection.close()
    }

    @Test(
        "#21 a rebuild while events arrive, readers read and a re-checker holds its row: no query fails or sees the views not ready, empty or shrunk; the swapped-in views equal a replay from zero; swap back; drop",
        .timeLimit(.minutes(20)))
    func rebuildWhileServing() async throws {
        let population = Self.population
        let expected = try await Self.reference(population)
        let events = population.events
        let half = events.count / 2
        try await withMockCluster { cluster in
            try await ProjectionScenario.createTopics(on: cluster)
            try await ProjectionScenario.publish(Array(events[..<half]), to: cluster)
            try await withTestDatabase { db in
                try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
                let group = TestNames.unique("live")
                let configuration = ProjectionScenario.projectorConfiguration(cluster, group: group, batchSize: 50)
                let live = try Projector(
                    configuration: configuration, database: db.client, keys: DevKeys.registry,
                    logger: testLogger("live"))
                let log = ReaderLog()
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await live.run() }
                    try await ProjectionScenario.waitUntilCaughtUp(
                        try await ProjectionScenario.endOffsets(on: cluster), conninfo: db.conninfo)
                    let catalog = try await Self.catalog(db)
                    for _ in 0..<3 { tasks.addTask { try await Self.read(db, into: log) } }
                    // As the certificate re-checker does, over and over: hold the views_generation row through a
                    // transaction that reads the ledger (the swap must give way to it, not deadlock with it).
                    tasks.addTask { try await Self.recheckLike(db, until: log) }
                    // The other half arrives while the shadow is built, and after it is swapped in.
                    let publishing = Task {
                        for chunk in stride(from: half, to: events.count, by: 200) {
                            try await ProjectionScenario.publish(
                                Array(events[chunk..<min(chunk + 200, events.count)]), to: cluster)
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    }
                    let outcome = try await Self.withRebuildPool(db) { pool in
                        try await ShadowRebuilder(
                            configuration: configuration, database: pool, keys: DevKeys.registry,
                            logger: testLogger("rebuild")
                        ).run(keepingLedger: false, reverifying: false, swapping: true)
                    }
                    log.swapped.store(true, ordering: .relaxed)
                    guard case .swapped(let readers, _, _, _) = outcome else {
                        Issue.record("not swapped: \(outcome)")
                        throw ScenarioError("the rebuild did not swap")
                    }
                    #expect(readers < .seconds(1), "readers waited \(readers)")
                    try await publishing.value
                    try await ProjectionScenario.waitUntilCaughtUp(
                        try await ProjectionScenario.endOffsets(on: cluster), conninfo: db.conninfo)
                    try await Task.sleep(for: .milliseconds(300))
                    log.done.store(true, ordering: .relaxed)

                    let seen = log.state.withLock { $0 }
                    #expect(seen.failures.isEmpty, "\(seen.failures.prefix(5))")
                    #expect(seen.violations.isEmpty, "\(seen.violations.prefix(5))")
                    #expect(
                        seen.reads > 100 && seen.readsAfterSwap > 10,
                        "\(seen.reads) reads, \(seen.readsAfterSwap) after")
                    // The rebuilt views, with the rest of the streams applied by the live projector: a replay from zero.
                    #expect(try await ProjectionScenario.dump(db.client) == expected)
                    try await db.client.withConnection { connection in
                        #expect(try await ShadowRebuild.existing(on: connection) == nil)
                        #expect(try await ShadowRebuild.previous(on: connection) != nil)
                        let version = try await connection.query("SELECT version, built_by FROM tongban.views_version")
                        #expect(try version[0].decode(Int32.self, at: 0) == Int32(ViewStore.version))
                        #expect(try version[0].decode(String.self, at: 1) == "full shadow rebuild")
                    }
                    // Every index and constraint came over under its own name and definition.
                    #expect(try await Self.catalog(db) == catalog)

                    // Swapped back: the previous views, brought up to date from where they stood, equal it too.
                    let back = try await db.client.withConnection {
                        try await ShadowRebuild(viewGroup: "tongban.views").swapBack(on: $0)
                    }
                    guard case .swapped = back else { throw ScenarioError("not swapped back: \(back)") }
                    try await ProjectionScenario.waitUntilCaughtUp(
                        try await ProjectionScenario.endOffsets(on: cluster), conninfo: db.conninfo)
                    #expect(try await ProjectionScenario.dump(db.client) == expected)
                    let dropped = try await db.client.withConnection { try await ShadowRebuild.dropPrevious(on: $0) }
                    #expect(dropped)
                    #expect(try await db.client.withConnection { try await ShadowRebuild.previous(on: $0) } == nil)
                    live.stop()
                    try await tasks.waitForAll()
                }
            }
        }
    }
}

/// The rebuild's commands end to end: killed and run again, a dry run, a projector that rebuilds outdated views. They
/// check what the views hold afterwards, not how long anything took, so they share the machine.
@Suite("#21 tongban rebuild and project --rebuild-outdated-views", .sharedMachine)
struct ShadowRebuildCommandTests {
    @Test("#21 tongban rebuild killed with SIGKILL midway goes on when run again, and swaps in the same views")
    func killedRebuildResumes() async throws {
        let binary = try TongbanExecutable.required()
        let population = ShadowRebuildTests.population
        let expected = try await ShadowRebuildTests.reference(population)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rebuild-keys-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try DevelopmentKeyFiles.save(DevKeys.all, to: directory)
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            let group = TestNames.unique("kill")
            _ = try await ProjectionScenario.project(cluster, database: db, group: group)
            let total = try await ProjectionScenario.checkpoints(conninfo: db.conninfo).values.reduce(0, +)
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = db.conninfo
            environment["KAFKA_BOOTSTRAP_SERVERS"] = cluster.bootstrapServers
            let arguments = [
                "rebuild", "--keep-ledger", "--yes", "--group", group, "--batch-size", "10", "--keys",
                directory.appendingPathComponent("public.jwks").path, "--allow-development-keys",
            ]
            let first = Process()
            first.executableURL = URL(fileURLWithPath: binary)
            first.arguments = arguments
            first.environment = environment
            first.standardOutput = FileHandle.nullDevice
            first.standardError = FileHandle.nullDevice
            try first.run()
            // Killed once the shadow holds part of the streams.
            var read: Int64 = 0
            let deadline = ContinuousClock.now + .seconds(120)
            while read < total / 4 && first.isRunning && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                read =
                    (try? await db.client.query(
                        "SELECT coalesce(sum(next_offset), 0)::int8 FROM tongban_shadow.checkpoint"
                    ))?.first.map { (try? $0.decode(Int64.self, at: 0)) ?? 0 } ?? 0
            }
            #expect(first.isRunning, "the rebuild ended before it could be killed")
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
            #expect(read > 0 && read < total, "killed at \(read) of \(total)")
            let shadow = try await db.client.withConnection { try await ShadowRebuild.existing(on: $0) }
            #expect(shadow?.keepingLedger == true)

            let second = try await TestProcess.run(binary, arguments, environment: environment)
            #expect(second.status == 0, "\(second.errors.suffix(2_000))")
            #expect(second.output.contains("going on with the shadow copy"), "\(second.output)")
            #expect(second.output.contains("swapped in at"), "\(second.output)")
            #expect(try await ProjectionScenario.dump(db.client) == expected)
            #expect(try await db.client.withConnection { try await ShadowRebuild.existing(on: $0) } == nil)
        }
    }

    @Test(
        "#21 tongban rebuild --dry-run lists an injected difference per view and the certificates naming it, and keeps the shadow for --yes"
    )
    func dryRunListsDifferences() async throws {
        let population = ShadowRebuildTests.population
        let expected = try await ShadowRebuildTests.reference(population)
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            let group = TestNames.unique("dry")
            _ = try await ProjectionScenario.project(cluster, database: db, group: group)
            // The difference: the live views lose one registered death.
            let death = try await db.client.query(
                "SELECT person_id, event_id::text FROM tongban.death ORDER BY 1 LIMIT 1")
            let person = try death[0].decode(String.self, at: 0)
            try await db.client.execute("DELETE FROM tongban.death WHERE person_id = \(person)")
            // A certificate that names that person, and one that does not.
            let named = UUID()
            try await db.client.execute(
                """
                INSERT INTO tongban.status_list (list_number, purpose, size, pair_number)
                VALUES (1, 'revocation', 131072, 1), (2, 'suspension', 131072, 1);
                """)
            for (id, watch, index) in [(named, [person], 1), (UUID(), ["110101190001010000"], 2)] {
                try await db.client.execute(
                    """
                    INSERT INTO tongban.certificate (certificate_id, kind, question, claims, watch, read_position,
                        credential, client_id, issued_at, valid_until, revocation_list, suspension_list, status_index)
                    VALUES (\(id), 'kinship', '{}', '{}', \(watch), '[]', '{}', 'tbc_test', now(),
                        now() + interval '1 year', 1, 2, \(index))
                    """)
            }
            let configuration = ProjectionScenario.projectorConfiguration(cluster, group: group)
            let lines = Mutex<[String]>([])
            try await ShadowRebuildTests.withRebuildPool(db) { pool in
                try await RebuildCommand.parse(["--full", "--dry-run", "--group", group]).performShadow(
                    configuration: configuration, database: pool, keys: DevKeys.registry, logger: testLogger("dry"),
                    stop: nil
                ) { line in lines.withLock { $0.append(line) } }
            }
            let said = lines.withLock { $0 }
            let text = said.joined(separator: "\n")
            #expect(said.contains { $0.hasPrefix("compared ") && $0.contains("differ") }, "\(text)")
            #expect(said.contains("  v_identity: 1 rows would go, 1 would come"), "\(text)")
            #expect(
                said.contains { $0.hasPrefix("    + ") && $0.contains(person) && $0.contains("deceased") }, "\(text)")
            #expect(
                said.contains { $0.contains("1 valid certificate(s)") && $0.contains(named.uuidString.lowercased()) },
                "\(text)")
            #expect(said.contains { $0.contains("the shadow copy stays") }, "\(text)")
            #expect(try await db.client.withConnection { try await ShadowRebuild.existing(on: $0) } != nil)
            // tongban status shows the shadow, read to the live position.
            var status = ""
            try await StatusCommand.parse(["--sample-seconds", "0"]).perform(database: db.client, kafka: nil) {
                status += $0
            }
            #expect(status.contains("shadow    rebuilding tongban.views into tongban_shadow"), "\(status)")
            #expect(status.contains("(100.0 %); the live views keep serving"), "\(status)")

            // Swapped in, the death is back: the views equal a replay from zero.
            try await ShadowRebuildTests.withRebuildPool(db) { pool in
                try await RebuildCommand.parse(["--full", "--yes", "--group", group]).performShadow(
                    configuration: configuration, database: pool, keys: DevKeys.registry, logger: testLogger("swap"),
                    stop: nil
                ) { _ in }
            }
            #expect(try await ProjectionScenario.dump(db.client) == expected)
            var json = ""
            try await StatusCommand.parse(["--sample-seconds", "0", "--json"]).perform(database: db.client, kafka: nil)
            {
                json += $0
            }
            let document = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            let views = try #require(document?["views"] as? [String: Any])
            #expect(views["shadowRebuild"] is NSNull)
            #expect((views["previous"] as? [String: Any])?["builtBy"] as? String == "migration")
            #expect((views["version"] as? [String: Any])?["builtBy"] as? String == "full shadow rebuild")
        }
    }

    @Test(
        "#21 tongban project finds views an older version built: says what to run in its log, and with --rebuild-outdated-views rebuilds them into a shadow and swaps it in"
    )
    func outdatedViewsAreRebuilt() async throws {
        let binary = try TongbanExecutable.required()
        let population = ShadowRebuildTests.population
        let expected = try await ShadowRebuildTests.reference(population)
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            let group = TestNames.unique("outdated")
            _ = try await ProjectionScenario.project(cluster, database: db, group: group)
            // Views built by code older than any recorded version.
            try await db.client.execute("UPDATE tongban.views_version SET version = 0, built_by = 'old code'")
            let keys = FileManager.default.temporaryDirectory.appendingPathComponent("outdated-\(UUID()).jwks")
            defer { try? FileManager.default.removeItem(at: keys) }
            try Data((DevKeys.registry.jwks + "\n").utf8).write(to: keys)
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("outdated-\(UUID()).log")
            defer { try? FileManager.default.removeItem(at: log) }
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = [
                "project", "--group", group, "--keys", keys.path, "--allow-development-keys", "--no-metrics",
                "--rebuild-outdated-views", "--log-level", "notice", "--batch-wait-ms", "50",
            ]
            var environment = ProcessInfo.processInfo.environment
            environment["KAFKA_BOOTSTRAP_SERVERS"] = cluster.bootstrapServers
            environment["DATABASE_URL"] = db.conninfo
            process.environment = environment
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            let deadline = ContinuousClock.now + .seconds(120)
            var text = ""
            while !text.contains("the rebuilt views are swapped in") {
                guard process.isRunning, ContinuousClock.now < deadline else {
                    throw ScenarioError("the outdated views were not rebuilt:\n\(text.suffix(3_000))")
                }
                try await Task.sleep(for: .milliseconds(50))
                text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            }
            #expect(text.contains("the views were built by version 0 of the view projectors (old code)"), "\(text)")
            #expect(text.contains("tongban rebuild --keep-ledger --yes"))
            let version = try await db.client.query("SELECT version, built_by FROM tongban.views_version")
            #expect(try version[0].decode(Int32.self, at: 0) == Int32(ViewStore.version))
            #expect(try version[0].decode(String.self, at: 1) == "shadow rebuild keeping the ledger")
            #expect(try await ProjectionScenario.dump(db.client) == expected)
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
        }
    }

    @Test("#21 the views' version: older views are told what to run, newer ones that the binary is older")
    func versionAdvice() {
        let found = ViewsVersion(version: 1, builtAt: Date(), builtBy: "migration")
        #expect(found.advice(code: 1) == nil)
        #expect(found.advice(code: 2)?.contains("tongban rebuild --keep-ledger --yes") == true)
        #expect(found.advice(code: 2)?.contains("version 1") == true)
        #expect(ViewsVersion(version: 3, builtAt: Date(), builtBy: "x").advice(code: 2)?.contains("newer") == true)
    }
}
