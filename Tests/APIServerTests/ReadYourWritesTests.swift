import API
import Events
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Postgres
import Projections
import Publishing
import Synchronization
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import APIServer

/// Read-your-writes (`Tongban-Min-Position`): a department publishes a birth with `DepartmentPublisher`, and the
/// question that passes the receipt's position token is answered only once the views include it, through the real
/// Kafka wire protocol (librdkafka's mock cluster), a real projector, and the API on a real socket.
@Suite("#20 read-your-writes: Tongban-Min-Position")
struct ReadYourWritesTests {
    static let minPosition = HTTPField.Name("Tongban-Min-Position")!

    /// A child whose birth the test holds back, with their mother.
    struct HeldBirth: Sendable {
        let child: String
        let mother: String
        /// The child's birth and every later message with the same topic and key, in order (the key's order kept).
        let events: [GeneratedEvent]
        /// The day to ask about (the ground truth's).
        let asOf: String
    }

    /// Chooses `count` children of the sample with a mother and a birth event, and holds their births back.
    static func heldBirths(_ population: SignedPopulation, count: Int) throws -> [HeldBirth] {
        var held: [HeldBirth] = []
        for person in population.expected.sample where held.count < count {
            guard let mother = person.kinship.motherId,
                let birth = population.events.firstIndex(where: {
                    $0.type == "household.birth-registered.v1" && $0.key == person.id
                })
            else { continue }
            let events = population.events[birth...].filter { $0.topic == "tongban.household" && $0.key == person.id }
            held.append(HeldBirth(child: person.id, mother: mother, events: events, asOf: population.expected.asOf))
        }
        guard held.count == count else { throw ScenarioError("the sample has fewer than \(count) children to hold") }
        return held
    }

