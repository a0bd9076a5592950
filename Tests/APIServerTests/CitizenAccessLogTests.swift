import API
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Postgres
import Projections
import Synchronization
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import APIServer

/// The citizen's access log through a real socket: certificate services ask about citizens A and B, and each citizen,
/// signed in with an ID token of the configured issuer, sees exactly the requests that named them, newest first, page
/// by page; every other token is refused with a 401 problem; every request is audited; every reply validates against
/// schemas/openapi.yaml.
@Suite("#19 citizen's access log", .sharedMachine)
struct CitizenAccessLogTests {
    /// What a citizen should see of one request.
    struct Seen: Equatable, CustomStringConvertible {
        var client: String
        var purpose: String
        var question: String
        var requestedBy: String?
        var outcome: String

        init(_ client: String, _ purpose: String, _ question: String, _ outcome: String) {
            self.init(client, purpose, question, nil, outcome)
        }

        init(_ client: String, _ purpose: String, _ question: String, _ requestedBy: String?, _ outcome: String) {
            self.client = client
            self.purpose = purpose
            self.question = question
            self.requestedBy = requestedBy
            self.outcome = outcome
        }

        init(_ json: [String: Any]) {
            self.init(
                json["client"] as? String ?? "?", json["purpose"] as? String ?? "?", json["question"] as? String ?? "?",
                json["requestedBy"] as? String, json["outcome"] as? String ?? "?")
        }

        var description: String { "\(client)/\(purpose)/\(question)/\(requestedBy ?? "-")/\(outcome)" }
    }

