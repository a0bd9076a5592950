import API
import Events
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

/// Every question endpoint, through a real socket, refuses what it must: a missing, wrongly signed, expired,
/// other-issuer or other-audience token; an out-of-scope question; a missing or unregistered purpose; a disabled
/// client; a requester who is not a relative; malformed IDs, SQL-injection strings, invalid UTF-8 and over-long bodies.
/// Every refusal is an RFC 9457 problem in schemas/openapi.yaml, every request is audited, and no secret or token
/// reaches a log line.
@Suite("#19 API security: every endpoint checks the caller", .sharedMachine)
struct APISecurityTests {
    /// One question endpoint: its path and query for a subject, and its scope.
    struct Endpoint {
        var path: String
        var scope: APIScope
        var query: @Sendable (_ subject: String) -> String
    }

    @Test(
        "#19 every question refuses bad tokens, scopes, purposes, requesters and input; all audited, no secret logged")
    func refusals() async throws {
        let population = try SignedPopulation.make(people: 30, seed: 17, anomalyRate: 0)
        let logs = LogCapture()
        let logger = logs.logger
        let stranger = "11010119900101999" + String(CitizenIDCheck.character(for: "11010119900101999"))
        let period = "from=\(population.expected.contributionsFrom)&to=\(population.expected.contributionsTo)"
        let endpoints: [Endpoint] = [
            Endpoint(path: "/v1/kinship", scope: .kinship) { "subject=\($0)&relative=\(stranger)" },
            Endpoint(path: "/v1/social-insurance/contributions", scope: .socialInsurance) { "subject=\($0)&\(period)" },
            Endpoint(path: "/v1/property/titles", scope: .property) { "subject=\($0)" },
            Endpoint(path: "/v1/medical-insurance", scope: .medicalInsurance) { "subject=\($0)" },
            Endpoint(path: "/v1/prefill", scope: .prefill) { "subject=\($0)" },
        ]
        // A mother and her child by birth, from the ground truth (and a stranger nobody registered, above).
        let child = try #require(population.expected.sample.first { $0.kinship.motherId != nil })
        let mother = try #require(child.kinship.motherId)
        try await withTestDatabase { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            try await ProjectionScenario.applyReference(population, to: db.client)
            try await db.client.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                VALUES ('tongban.views', 'tongban.household', 0, 1, 1)
                """)
            let clients = ClientRegistry(database: db.client, logger: logger)
            let everything = try await clients.register(
                name: "all questions", scopes: endpoints.map(\.scope), purposes: ["certificate"],
                requestsPerSecond: 10_000)
            let kinshipOnly = try await clients.register(
                name: "kinship only", scopes: [.kinship], purposes: ["certificate"], requestsPerSecond: 10_000)
            let pensionOnly = try await clients.register(
                name: "pension only", scopes: [.socialInsurance], purposes: ["certificate"], requestsPerSecond: 10_000)
            let key = TokenSigningKey.generateForDevelopment()
            let audit = AuditLog(client: db.client, logger: logger)
            let app = try await CertificateServicesServer.application(
                configuration: .init(port: 0), database: db.client, tokenKey: key, audit: audit, logger: logger)

            // Tokens the server must refuse, each made with the server's own code but one thing wrong.
            let forged = try await AccessTokenIssuer(key: TokenSigningKey.generate(keyID: key.keyID))
                .issue(for: everything.client).token
            let otherIssuer = try await AccessTokenIssuer(key: key, issuer: "someone-else")
                .issue(for: everything.client).token
            let otherAudience = try await AccessTokenIssuer(key: key, audience: "another-api")
                .issue(for: everything.client).token
            let expired = try await AccessTokenIssuer(key: key, now: { Date().addingTimeInterval(-3_600) })
                .issue(for: everything.client).token

            let requests = RequestCounter()
            let secrets = Mutex([everything.secret, kinshipOnly.secret, pensionOnly.secret, forged, expired])
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await audit.run() }
                defer { audit.shutdown() }
                try await app.test(.live) { client in
                    func send(
                        _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: ByteBuffer? = nil
                    ) async throws -> KinshipAPITests.Reply {
                        requests.count.add(1, ordering: .relaxed)
                        return try await client.execute(uri: uri, method: method, headers: headers, body: body) {
                            response in
                            let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                            requests.replies.withLock {
                                $0.append(
                                    RecordedReply(
                                        path: String(uri.prefix { $0 != "?" }), method: method.rawValue.lowercased(),
                                        status: response.status.code, contentType: response.headers[.contentType] ?? "",
                                        body: text))
                            }
                            let json =
                                (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
                            return KinshipAPITests.Reply(status: response.status, headers: response.headers, json: json)
                        }
                    }
                    func token(_ registration: ClientRegistry.Registration) async throws -> String {
                        let reply = try await send(
                            .post, "/oauth/token", headers: [.contentType: "application/x-www-form-urlencoded"],
                            body: ByteBuffer(
                                string: "grant_type=client_credentials&client_id=\(registration.client.id)"
                                    + "&client_secret=\(registration.secret)"))
                        return try #require(reply.json["access_token"] as? String, "\(reply.json)")
                    }
                    let good = try await token(everything)
                    let kinshipToken = try await token(kinshipOnly)
                    let pensionToken = try await token(pensionOnly)
                    secrets.withLock { $0 += [good, kinshipToken, pensionToken] }
                    let purpose = HTTPField.Name("Tongban-Purpose")!
                    let requestedBy = HTTPField.Name("Tongban-Requested-By")!
                    func bearer(_ token: String, purpose stated: String? = "certificate") -> HTTPFields {
                        var fields: HTTPFields = [.authorization: "Bearer \(token)"]
                        if let stated { fields[purpose] = stated }
                        return fields
                    }

                    var checked = 0
                    for endpoint in endpoints {
                        let uri = "\(endpoint.path)?\(endpoint.query(mother))"
                        let outOfScope = endpoint.scope == .kinship ? pensionToken : kinshipToken
                        var relativeActing = bearer(good)
                        relativeActing[requestedBy] = child.id
                        var strangerActing = bearer(good)
                        strangerActing[requestedBy] = stranger
                        var malformedActing = bearer(good)
                        malformedActing[requestedBy] = "11010119900101999'--"
                        let cases: [(String, String, HTTPFields, HTTPResponse.Status, String?)] = [
                            ("no token", uri, [purpose: "certificate"], .unauthorized, "missing_token"),
                            ("a token signed by another key", uri, bearer(forged), .unauthorized, "invalid_token"),
                            (
                                "another issuer's token", uri, bearer(otherIssuer), .unauthorized,
                                "token_not_for_this_api"
                            ),
                            (
                                "a token for another API", uri, bearer(otherAudience), .unauthorized,
                                "token_not_for_this_api"
                            ),
                            ("an expired token", uri, bearer(expired), .unauthorized, "expired_token"),
                            ("not a JWT", uri, bearer("not.a.token"), .unauthorized, "invalid_token"),
                            ("an out-of-scope question", uri, bearer(outOfScope), .forbidden, "scope_not_granted"),
                            ("no purpose", uri, bearer(good, purpose: nil), .badRequest, nil),
                            (
                                "an unregistered purpose", uri, bearer(good, purpose: "marketing"), .forbidden,
                                "purpose_not_registered"
                            ),
                            ("a stranger acting for the subject", uri, strangerActing, .forbidden, "not-a-relative"),
                            ("a malformed requester", uri, malformedActing, .badRequest, "invalid-citizen-id"),
                            (
                                "a check digit that fails", "\(endpoint.path)?\(endpoint.query("110101199001019991"))",
                                bearer(good), .badRequest, "invalid-citizen-id"
                            ),
                            (
                                "SQL injection", "\(endpoint.path)?\(endpoint.query("1%27%20OR%201%3D1--"))",
                                bearer(good), .badRequest, "invalid-citizen-id"
                            ),
                            (
                                "invalid UTF-8", "\(endpoint.path)?\(endpoint.query("%FF%FE%C3%28"))", bearer(good),
                                .badRequest, nil
                            ),
                            ("the subject's own child acting for them", uri, relativeActing, .ok, nil),
                            ("the plain question", uri, bearer(good), .ok, nil),
                        ]
                        for (what, uri, fields, status, code) in cases {
                            let reply = try await send(.get, uri, headers: fields)
                            #expect(reply.status == status, "\(endpoint.path), \(what): \(reply.json)")
                            if let code { #expect(reply.json["code"] as? String == code, "\(endpoint.path), \(what)") }
                            if status != .ok {
                                #expect(
                                    reply.headers[.contentType]?.hasPrefix("application/problem+json") == true,
                                    "\(endpoint.path), \(what)")
                                #expect(reply.json["detail"] as? String != nil, "\(endpoint.path), \(what)")
                            }
                            checked += 1
                        }
                    }
                    #expect(checked == endpoints.count * 16)

                    // Over-long bodies are refused before they are read.
                    let huge = ByteBuffer(repeating: UInt8(ascii: "a"), count: 1 << 20)
                    let tooLong = try await send(
                        .post, "/oauth/token", headers: [.contentType: "application/x-www-form-urlencoded"],
                        body: huge)
                    #expect(tooLong.status == .contentTooLarge, "\(tooLong.json)")

                    // A disabled client is refused from its next request, on every endpoint.
                    _ = try await clients.disable(clientID: everything.client.id)
                    for endpoint in endpoints {
                        let reply = try await send(
                            .get, "\(endpoint.path)?\(endpoint.query(mother))", headers: bearer(good))
                        #expect(reply.status == .unauthorized, "\(endpoint.path)")
                        #expect(reply.json["code"] as? String == "client_disabled", "\(endpoint.path)")
                    }
                }
                audit.shutdown()
                try await tasks.waitForAll()
            }

            // Every request is in the audit log and the chain holds; the relative who acted is recorded beside the
            // subject, and a stranger's attempt is recorded as refused.
            try await APITestHarness.expectEveryRequestAudited(requests, in: db.client)
            let acted = try await db.client.query(
                """
                SELECT count(*) FILTER (WHERE outcome = 'answered' AND status = 200),
                    count(*) FILTER (WHERE outcome = 'refused' AND status = 403)
                FROM tongban.audit_log WHERE on_behalf_of IS NOT NULL AND \(mother) = ANY (subjects)
                """)
            #expect(try acted[0].decode(Int.self, at: 0) == endpoints.count, "the child acted once per endpoint")
            #expect(try acted[0].decode(Int.self, at: 1) == endpoints.count, "the stranger was refused per endpoint")
            // A refusal after the token held names the client that asked (the citizen's access log shows it).
            let named = try await db.client.query(
                """
                SELECT count(*) FROM tongban.audit_log
                WHERE answer_summary IN ('purpose_not_registered', 'client_disabled')
                    AND client_id = \(everything.client.id)
                """)
            #expect(try named[0].decode(Int.self, at: 0) == endpoints.count * 2)

            // No secret, and no token, in any log line.
            let lines = logs.lines
            #expect(!lines.isEmpty)
            for secret in secrets.withLock({ $0 }) {
                #expect(!lines.contains { $0.contains(secret) }, "a secret or token was logged")
            }

            // Every answer validates against schemas/openapi.yaml.
            try await APITestHarness.expectValid(requests.replies.withLock { $0 })
        }
    }
}
