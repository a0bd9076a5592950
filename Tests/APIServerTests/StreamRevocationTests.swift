import API
import Certificates
import Events
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import NIOCore
import Postgres
import Projections
import Publishing
import Synchronization
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import APIServer

/// The streams revoke: events published through Kafka (librdkafka's mock cluster), applied by a running projector,
/// take away the basis of certificates issued over a real socket, and the re-checker revokes them, naming the event.
@Suite("#20 the streams revoke certificates", .serialized, .quietMachine)
struct StreamRevocationTests {
    /// A test's people and records, chosen from the ground truth.
    struct Cast {
        var child: String
        var mother: String
        /// A couple married to the end, and the marriage's event data.
        var spouses: (a: String, b: String, marriage: JSONObject)
        /// A person holding a title to the end, and the title's number.
        var holder: String
        var title: String
        /// Someone whose certificate a death during a rebuild takes away: a child and their father.
        var rebuildChild: String
        var father: String
    }

    /// Picks the cast from the population: all alive at the end, the couple still married.
    static func cast(_ population: SignedPopulation) throws -> Cast {
        let sample = population.expected.sample
        let byID = Dictionary(sample.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func alive(_ id: String?) -> Bool {
            guard let id, let person = byID[id] else { return false }
            return !person.identity.deceased
        }
        let child = try #require(sample.first { alive($0.id) && alive($0.kinship.motherId) })
        let marriages = population.events.filter { $0.type == "civil-affairs.marriage-registered.v1" }
        var spouses: (String, String, JSONObject)?
        for person in sample where spouses == nil && alive(person.id) {
            for marriage in person.kinship.marriages where marriage.endedBy == nil && alive(marriage.spouseId) {
                guard
                    let event = marriages.first(where: { $0.key == marriage.marriageRecordNumber }),
                    let data = try JSONParser.parse(event.line).objectValue?["data"]?.objectValue
                else { continue }
                spouses = (person.id, marriage.spouseId, data)
                break
            }
        }
        let couple = try #require(spouses, "the sample has no couple married to the end")
        var holding: (String, String)?
        for person in sample where holding == nil && alive(person.id) {
            if let title = person.asOf.last?.titles.first, person.asOf.last?.alive == true {
                holding = (person.id, title.titleNumber)
            }
        }
        let holder = try #require(holding, "the sample has no title holder")
        let other = try #require(
            sample.first {
                alive($0.id) && alive($0.kinship.fatherId) && $0.kinship.fatherId != child.kinship.motherId
                    && $0.kinship.fatherId != couple.0 && $0.kinship.fatherId != couple.1
                    && $0.kinship.fatherId != holder.0
            })
        return Cast(
            child: child.id, mother: child.kinship.motherId!, spouses: couple, holder: holder.0, title: holder.1,
            rebuildChild: other.id, father: other.kinship.fatherId!)
    }

    /// A day in Beijing, `days` from today.
    static func day(_ days: Int) -> String {
        CivilDate(daysSinceEpoch: CertificateServicesAPI.beijingToday().daysSinceEpoch + days).description
    }

    /// An envelope for a department to sign and publish.
    static func envelope(
        type: String, department: String, subject: String, date: String, data: [(String, JSONValue)]
    ) -> JSONValue {
        .members([
            ("specversion", .string("1.0")), ("id", .string(UUID().uuidString.lowercased())),
            ("source", .string("/departments/\(department)/\(subject.prefix(6))")), ("type", .string(type)),
            ("subject", .string(subject)), ("time", .string("\(date)T00:00:00+08:00")),
            ("datacontenttype", .string("application/json")), ("data", .members(data)),
        ])
    }