    @Test(
        "#20 a birth published with DepartmentPublisher: with its token, kinship waits for the views; never without the parent",
        .sharedMachine)
    func birthThenKinship() async throws {
        let population = try SignedPopulation.make(people: 40, seed: 2020, anomalyRate: 0)
        let held = try Self.heldBirths(population, count: 2)
        let heldIDs = Set(held.flatMap { $0.events.compactMap(\.id) })
        let preload = population.events.filter { $0.id.map { !heldIDs.contains($0) } ?? true }
        #expect(preload.count == population.events.count - heldIDs.count)
        let logger = Logger(label: "read-your-writes-test")

        try await ProjectionScenario.withPublished(preload) { cluster, db in
            // The views hold everything but the two births.
            let first = try await ProjectionScenario.project(
                cluster, database: db, group: TestNames.unique("ryw-preload"))
            #expect(first[0].lastError == nil)
            let registration = try await ClientRegistry(database: db.client, logger: logger).register(
                name: "birth certificates", scopes: [.kinship], purposes: ["birth-certificate"],
                requestsPerSecond: 100_000)
            let key = TokenSigningKey.generateForDevelopment()
            let bearer = try await AccessTokenIssuer(key: key).issue(for: registration.client).token
            let audit = AuditLog(client: db.client, logger: logger)
            let app = try await CertificateServicesServer.application(
                configuration: .init(port: 0), database: db.client, tokenKey: key, audit: audit, logger: logger)
            let publisher = try DepartmentPublisher(
                configuration: .init(producer: testProducerConfiguration(cluster), key: DevKeys.key(for: .household)),
                logger: testLogger("department"))
            let recorder = RequestCounter()
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await audit.run() }
                defer { audit.shutdown() }
                try await app.test(.live) { client in
                    let api = APITestHarness.Connection(
                        client: client, recorder: recorder, database: db.client,
                        headers: [
                            .authorization: "Bearer \(bearer)",
                            HTTPField.Name("Tongban-Purpose")!: "birth-certificate",
                        ])
                    try await Self.converse(api, held: held, publisher: publisher, cluster: cluster, db: db)
                }
                audit.shutdown()
                try await tasks.waitForAll()
            }
            await publisher.shutdown()
            try await APITestHarness.expectEveryRequestAudited(recorder, in: db.client)
            try await APITestHarness.expectValid(recorder.replies.withLock { $0 })
        }
    }

    /// The conversation of ``birthThenKinship()``: first with the projector stopped (the views cannot include the
    /// births), then with one running.
    static func converse(
        _ api: APITestHarness.Connection, held: [HeldBirth], publisher: DepartmentPublisher,
        cluster: KafkaMockCluster, db: TestDatabase
    ) async throws {
        func publish(_ birth: HeldBirth) async throws -> PositionToken {
            let prepared = try birth.events.map { try publisher.prepare(line: $0.line) }
            let results = await publisher.send(prepared)
            for result in results { _ = try result.get() }
            return try #require(PositionToken(delivered: results))
        }
        func ask(_ birth: HeldBirth, _ token: String?) async throws -> (KinshipAPITests.Reply, Duration) {
            var headers = api.headers
            if let token { headers[minPosition] = token }
            let start = ContinuousClock.now
            let reply = try await api.send(
                .get, "/v1/kinship?subject=\(birth.child)&relative=\(birth.mother)&asOf=\(birth.asOf)",
                headers: headers)
            return (reply, ContinuousClock.now - start)
        }
        let wait = PositionWait.defaultTimeout

        // The projector is stopped: the birth is in Kafka, not in the views.
        let token = try await publish(held[0])
        #expect(token.topics == ["tongban.household"])
        let (bare, _) = try await ask(held[0], nil)
        #expect(bare.status == .ok, "\(bare.json)")
        #expect(!KinshipAPITests.relations(bare).contains("parent/birth"), "the views cannot hold the birth yet")

        // With the token: it waits the 2 s, then 503 position-not-reached with Retry-After: 1.
        let (waited, took) = try await ask(held[0], token.description)
        #expect(waited.status == .serviceUnavailable, "\(waited.json)")
        #expect(waited.json["code"] as? String == "position-not-reached")
        #expect(waited.headers[.retryAfter] == "1")
        #expect(took >= wait && took < wait + .seconds(3), "waited \(took)")

        // A position beyond anything that will be applied: the same.
        let (ahead, aheadTook) = try await ask(held[0], "tongban.household/0/999999999")
        #expect(ahead.status == .serviceUnavailable && ahead.json["code"] as? String == "position-not-reached")
        #expect(ahead.headers[.retryAfter] == "1")
        #expect(aheadTook >= wait && aheadTook < wait + .seconds(3), "waited \(aheadTook)")

        // Not a token: 400 at once, saying why.
        for garbage in ["garbage", "tongban.household/zero/1", "tongban.household/0/1,", "a/0/1;b/0/2"] {
            let (refused, refusedTook) = try await ask(held[0], garbage)
            #expect(refused.status == .badRequest, "\(garbage): \(refused.json)")
            #expect(refused.json["code"] as? String == "invalid-position-token")
            #expect((refused.json["detail"] as? String)?.hasPrefix("Tongban-Min-Position: ") == true)
            #expect(refusedTook < wait)
        }

        // A projector starts: asked again with the token, every answer is a 503 while the projector joins its group
        // and catches up, then 200 with the parent; never a 200 without the parent.
        let projector = try Projector(
            configuration: ProjectionScenario.projectorConfiguration(cluster, group: TestNames.unique("ryw-live")),
            database: db.client, keys: DevKeys.registry, logger: testLogger("projector"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await projector.run() }
            do {
                var answered: KinshipAPITests.Reply?
                for _ in 0..<30 where answered == nil {
                    let (reply, _) = try await ask(held[0], token.description)
                    if reply.status == .ok {
                        answered = reply
                    } else {
                        #expect(reply.status == .serviceUnavailable, "\(reply.json)")
                        #expect(reply.json["code"] as? String == "position-not-reached")
                    }
                }
                let reply = try #require(answered, "never answered within 30 tries")
                #expect(KinshipAPITests.relations(reply).contains("parent/birth"), "\(reply.json)")
                #expect(reply.json["found"] as? Bool == true)

                // The projector runs: the next birth, asked about right after it is published, is answered with
                // its parent. A 503 (a very slow machine) is allowed, a 200 without the parent never.
                let next = try await publish(held[1])
                var tries = 0
                var nextReply: KinshipAPITests.Reply?
                while nextReply == nil && tries < 5 {
                    tries += 1
                    let (reply, _) = try await ask(held[1], next.description)
                    if reply.status == .ok {
                        nextReply = reply
                    } else {
                        #expect(reply.json["code"] as? String == "position-not-reached", "\(reply.json)")
                    }
                }
                let immediate = try #require(nextReply)
                #expect(KinshipAPITests.relations(immediate).contains("parent/birth"), "\(immediate.json)")
                #expect(tries == 1, "answered on try \(tries)")

                // Both tokens merged, as a script would join them: included, answered at once.
                let (both, _) = try await ask(held[0], "\(token),\(next)")
                #expect(both.status == .ok && KinshipAPITests.relations(both).contains("parent/birth"))
            } catch {
                projector.stop()
                tasks.cancelAll()
                throw error
            }
            projector.stop()
            try await tasks.waitForAll()
        }

        // Each refusal is in the audit log with its code.
        let rows = try await api.database.query(
            """
            SELECT answer_summary, status, count(*)::int FROM tongban.audit_log
            WHERE answer_summary IN ('position-not-reached', 'invalid-position-token')
            GROUP BY 1, 2 ORDER BY 1
            """)
        let counted = try rows.map { "\(try $0.decode(String.self, at: 0))/\(try $0.decode(Int.self, at: 1))" }
        #expect(counted == ["invalid-position-token/400", "position-not-reached/503"])
        let refusedCount = try rows.map { try $0.decode(Int.self, at: 2) }
        #expect(refusedCount[0] == 4)
        #expect(refusedCount[1] >= 2)
    }

    @Test(
        "#20 Tongban-Min-Position on every question: included answers at once, beyond is 503 after 2 s, bad is 400",
        .sharedMachine)
    func everyQuestion() async throws {
        let population = try SignedPopulation.make(people: 30, seed: 2021, anomalyRate: 0)
        let person = try #require(population.expected.sample.first { $0.kinship.motherId != nil })
        // The harness's views carry one checkpoint: tongban.household partition 0 at next offset 1.
        let questions = [
            "/v1/kinship?subject=\(person.id)&relative=\(person.kinship.motherId!)",
            "/v1/social-insurance/contributions?subject=\(person.id)&from=2020-01&to=2020-12",
            "/v1/property/titles?subject=\(person.id)",
            "/v1/medical-insurance?subject=\(person.id)",
            "/v1/prefill?subject=\(person.id)",
        ]
        try await APITestHarness.withServer(population) { api in
            for uri in questions {
                var headers = api.headers
                headers[Self.minPosition] = "tongban.household/0/0"
                let included = try await api.send(.get, uri, headers: headers)
                #expect(included.status == .ok, "\(uri): \(included.json)")

                headers[Self.minPosition] = "tongban.household/0/1"
                let start = ContinuousClock.now
                let beyond = try await api.send(.get, uri, headers: headers)
                let took = ContinuousClock.now - start
                #expect(beyond.status == .serviceUnavailable, "\(uri): \(beyond.json)")
                #expect(beyond.json["code"] as? String == "position-not-reached")
                #expect(beyond.headers[.retryAfter] == "1")
                #expect(took >= PositionWait.defaultTimeout, "\(uri): \(took)")

                headers[Self.minPosition] = "tongban.household/0/-1"
                try await api.expectRefusal(uri, .badRequest, "invalid-position-token", headers: headers)
            }
            // A partition without a checkpoint is not included either.
            var headers = api.headers
            headers[Self.minPosition] = "tongban.household/0/0,tongban.property/3/0"
            let missing = try await api.send(.get, questions[0], headers: headers)
            #expect(missing.status == .serviceUnavailable && missing.json["code"] as? String == "position-not-reached")
            // That partition gets its checkpoint (a projector applied its first message): included, answered.
            try await api.database.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                VALUES ('tongban.views', 'tongban.property', 3, 1, 1)
                """)
            let moved = try await api.send(.get, questions[0], headers: headers)
            #expect(moved.status == .ok, "\(moved.json)")
        }
    }
}
