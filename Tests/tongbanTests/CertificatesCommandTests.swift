import API
import ArgumentParser
import Certificates
import Foundation
import Logging
import Postgres
import Projections
import Synchronization
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import APIServer
@testable import tongban

/// `tongban certificates`: an operator lists and shows the certificates issued, and suspends, reinstates and revokes
/// one by hand; every change (and every refused one) is audited, and the status lists follow.
@Suite("#20 tongban certificates", .sharedMachine)
struct CertificatesCommandTests {
    static let base = "https://tongban.example.gov.cn"

    /// A child and a living parent of the population, whom the views relate.
    static func pair(_ population: SignedPopulation) throws -> (child: String, parent: String) {
        let byID = Dictionary(population.expected.sample.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let person = try #require(
            population.expected.sample.first {
                guard let mother = $0.kinship.motherId else { return false }
                return byID[mother].map { !$0.identity.deceased } ?? true
            })
        return (person.id, try #require(person.kinship.motherId))
    }

    /// Issues a kinship certificate as the API does, through the issuer, at `now`.
    static func issue(
        _ issuer: CertificateIssuer, child: String, parent: String, client: String, now: Date
    ) async throws -> StoredCertificate {
        let (outcome, _) = try await issuer.issue(
            CertificateQuestion(kind: .kinship, subject: child, relative: parent),
            on: CertificateServicesAPI.beijingToday(), asOfCertificate: false, validDays: 30, clientID: client, now: now
        )
        guard case .issued(let certificate) = outcome else { throw ScenarioError("not issued: \(outcome)") }
        return certificate
    }

    /// Runs a command's `perform` and returns what it said.
    static func said(_ perform: ((String) -> Void) async throws -> Void) async throws -> [String] {
        let lines = LinesSaid()
        try await perform { lines.append($0) }
        return lines.all
    }

    /// Runs a change that must be refused, and returns the refusal's words.
    static func refusal(_ perform: ((String) -> Void) async throws -> Void) async -> String {
        do {
            try await perform { _ in }
            Issue.record("the change was not refused")
            return ""
        } catch let failure as CommandFailure {
            return failure.description
        } catch {
            Issue.record("refused with \(error), not a CommandFailure")
            return ""
        }
    }

    /// The operator's rows of the audit log, oldest first: summary, outcome, status, subjects, and the other fields.
    static func operatorAudit(_ database: PostgresClient) async throws -> [(String, String, Int, [String], String)] {
        try await database.query(
            """
            SELECT answer_summary, outcome, status, subjects, purpose || ' ' || question
            FROM tongban.audit_log WHERE client_id = 'operator' ORDER BY seq
            """
        ).map {
            (
                try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode(Int.self, at: 2),
                try $0.decode([String].self, at: 3), try $0.decode(String.self, at: 4)
            )
        }
    }

    @Test(
        "#20 list, show, suspend, reinstate, revoke by hand: audited, the lists follow, a revocation is final (exit 1)",
        .timeLimit(.minutes(20)))
    func operatorChanges() async throws {
        let population = try SignedPopulation.make(people: 40, seed: 91, anomalyRate: 0)
        let (child, parent) = try Self.pair(population)
        let logger = Logger(label: "certificates-test")
        try await withTestDatabase { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            try await ProjectionScenario.applyReference(population, to: db.client)
            try await db.client.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                VALUES ('tongban.views', 'tongban.household', 0, 1, 1)
                """)
            let hub = try CertificateHub(keys: .ephemeral(), publicBaseURL: Self.base)
            let store = CertificateStore(database: db.client)
            let issuer = CertificateIssuer(hub: hub, store: store, database: db.client)
            let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) - 60)
            let first = try await Self.issue(issuer, child: child, parent: parent, client: "tbc_office_a", now: start)
            let second = try await Self.issue(
                issuer, child: child, parent: parent, client: "tbc_office_a", now: start + 10)
            let third = try await Self.issue(
                issuer, child: child, parent: parent, client: "tbc_office_b", now: start + 20)
            let id = first.id.uuidString.lowercased()
            let index = try #require(await store.indexOf(first.id))

            // list: newest first, the subject masked, filters, --limit, --json.
            var said = try await Self.said {
                try await CertificatesCommand.List.parse([]).perform(database: db.client, logger: logger, say: $0)
            }
            #expect(said.count == 5, "\(said)")
            #expect(said.first?.hasPrefix("ID  ") == true && said.first?.hasSuffix("SUBJECT") == true, "\(said)")
            #expect(said.dropFirst().first?.hasPrefix(third.id.uuidString.lowercased()) == true, "newest first")
            #expect(said.dropFirst(3).first?.hasPrefix(id) == true, "\(said)")
            #expect(said[1].contains("kinship") && said[1].contains("valid") && said[1].contains("tbc_office_b"))
            #expect(said[1].hasSuffix(CitizenIDMasking.mask(child)), "\(said[1])")
            #expect(!said.joined().contains(child) && !said.joined().contains(parent), "no whole ID in the list")
            #expect(said.last == "3 certificates")
            let kindColumn = said[0].range(of: "KIND")?.lowerBound.utf16Offset(in: said[0])
            let kinds = said.dropFirst().dropLast().map { $0.range(of: "kinship")?.lowerBound.utf16Offset(in: $0) }
            #expect(kinds.allSatisfy { $0 != nil && $0 == kindColumn }, "the columns line up: \(said)")
            said = try await Self.said {
                try await CertificatesCommand.List.parse(["--client", "tbc_office_b"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(said.count == 3 && said.last == "1 certificate (client tbc_office_b)", "\(said)")
            said = try await Self.said {
                try await CertificatesCommand.List.parse(["--limit", "2"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(said.count == 4 && said.last == "the 2 latest certificates (--limit)", "\(said)")
            said = try await Self.said {
                try await CertificatesCommand.List.parse(["--json"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(said.count == 1)
            let listed = try #require(
                try JSONSerialization.jsonObject(with: Data(said[0].utf8)) as? [[String: Any]], "\(said)")
            #expect(
                listed.compactMap { $0["id"] as? String }
                    == [third, second, first].map { $0.id.uuidString.lowercased() })
            #expect(listed.allSatisfy { $0["status"] as? String == "valid" && $0["kind"] as? String == "kinship" })
            #expect(listed.allSatisfy { $0["subject"] as? String == CitizenIDMasking.mask(child) })
            #expect(listed.allSatisfy { $0["relative"] as? String == CitizenIDMasking.mask(parent) })
            #expect(listed[0]["issuedAt"] as? String == ClientsCommand.timestamp(start + 20))

            // show: the operator's view, IDs whole.
            said = try await Self.said {
                try await CertificatesCommand.Show.parse([id]).perform(database: db.client, logger: logger, say: $0)
            }
            #expect(said.contains("certificate   \(id)"), "\(said)")
            #expect(said.contains("kind          kinship, what holds now"))
            #expect(said.contains("subject       \(child)") && said.contains("relative      \(parent)"))
            #expect(said.contains("client        tbc_office_a"))
            #expect(said.contains("status        valid") && said.last == "no changes of status", "\(said)")
            #expect(said.contains("status lists  revocation 1, suspension 2, index \(index)"), "\(said)")

            // suspend: the suspension bit is set, one change recorded, audited.
            said = try await Self.said {
                try await CertificatesCommand.Suspend.parse([id, "--reason", "  papers being checked  "]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(said.count == 2, "\(said)")
            #expect(said[0].hasPrefix("certificate \(id) is suspended since 20"), "\(said)")
            #expect(said[0].hasSuffix("(by operator: papers being checked)"), "the reason is trimmed: \(said)")
            #expect(said[1].hasPrefix("audited as row "))
            #expect(try await store.listBits(2)?.setIndexes == [index])
            #expect(try await store.listBits(1)?.setIndexes == [])
            said = try await Self.said {
                try await CertificatesCommand.List.parse(["--status", "suspended"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(said.count == 3 && said[1].hasPrefix(id), "\(said)")
            #expect(said.last == "1 certificate (status suspended)")
            var refused = await Self.refusal {
                try await CertificatesCommand.Suspend.parse([id, "--reason", "again"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(refused.contains("is already suspended") && refused.hasSuffix(": nothing changed"), "\(refused)")

            // reinstate: the bit is cleared; reinstating a valid certificate is refused.
            said = try await Self.said {
                try await CertificatesCommand.Reinstate.parse([id, "--reason", "papers in order"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(said.first == "certificate \(id) is valid (by operator: papers in order)", "\(said)")
            #expect(try await store.listBits(2)?.setIndexes == [])
            refused = await Self.refusal {
                try await CertificatesCommand.Reinstate.parse([id, "--reason", "again"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(refused == "certificate \(id) is not suspended: there is nothing to reinstate: nothing changed")

            // revoke: the revocation bit, in the list as served and signed; then nothing undoes it.
            said = try await Self.said {
                try await CertificatesCommand.Revoke.parse([id, "--reason", "issued to the wrong applicant"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(said.first?.hasPrefix("certificate \(id) is revoked since 20") == true, "\(said)")
            let served = try #require(try await StatusListPublisher(hub: hub, store: store).list(1))
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(served.body.utf8)) as? [String: Any])
            let encoded = try #require(
                (document["credentialSubject"] as? [String: Any])?["encodedList"] as? String)
            let bits = try BitstringStatusList.decode(encodedList: encoded)
            #expect(try bits.bit(at: index), "the revocation bit is set in the list as served")
            #expect(try await store.listBits(1)?.setIndexes == [index], "and no other")
            refused = await Self.refusal {
                try await CertificatesCommand.Reinstate.parse([id, "--reason", "it was right after all"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(refused.contains("is revoked (revoked since 20"), "\(refused)")
            #expect(refused.contains("by operator: issued to the wrong applicant)"), "\(refused)")
            #expect(refused.hasSuffix("a revocation is final, it cannot be reinstated: nothing changed"), "\(refused)")
            refused = await Self.refusal {
                try await CertificatesCommand.Suspend.parse([id, "--reason", "x"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(refused.contains("it cannot be suspended"), "\(refused)")
            refused = await Self.refusal {
                try await CertificatesCommand.Revoke.parse([id, "--reason", "x"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(refused.contains("is already revoked"), "\(refused)")
            #expect(try await store.certificate(first.id)?.status.state == .revoked)
            let unknown = UUID().uuidString.lowercased()
            refused = await Self.refusal {
                try await CertificatesCommand.Revoke.parse([unknown, "--reason", "x"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            #expect(refused == "there is no certificate \(unknown) (`tongban certificates list` lists them)")

            // show: the status and every change, oldest first.
            said = try await Self.said {
                try await CertificatesCommand.Show.parse([id]).perform(database: db.client, logger: logger, say: $0)
            }
            let status = try #require(said.first { $0.hasPrefix("status  ") })
            #expect(status.hasPrefix("status        revoked since 20"), "\(said)")
            #expect(status.hasSuffix(" by operator: issued to the wrong applicant"), "\(said)")
            #expect(said.contains("changes of status (3):"), "\(said)")
            let changes = said.filter { $0.hasPrefix("  ") }
            #expect(changes.count == 3, "\(said)")
            #expect(changes.first?.hasSuffix("suspend    by operator: papers being checked") == true, "\(said)")
            #expect(changes.dropFirst().first?.hasSuffix("reinstate  by operator: papers in order") == true)
            #expect(changes.last?.hasSuffix("revoke     by operator: issued to the wrong applicant") == true)
            said = try await Self.said {
                try await CertificatesCommand.Show.parse([id, "--json"]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            let shown = try #require(try JSONSerialization.jsonObject(with: Data(said[0].utf8)) as? [String: Any])
            #expect(shown["status"] as? String == "revoked" && shown["subject"] as? String == child)
            #expect(
                (shown["changes"] as? [[String: Any]])?.compactMap { $0["action"] as? String } == [
                    "suspend", "reinstate", "revoke",
                ])

            // A revocation by the streams: show names the event that caused it.
            let event = try await db.client.query(
                "SELECT event_id, type, source FROM tongban.event WHERE subject = \(child) ORDER BY event_id LIMIT 1"
            )[0]
            let eventID = try event.decode(UUID.self, at: 0)
            #expect(
                try await store.apply(
                    .revoke, to: second.id, reason: "the mother's record changed", by: "stream", event: eventID))
            said = try await Self.said {
                try await CertificatesCommand.Show.parse([second.id.uuidString]).perform(
                    database: db.client, logger: logger, say: $0)
            }
            let cause = try #require(said.first { $0.hasPrefix("caused by") }, "\(said)")
            #expect(
                cause.hasPrefix(
                    "caused by     event \(eventID.uuidString.lowercased()) (\(try event.decode(String.self, at: 1)) "
                        + "from \(try event.decode(String.self, at: 2))), applied 20"), "\(cause)")
            #expect(said.last?.hasSuffix("(event \(eventID.uuidString.lowercased()))") == true, "\(said)")

            // Every change and every refusal is in the audit log, and the chain holds.
            let audit = try await Self.operatorAudit(db.client)
            let expected: [(String, String, Int)] = [
                ("suspend \(id)", "answered", 200), ("suspend \(id): already-suspended", "refused", 409),
                ("reinstate \(id)", "answered", 200), ("reinstate \(id): not-suspended", "refused", 409),
                ("revoke \(id)", "answered", 200), ("reinstate \(id): revoked", "refused", 409),
                ("suspend \(id): revoked", "refused", 409), ("revoke \(id): already-revoked", "refused", 409),
                ("revoke \(unknown): not found", "refused", 404),
            ]
            #expect(audit.map(\.0) == expected.map(\.0), "\(audit)")
            #expect(audit.map(\.1) == expected.map(\.1))
            #expect(audit.map(\.2) == expected.map(\.2))
            #expect(audit.dropLast().allSatisfy { $0.3 == [child] } && audit.last?.3 == [])
            #expect(audit.allSatisfy { $0.4 == "operator certificate-status" })
            #expect(try await AuditLog.verify(on: db.client).isIntact)
            let recorded = try await db.client.query(
                """
                SELECT count(*) FILTER (WHERE changed_by = 'operator'), count(*)
                FROM tongban.certificate_status_change WHERE certificate_id = \(first.id)
                """)[0]
            #expect(try recorded.decode(Int.self, at: 0) == 3 && recorded.decode(Int.self, at: 1) == 3)

            // The binary: a refused change exits 1 and says why on standard error; a change exits 0.
            let binary = try TongbanExecutable.required()
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = db.conninfo
            let final = try await TestProcess.run(
                binary, ["certificates", "reinstate", id, "--reason", "try"], environment: environment)
            #expect(final.status == 1, "\(final.output) \(final.errors)")
            #expect(final.errors.contains("a revocation is final, it cannot be reinstated"), "\(final.errors)")
            let third3 = third.id.uuidString.lowercased()
            let revoked = try await TestProcess.run(
                binary, ["certificates", "revoke", third3, "--reason", "fraud"], environment: environment)
            #expect(revoked.status == 0, "\(revoked.errors)")
            #expect(revoked.output.contains("certificate \(third3) is revoked since 20"), "\(revoked.output)")
            var indexes = [index]
            for certificate in [second, third] { indexes.append(try #require(await store.indexOf(certificate.id))) }
            #expect(try await store.listBits(1)?.setIndexes == indexes.sorted(), "the three revoked, no other")
        }
    }

    @Test("#20 the arguments: a certificate id is a UUID; a reason is given, one line, at most 500 characters")
    func arguments() throws {
        let id = UUID().uuidString
        _ = try CertificatesCommand.Revoke.parse([id, "--reason", "fraud"])
        _ = try CertificatesCommand.Suspend.parse([id, "--reason", String(repeating: "字", count: 500)])
        #expect(throws: (any Error).self) { try CertificatesCommand.Revoke.parse(["42", "--reason", "fraud"]) }
        #expect(throws: (any Error).self) { try CertificatesCommand.Revoke.parse([id]) }
        #expect(throws: (any Error).self) { try CertificatesCommand.Revoke.parse([id, "--reason", "   "]) }
        #expect(throws: (any Error).self) { try CertificatesCommand.Reinstate.parse([id, "--reason", "a\nb"]) }
        #expect(throws: (any Error).self) { try CertificatesCommand.Reinstate.parse([id, "--reason", "a\u{0}b"]) }
        #expect(throws: (any Error).self) {
            try CertificatesCommand.Suspend.parse([id, "--reason", String(repeating: "字", count: 501)])
        }
        #expect(throws: (any Error).self) { try CertificatesCommand.Show.parse(["not-an-id"]) }
        #expect(throws: (any Error).self) { try CertificatesCommand.List.parse(["--limit", "0"]) }
        #expect(throws: (any Error).self) { try CertificatesCommand.List.parse(["--status", "expired"]) }
        #expect {
            try CertificatesCommand.Reinstate.parse([id, "--reason", "a\tb"])
        } throws: { error in
            CertificatesCommand.Reinstate.message(for: error).contains("without control characters")
        }
    }
}

/// Lines a command said, collected from its `say`.
final class LinesSaid: Sendable {
    private let lines = Mutex<[String]>([])
    /// Adds a line.
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    /// Every line, in order.
    var all: [String] { lines.withLock { $0 } }
}

extension CertificateStore {
    /// A certificate's index in its status lists.
    func indexOf(_ id: UUID) async throws -> Int? {
        try await database.query("SELECT status_index FROM tongban.certificate WHERE certificate_id = \(id)").first?
            .decode(Int.self, at: 0)
    }
}