    @Test(
        "#20 a death, a divorce and a transfer through Kafka revoke what rests on them within 1 s of being applied; an issuance with the death's position token sees it; an as-of certificate holds; a rebuild fires nothing and re-checks once it is over"
    )
    func streamsRevoke() async throws {
        let population = try SignedPopulation.make(people: 60, seed: 91, anomalyRate: 0)
        let cast = try Self.cast(population)
        let logger = Logger(label: "stream-revocation-test")
        try await ProjectionScenario.withPublished(population.events) { cluster, db in
            let registration = try await ClientRegistry(database: db.client, logger: logger).register(
                name: "certificate office", scopes: APIScope.allCases, purposes: ["certificate"],
                requestsPerSecond: 100_000)
            let key = TokenSigningKey.generateForDevelopment()
            let bearer = try await AccessTokenIssuer(key: key).issue(for: registration.client).token
            let audit = AuditLog(client: db.client, logger: logger)
            let hub = try CertificateHub(keys: .ephemeral(), publicBaseURL: "https://tongban.example.gov.cn")
            let app = try await CertificateServicesServer.application(
                configuration: .init(port: 0), database: db.client, tokenKey: key, audit: audit, logger: logger,
                certificates: hub)
            let publishers = Mutex<[GeneratedEvent.Department: DepartmentPublisher]>([:])
            @Sendable func publisher(_ department: GeneratedEvent.Department) throws -> DepartmentPublisher {
                try publishers.withLock {
                    if let made = $0[department] { return made }
                    let made = try DepartmentPublisher(
                        configuration: .init(
                            producer: testProducerConfiguration(cluster), key: DevKeys.key(for: department)),
                        logger: testLogger("department"))
                    $0[department] = made
                    return made
                }
            }
            let recorder = RequestCounter()
            let group = TestNames.unique("revocation")
            let projector = try Projector(
                configuration: ProjectionScenario.projectorConfiguration(cluster, group: group), database: db.client,
                keys: DevKeys.registry, logger: testLogger("projector"))
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await audit.run() }
                tasks.addTask { try await projector.run() }
                tasks.addTask {
                    try await CertificateRechecker(
                        database: db.client, logger: testLogger("rechecker"), interval: .milliseconds(50)
                    ).run()
                }
                do {
                    try await ProjectionScenario.waitUntilCaughtUp(
                        try await ProjectionScenario.endOffsets(on: cluster), conninfo: db.conninfo)
                    try await app.test(.live) { client in
                        let api = APITestHarness.Connection(
                            client: client, recorder: recorder, database: db.client,
                            headers: [
                                .authorization: "Bearer \(bearer)", HTTPField.Name("Tongban-Purpose")!: "certificate",
                                .contentType: "application/json",
                            ])
                        try await Self.converse(
                            api, cast: cast, publisher: publisher, projector: projector, cluster: cluster, db: db)
                    }
                } catch {
                    projector.stop()
                    tasks.cancelAll()
                    throw error
                }
                projector.stop()
                audit.shutdown()
                tasks.cancelAll()
                while let _ = try? await tasks.next() {}
            }
            for made in publishers.withLock({ Array($0.values) }) { await made.shutdown() }
            try await APITestHarness.expectEveryRequestAudited(recorder, in: db.client)
            try await APITestHarness.expectValid(recorder.replies.withLock { $0 })
        }
    }

    /// What a certificate service and the departments do, and what the test measures.
    static func converse(
        _ api: APITestHarness.Connection, cast: Cast,
        publisher: @Sendable (GeneratedEvent.Department) throws -> DepartmentPublisher, projector: Projector,
        cluster: KafkaMockCluster, db: TestDatabase
    ) async throws {
        func issue(_ request: [String: Any]) async throws -> (id: UUID, credential: [String: Any]) {
            let reply = try await api.send(
                .post, "/v1/certificates", body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: request)))
            #expect(reply.status == .created, "\(request): \(reply.json)")
            let text = try #require(reply.json["id"] as? String)
            let id = try #require(UUID(uuidString: text))
            return (id, try #require(reply.json["credential"] as? [String: Any]))
        }
        func status(_ id: UUID) async throws -> (state: String, reason: String?, cause: UUID?) {
            let row = try await db.client.query(
                """
                SELECT CASE WHEN revoked_at IS NOT NULL THEN 'revoked' ELSE 'valid' END, revocation_reason,
                    revoked_by_event
                FROM tongban.certificate WHERE certificate_id = \(id)
                """)[0]
            return (
                try row.decode(String.self, at: 0), try row.decode(String?.self, at: 1),
                try row.decode(UUID?.self, at: 2)
            )
        }
        /// Publishes, then waits until `id` is revoked; returns the delay from the event's application to the
        /// revocation, as the database recorded both.
        func publishAndAwait(
            _ department: GeneratedEvent.Department, _ envelope: JSONValue, revokes ids: [UUID],
            then next: ((PublishReceipt) async throws -> Void)? = nil
        ) async throws -> [Duration] {
            let receipt = try await publisher(department).publish(envelope)
            try await next?(receipt)
            let deadline = ContinuousClock.now + .seconds(30)
            var delays: [Duration] = []
            for id in ids {
                while try await status(id).state != "revoked" && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let (state, reason, cause) = try await status(id)
                #expect(state == "revoked", "\(envelope)")
                #expect(cause.map { $0.uuidString.lowercased() } == receipt.id, "the event that caused it is named")
                #expect(reason?.contains(receipt.type) == true, "\(reason ?? "")")
                let delay = try await db.client.query(
                    """
                    SELECT extract(epoch FROM changed_at - event_applied_at)::float8 FROM tongban.certificate_status_change
                    WHERE certificate_id = \(id) AND action = 'revoke'
                    """)[0].decode(Double.self, at: 0)
                delays.append(.milliseconds(Int(delay * 1000)))
            }
            return delays
        }
        var delays: [Duration] = []

        // A death: the kinship certificates naming the mother, now, are revoked; one as of two days ago holds.
        let mothers = try await issue(["kind": "kinship", "subject": cast.child, "relative": cast.mother])
        let asOf = try await issue([
            "kind": "kinship", "subject": cast.child, "relative": cast.mother, "asOf": Self.day(-2),
        ])
        #expect((asOf.credential["type"] as? [String])?.contains("TongbanAsOfCertificate") == true)
        let unrelated = try await issue(["kind": "kinship", "subject": cast.spouses.a, "relative": cast.spouses.b])
        delays += try await publishAndAwait(
            .household,
            Self.envelope(
                type: "household.death-registered.v1", department: "household", subject: cast.mother,
                date: Self.day(-1),
                data: [("personId", .string(cast.mother)), ("dateOfDeath", .string(Self.day(-1)))]),
            revokes: [mothers.id]
        ) { receipt in
            // Read-your-writes: issued in the next call with the death's position token, the certificate states
            // the death (the issuance waits until the views include it).
            let token = try #require(receipt.position)
            var headers = api.headers
            headers[HTTPField.Name("Tongban-Min-Position")!] = token.description
            let request: [String: Any] = ["kind": "kinship", "subject": cast.child, "relative": cast.mother]
            let reply = try await api.send(
                .post, "/v1/certificates", headers: headers,
                body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: request)))
            #expect(reply.status == .created, "\(reply.json)")
            let subject = (reply.json["credential"] as? [String: Any])?["credentialSubject"] as? [String: Any]
            let relative = (subject?["answer"] as? [String: Any])?["relative"] as? [String: Any]
            #expect(relative?["living"] as? Bool == false, "the death published just before is seen: \(reply.json)")
            #expect(relative?["diedOn"] as? String == Self.day(-1))
        }
        #expect(try await status(asOf.id).state == "valid", "an as-of certificate keeps holding after a later change")

        // The revocation shows in the status list and in the verifier's answer.
        let entries = try #require(mothers.credential["credentialStatus"] as? [[String: Any]])
        let url = try #require(entries.first?["statusListCredential"] as? String)
        let list = try await api.sendPublic(String(url.dropFirst("https://tongban.example.gov.cn".count)))
        let encoded = try #require((list.json["credentialSubject"] as? [String: Any])?["encodedList"] as? String)
        let indexText = try #require(entries.first?["statusListIndex"] as? String)
        let index = try #require(Int(indexText))
        #expect(try BitstringStatusList.decode(encodedList: encoded).bit(at: index))

        // A divorce revokes the spouse certificate.
        #expect(try await status(unrelated.id).state == "valid")
        let marriage = cast.spouses.marriage
        delays += try await publishAndAwait(
            .civilAffairs,
            Self.envelope(
                type: "civil-affairs.divorce-registered.v1", department: "civil-affairs",
                subject: marriage["spouseA"]?.objectValue?["id"]?.stringValue ?? cast.spouses.a,
                date: Self.day(-1),
                data: [
                    ("marriageRecordNumber", marriage["marriageRecordNumber"] ?? .null),
                    ("spouseA", marriage["spouseA"] ?? .null), ("spouseB", marriage["spouseB"] ?? .null),
                    ("divorceDate", .string(Self.day(-1))), ("kind", .string("registry")),
                ]),
            revokes: [unrelated.id])

        // A transfer revokes the title record.
        let titles = try await issue(["kind": "property", "subject": cast.holder])
        delays += try await publishAndAwait(
            .property,
            Self.envelope(
                type: "property.title-transferred.v1", department: "property", subject: cast.child,
                date: Self.day(-1),
                data: [
                    ("titleNumber", .string(cast.title)), ("certificateNumber", .string("京(2026)朝阳区不动产权第0777777号")),
                    ("coOwnership", .string("sole")),
                    (
                        "newOwners",
                        .array([
                            .members([
                                ("personId", .string(cast.child)), ("name", .string("张三")), ("share", .string("1/1")),
                            ])
                        ])
                    ),
                    ("transferDate", .string(Self.day(-1))), ("kind", .string("sale")),
                ]),
            revokes: [titles.id])
        for delay in delays { #expect(delay <= .seconds(1), "revoked \(delay) after the event was applied") }

        // A rebuild: the views are emptied and read again; nothing is revoked while it runs, though the empty views
        // would take away every certificate's basis. A death applied during it is found once it is over.
        let fathers = try await issue(["kind": "kinship", "subject": cast.rebuildChild, "relative": cast.father])
        projector.stop()
        try await db.client.withConnection { try await ViewStore().resetForRebuild(on: $0) }
        _ = try await publisher(.household).publish(
            Self.envelope(
                type: "household.death-registered.v1", department: "household", subject: cast.father,
                date: Self.day(-1), data: [("personId", .string(cast.father)), ("dateOfDeath", .string(Self.day(-1)))]
            ))
        let rebuilding = try Projector(
            configuration: ProjectionScenario.projectorConfiguration(cluster, group: TestNames.unique("rebuild")),
            database: db.client, keys: DevKeys.registry, logger: testLogger("projector"))
        let revokedDuringRebuild = Mutex(0)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await rebuilding.run() }
            do {
                // While the views are not ready, count the revocations made.
                let deadline = ContinuousClock.now + .seconds(120)
                while ContinuousClock.now < deadline {
                    let state = try await db.client.query("SELECT ready FROM tongban.view_state()")[0]
                    let revoked = try await db.client.query(
                        "SELECT count(*) FROM tongban.certificate WHERE revoked_at IS NOT NULL")[0].decode(
                            Int.self, at: 0)
                    if try state.decode(Bool.self, at: 0) { break }
                    revokedDuringRebuild.withLock { $0 = max($0, revoked) }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let deadline2 = ContinuousClock.now + .seconds(60)
                while try await status(fathers.id).state != "revoked" && ContinuousClock.now < deadline2 {
                    try await Task.sleep(for: .milliseconds(50))
                }
            } catch {
                rebuilding.stop()
                tasks.cancelAll()
                throw error
            }
            rebuilding.stop()
            try await tasks.waitForAll()
        }
        // The three revoked before the rebuild, and none more while it ran.
        #expect(revokedDuringRebuild.withLock { $0 } == 3, "no revocation while the views were rebuilt")
        let (state, reason, cause) = try await status(fathers.id)
        #expect(state == "revoked", "re-checked once the rebuilt views were ready")
        #expect(cause == nil && reason?.contains("rebuild") == true, "\(reason ?? "")")
        #expect(try await status(asOf.id).state == "valid", "the rebuild's re-check leaves what still holds")
        let rechecked = try await db.client.query(
            "SELECT generation = rechecked_generation FROM tongban.views_generation")[0].decode(Bool.self, at: 0)
        #expect(rechecked)
    }
}