    @Test(
        "#19 a citizen lists exactly the requests about them, page by page; other tokens are refused",
        arguments: [91, 17])
    func accessLog(seed: UInt64) async throws {
        let population = try SignedPopulation.make(people: 40, seed: seed, anomalyRate: 0)
        let logger = Logger(label: "citizen-test")
        // A: a mother, asked about by her child P too; B: someone else of the sample.
        let child = try #require(population.expected.sample.first { $0.kinship.motherId != nil })
        let citizenA = try #require(child.kinship.motherId)
        let citizenB = try #require(
            population.expected.sample.first {
                ![child.id, citizenA].contains($0.id) && $0.kinship.motherId != citizenA
            }
        ).id
        let asOf = population.expected.asOf
        try await withTestDatabase { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            try await ProjectionScenario.applyReference(population, to: db.client)
            try await db.client.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                VALUES ('tongban.views', 'tongban.household', 0, 1, 1)
                """)
            let clients = ClientRegistry(database: db.client, logger: logger)
            let portal = try await clients.register(
                name: "Pudong certificate office", scopes: [.kinship], purposes: ["kinship-certificate"],
                requestsPerSecond: 10_000)
            let pension = try await clients.register(
                name: "pension office", scopes: [.socialInsurance], purposes: ["pension"], requestsPerSecond: 10_000)
            let key = TokenSigningKey.generateForDevelopment()
            let portalToken = try await AccessTokenIssuer(key: key).issue(for: portal.client).token
            let pensionToken = try await AccessTokenIssuer(key: key).issue(for: pension.client).token
            let login = DevelopmentCitizenIssuer()
            let citizens = try await CitizenTokenVerifier(
                jwks: Array(login.jwks.utf8), issuer: DevelopmentCitizenIssuer.issuerURL)
            let audit = AuditLog(client: db.client, logger: logger)
            let app = try await CertificateServicesServer.application(
                configuration: .init(port: 0), database: db.client, tokenKey: key, audit: audit, logger: logger,
                citizens: citizens)
            let unconfigured = try await CertificateServicesServer.application(
                configuration: .init(port: 0), database: db.client, tokenKey: key, audit: audit, logger: logger)
            let requests = RequestCounter()
            let purpose = HTTPField.Name("Tongban-Purpose")!
            let requestedBy = HTTPField.Name("Tongban-Requested-By")!
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await audit.run() }
                defer { audit.shutdown() }
                try await app.test(.live) { client in
                    let send = Self.sender(client, requests)
                    func list(_ token: String?, _ query: String = "") async throws -> KinshipAPITests.Reply {
                        try await send(
                            "/v1/citizen/access-log\(query)", token.map { [.authorization: "Bearer \($0)"] } ?? [:])
                    }

                    // Certificate services ask about A (once with A's child P acting for her) and about B.
                    let kinship = "/v1/kinship?subject=\(citizenA)&relative=\(child.id)&asOf=\(asOf)"
                    let office: HTTPFields = [.authorization: "Bearer \(portalToken)", purpose: "kinship-certificate"]
                    var helped = office
                    helped[requestedBy] = child.id
                    let pensionHeaders: HTTPFields = [.authorization: "Bearer \(pensionToken)", purpose: "pension"]
                    let period =
                        "from=\(population.expected.contributionsFrom)&to=\(population.expected.contributionsTo)"
                    let asked: [(String, HTTPFields, HTTPResponse.Status)] = [
                        (kinship, office, .ok),
                        (kinship, helped, .ok),
                        ("/v1/social-insurance/contributions?subject=\(citizenA)&\(period)", pensionHeaders, .ok),
                        ("/v1/social-insurance/contributions?subject=\(citizenB)&\(period)", pensionHeaders, .ok),
                        (kinship, [.authorization: "Bearer \(portalToken)", purpose: "marketing"], .forbidden),
                    ]
                    for (uri, headers, status) in asked {
                        let reply = try await send(uri, headers)
                        #expect(reply.status == status, "\(uri): \(reply.json)")
                    }
                    let seenByA = [
                        Seen("Pudong certificate office", "marketing", "kinship", "refused"),
                        Seen("pension office", "pension", "social-insurance", "answered"),
                        Seen("Pudong certificate office", "kinship-certificate", "kinship", child.id, "answered"),
                        Seen("Pudong certificate office", "kinship-certificate", "kinship", "answered"),
                    ]

                    // A sees exactly the rows naming her, newest first, with the client's registered name.
                    let tokenA = try await login.mint(citizenID: citizenA)
                    let tokenB = try await login.mint(citizenID: citizenB)
                    let all = try await list(tokenA)
                    #expect(all.status == .ok, "\(all.json)")
                    #expect(all.headers[.cacheControl] == "no-store")
                    #expect(all.json["citizen"] as? String == citizenA && all.json["nextBefore"] == nil)
                    let entries = all.json["entries"] as? [[String: Any]] ?? []
                    #expect(entries.map(Seen.init) == seenByA)
                    let seqs = entries.compactMap { $0["seq"] as? Int }
                    #expect(seqs.count == entries.count && seqs == seqs.sorted(by: >), "newest first: \(seqs)")
                    #expect(entries.allSatisfy { ($0["time"] as? String)?.hasSuffix("Z") == true })
                    // Each row listed names A, and no row naming A is left out; the listing itself, audited once
                    // answered, names A too and comes after them.
                    let naming = try await db.client.query(
                        "SELECT seq FROM tongban.audit_log WHERE \(citizenA) = ANY(subjects) ORDER BY seq DESC")
                    let namingSeqs = try naming.map { try $0.decode(Int.self, at: 0) }
                    #expect(Array(namingSeqs.dropFirst()) == seqs, "\(namingSeqs) listed \(seqs)")
                    #expect(namingSeqs.first ?? 0 > seqs.first ?? 0)

                    // B sees the row about B only; A's rows are not in it.
                    let ofB = try await list(tokenB)
                    let entriesB = ofB.json["entries"] as? [[String: Any]] ?? []
                    #expect(
                        entriesB.map(Seen.init) == [Seen("pension office", "pension", "social-insurance", "answered")])
                    #expect(Set(entriesB.compactMap { $0["seq"] as? Int }).isDisjoint(with: seqs))

                    // Paging: 2 at a time, following nextBefore, gives A's listing just made and the rows above.
                    var paged: [[String: Any]] = []
                    var query = "?limit=2"
                    var pages = 0
                    while true {
                        let page = try await list(tokenA, query)
                        #expect(page.status == .ok, "\(page.json)")
                        let rows = page.json["entries"] as? [[String: Any]] ?? []
                        #expect(rows.count <= 2)
                        paged += rows
                        pages += 1
                        guard let next = page.json["nextBefore"] as? Int, pages < 10 else { break }
                        #expect(next == rows.last?["seq"] as? Int)
                        query = "?limit=2&before=\(next)"
                    }
                    #expect(pages == 3)
                    let ownListing = Seen("you (your own access log)", "own-access-log", "access-log", "answered")
                    #expect(paged.map(Seen.init) == [ownListing] + seenByA)
                    #expect(paged.dropFirst().compactMap { $0["seq"] as? Int } == seqs)

                    // Refusals: 401 for every token but A's own, 400 for a limit out of range.
                    let expired = try await login.mint(
                        citizenID: citizenA, issuedAt: Date().addingTimeInterval(-7200), lifetime: .seconds(3600))
                    let foreign = try await login.mint(citizenID: citizenA, issuer: "https://login.elsewhere.example")
                    let otherKey = try await DevelopmentCitizenIssuer().mint(citizenID: citizenA)
                    let refusals: [(String?, String, HTTPResponse.Status, String)] = [
                        (nil, "", .unauthorized, "missing-token"),
                        (foreign, "", .unauthorized, "wrong-issuer"),
                        (expired, "", .unauthorized, "token-expired"),
                        (otherKey, "", .unauthorized, "invalid-token"),
                        (portalToken, "", .unauthorized, "invalid-token"),
                        ("not.a.token", "", .unauthorized, "invalid-token"),
                        (tokenA, "?limit=0", .badRequest, "invalid-limit"),
                        (tokenA, "?limit=201", .badRequest, "invalid-limit"),
                        (tokenA, "?before=0", .badRequest, "invalid-before"),
                        (tokenA, "?limit=many", .badRequest, "malformed-request"),
                    ]
                    for (token, query, status, code) in refusals {
                        let reply = try await list(token, query)
                        #expect(
                            reply.status == status && reply.json["code"] as? String == code, "\(code): \(reply.json)")
                        #expect(reply.headers[.contentType]?.hasPrefix("application/problem+json") == true)
                    }
                    // A citizen's token is no access token for the questions.
                    let question = try await send(
                        kinship, [.authorization: "Bearer \(tokenA)", purpose: "kinship-certificate"])
                    #expect(question.status == .unauthorized && question.json["code"] as? String == "invalid_token")

                    // A citizen who lists too often is turned away for a while.
                    var limited: KinshipAPITests.Reply?
                    for _ in 0..<40 {
                        let reply = try await list(tokenB, "?limit=1")
                        if reply.status == .tooManyRequests {
                            limited = reply
                            break
                        }
                    }
                    let refused = try #require(limited, "40 listings in a row are never limited")
                    #expect(refused.json["code"] as? String == "rate-limited" && refused.headers[.retryAfter] != nil)
                }
                // A server not configured for citizens says so.
                try await unconfigured.test(.live) { client in
                    let reply = try await Self.sender(client, requests)(
                        "/v1/citizen/access-log", [.authorization: "Bearer x.y.z"])
                    #expect(reply.status == .serviceUnavailable)
                    #expect(reply.json["code"] as? String == "citizen-login-not-configured")
                    #expect(reply.headers[.retryAfter] == nil)
                }
                audit.shutdown()
                try await tasks.waitForAll()
            }

            // Every request is audited; the citizens' own requests as client "citizen", purpose "own-access-log",
            // naming the citizen once the token held and nobody before.
            try await APITestHarness.expectEveryRequestAudited(requests, in: db.client)
            let own = try await db.client.query(
                """
                SELECT answer_summary, subjects, status FROM tongban.audit_log
                WHERE client_id = 'citizen' AND purpose = 'own-access-log' AND question = 'access-log' ORDER BY seq
                """)
            var byCode: [String: [[String]]] = [:]
            for row in own {
                byCode[try row.decode(String.self, at: 0), default: []].append(try row.decode([String].self, at: 1))
            }
            #expect(byCode["wrong-issuer"] == [[]] && byCode["missing-token"] == [[]])
            #expect(byCode["invalid-limit"] == [[citizenA], [citizenA]] && byCode["rate-limited"] == [[citizenB]])
            #expect(byCode["citizen-login-not-configured"] == [[]])
            #expect(own.count >= 17)

            // The contract: every reply validates against its schema in schemas/openapi.yaml.
            try await APITestHarness.expectValid(requests.replies.withLock { $0 })
        }
    }

    /// A `GET` through the test client that records its reply for the contract check.
    static func sender(
        _ client: some TestClientProtocol, _ requests: RequestCounter
    ) -> (String, HTTPFields) async throws -> KinshipAPITests.Reply {
        { uri, headers in
            requests.count.add(1, ordering: .relaxed)
            return try await client.execute(uri: uri, method: .get, headers: headers, body: nil) { response in
                let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                requests.replies.withLock {
                    $0.append(
                        RecordedReply(
                            path: String(uri.prefix { $0 != "?" }), method: "get", status: response.status.code,
                            contentType: response.headers[.contentType] ?? "", body: text))
                }
                let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
                return KinshipAPITests.Reply(status: response.status, headers: response.headers, json: json)
            }
        }
    }
}
