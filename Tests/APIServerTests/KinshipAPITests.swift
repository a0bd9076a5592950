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

/// The certificate services' API through a real socket: tokens, the kinship and social-insurance questions against the
/// generator's ground truth, the refusals as RFC 9457 problems, the audit trail of every request, and every response
/// against its schema in schemas/openapi.yaml.
@Suite("#19 certificate services API: kinship and social insurance", .sharedMachine)
struct KinshipAPITests {
    struct Reply {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var json: [String: Any]
        /// The body as text.
        var text = ""
    }

    @Test("#19 tokens; kinship and months paid equal the ground truth; refusals are problems; every request is audited")
    func kinship() async throws {
        let population = try SignedPopulation.make(people: 40, seed: 91, anomalyRate: 0)
        let logger = Logger(label: "api-test")
        try await withTestDatabase { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            try await ProjectionScenario.applyReference(population, to: db.client)
            let clients = ClientRegistry(database: db.client, logger: logger)
            let portal = try await clients.register(
                name: "kinship portal", scopes: [.kinship], purposes: ["kinship-certificate"], requestsPerSecond: 10_000
            )
            let other = try await clients.register(
                name: "pension office", scopes: [.socialInsurance], purposes: ["pension"], requestsPerSecond: 10_000)
            let audit = AuditLog(client: db.client, logger: logger)
            let app = try await CertificateServicesServer.application(
                configuration: .init(port: 0), database: db.client,
                tokenKey: TokenSigningKey.generateForDevelopment(), audit: audit, logger: logger)
            let requests = RequestCounter()
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await audit.run() }
                defer { audit.shutdown() }
                try await app.test(.live) { client in
                    func send(
                        _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil
                    ) async throws -> Reply {
                        requests.count.add(1, ordering: .relaxed)
                        return try await client.execute(
                            uri: uri, method: method, headers: headers,
                            body: body.map { ByteBuffer(string: $0) }
                        ) { response in
                            let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                            requests.replies.withLock {
                                $0.append(
                                    RecordedReply(
                                        path: String(uri.prefix { $0 != "?" }), method: method.rawValue.lowercased(),
                                        status: response.status.code,
                                        contentType: response.headers[.contentType] ?? "", body: text))
                            }
                            let json =
                                (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
                            return Reply(status: response.status, headers: response.headers, json: json)
                        }
                    }
                    func token(_ registration: ClientRegistry.Registration) async throws -> String {
                        let basic = Data("\(registration.client.id):\(registration.secret)".utf8).base64EncodedString()
                        let reply = try await send(
                            .post, "/oauth/token",
                            headers: [
                                .authorization: "Basic \(basic)", .contentType: "application/x-www-form-urlencoded",
                            ],
                            body: "grant_type=client_credentials")
                        #expect(reply.status == .ok, "\(reply.json)")
                        #expect(reply.json["token_type"] as? String == "Bearer")
                        return try #require(reply.json["access_token"] as? String)
                    }
                    let bearer = try await token(portal)
                    let headers: HTTPFields = [
                        .authorization: "Bearer \(bearer)", HTTPField.Name("Tongban-Purpose")!: "kinship-certificate",
                    ]
                    func ask(_ subject: String, _ relative: String, _ asOf: String) async throws -> Reply {
                        try await send(
                            .get, "/v1/kinship?subject=\(subject)&relative=\(relative)&asOf=\(asOf)", headers: headers)
                    }

                    // Nothing projected yet (no checkpoint): 503 with Retry-After, never a partial answer.
                    let person = try #require(population.expected.sample.first { $0.kinship.motherId != nil })
                    let early = try await ask(person.id, person.kinship.motherId!, population.expected.asOf)
                    #expect(early.status == .serviceUnavailable)
                    #expect(early.json["code"] as? String == "views-not-ready")
                    #expect(early.headers[.retryAfter] != nil)
                    try await db.client.execute(
                        """
                        INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                        VALUES ('tongban.views', 'tongban.household', 0, 1, 1)
                        """)

                    // The ground truth: parents, spouses on each check date, siblings and grandparents by birth.
                    var asked = 0
                    for person in population.expected.sample {
                        let asOf = population.expected.asOf
                        for parent in [person.kinship.motherId, person.kinship.fatherId].compactMap({ $0 }) {
                            let reply = try await ask(person.id, parent, asOf)
                            #expect(reply.status == .ok)
                            #expect(Self.relations(reply).contains("parent/birth"), "\(person.id) → \(parent)")
                            #expect(reply.json["found"] as? Bool == true)
                            asked += 1
                        }
                        let spouses = Set(person.kinship.marriages.map(\.spouseId))
                        for (date, spouse) in zip(population.expected.checkDates, person.kinship.spouseOnCheckDates) {
                            for candidate in spouses {
                                let reply = try await ask(person.id, candidate, date)
                                let married = Self.relations(reply).contains("spouse/marriage")
                                #expect(married == (candidate == spouse), "\(person.id) and \(candidate) on \(date)")
                                asked += 1
                            }
                        }
                        for sibling in person.kinship.siblingIds {
                            #expect(Self.relations(try await ask(person.id, sibling, asOf)).contains("sibling/birth"))
                            asked += 1
                        }
                        for grandparent in person.kinship.grandparentIds {
                            let reply = try await ask(person.id, grandparent, asOf)
                            #expect(Self.relations(reply).contains("grandparent/birth"))
                            // Evidence: every cited event, with its department and position.
                            let evidence = reply.json["evidence"] as? [[String: Any]] ?? []
                            #expect(evidence.count >= 2)
                            #expect(evidence.allSatisfy { $0["department"] as? String == "household" })
                            #expect((reply.json["streamPosition"] as? [Any])?.isEmpty == false)
                            asked += 1
                        }
                    }
                    #expect(asked > 20)

                    // Social insurance, asked by the pension office (its scope and purpose): months paid per type
                    // over the ground truth's period, the gaps, continuity; reversals are not counted.
                    let pension: HTTPFields = [
                        .authorization: "Bearer \(try await token(other))",
                        HTTPField.Name("Tongban-Purpose")!: "pension",
                    ]
                    let period =
                        "from=\(population.expected.contributionsFrom)&to=\(population.expected.contributionsTo)"
                    var paying = 0
                    for person in population.expected.sample {
                        let reply = try await send(
                            .get, "/v1/social-insurance/contributions?subject=\(person.id)&\(period)", headers: pension)
                        #expect(reply.status == .ok, "\(reply.json)")
                        let insurance = reply.json["insurance"] as? [[String: Any]] ?? []
                        #expect(
                            insurance.map { $0["insuranceType"] as? String }
                                == person.contributions.map(\.insuranceType))
                        for (actual, expected) in zip(insurance, person.contributions) {
                            #expect(actual["monthsPaid"] as? Int == expected.monthsPaid, "\(person.id)")
                            #expect(actual["firstMonth"] as? String == expected.firstMonth, "\(person.id)")
                            #expect(actual["lastMonth"] as? String == expected.lastMonth, "\(person.id)")
                            #expect(actual["unpaidMonths"] as? [String] == expected.unpaidMonths, "\(person.id)")
                            #expect(actual["continuous"] as? Bool == expected.continuous, "\(person.id)")
                        }
                        if !person.contributions.isEmpty { paying += 1 }
                    }
                    #expect(paying > 5)
                    let contributionCases: [(String, HTTPFields, HTTPResponse.Status, String)] = [
                        ("subject=\(person.id)&\(period)", headers, .forbidden, "scope_not_granted"),
                        ("subject=\(person.id)&from=2020-13&to=2021-01", pension, .badRequest, "invalid-month"),
                        ("subject=\(person.id)&from=2021-02&to=2021-01", pension, .badRequest, "invalid-period"),
                        ("subject=\(person.id)&from=2021-01&to=2999-01", pension, .badRequest, "date-in-future"),
                    ]
                    for (query, fields, status, code) in contributionCases {
                        let reply = try await send(.get, "/v1/social-insurance/contributions?\(query)", headers: fields)
                        #expect(
                            reply.status == status && reply.json["code"] as? String == code, "\(query): \(reply.json)")
                    }

                    // A stranger (a well-formed ID nobody registered): "no relation found".
                    let stranger = "11010119900101999" + String(CitizenIDCheck.character(for: "11010119900101999"))
                    let none = try await ask(person.id, stranger, population.expected.asOf)
                    #expect(none.status == .ok && none.json["found"] as? Bool == false)
                    #expect((none.json["relations"] as? [Any])?.isEmpty == true)

                    // Refusals, each a problem with its code.
                    let today = CertificateServicesAPI.beijingToday()
                    let future = CivilDateText.adding(days: 2, to: today.description)
                    let cases: [(String, HTTPFields, HTTPResponse.Status, String)] = [
                        (
                            "/v1/kinship?subject=\(person.id)&relative=\(stranger)",
                            [HTTPField.Name("Tongban-Purpose")!: "kinship-certificate"], .unauthorized, "missing_token"
                        ),
                        (
                            "/v1/kinship?subject=\(person.id)&relative=\(stranger)", [:], .badRequest,
                            "malformed-request"
                        ),
                        (
                            "/v1/kinship?subject=\(person.id)&relative=\(stranger)",
                            [
                                .authorization: "Bearer not.a.token",
                                HTTPField.Name("Tongban-Purpose")!: "kinship-certificate",
                            ],
                            .unauthorized, "invalid_token"
                        ),
                        (
                            "/v1/kinship?subject=\(person.id)&relative=\(stranger)",
                            [.authorization: "Bearer \(bearer)", HTTPField.Name("Tongban-Purpose")!: "marketing"],
                            .forbidden, "purpose_not_registered"
                        ),
                        ("/v1/kinship?subject=\(person.id)", headers, .badRequest, "malformed-request"),
                        (
                            "/v1/kinship?subject=110101199001019991&relative=\(stranger)", headers, .badRequest,
                            "invalid-citizen-id"
                        ),
                        (
                            "/v1/kinship?subject=1%27%20OR%201%3D1--&relative=\(stranger)", headers, .badRequest,
                            "invalid-citizen-id"
                        ),
                        (
                            "/v1/kinship?subject=\(person.id)&relative=\(stranger)&asOf=\(future)", headers,
                            .badRequest, "date-in-future"
                        ),
                        (
                            "/v1/kinship?subject=\(person.id)&relative=\(stranger)&asOf=2020-13-01", headers,
                            .badRequest, "invalid-date"
                        ),
                        ("/v1/nothing-here", headers, .notFound, "no-such-endpoint"),
                    ]
                    for (uri, fields, status, code) in cases {
                        let reply = try await send(.get, uri, headers: fields)
                        #expect(reply.status == status, "\(uri)")
                        #expect(reply.json["code"] as? String == code, "\(uri): \(reply.json)")
                        #expect(reply.headers[.contentType]?.hasPrefix("application/problem+json") == true, "\(uri)")
                    }
                    // Another client's token: the question is out of its scope.
                    let otherBearer = try await token(other)
                    let outOfScope = try await send(
                        .get, "/v1/kinship?subject=\(person.id)&relative=\(stranger)",
                        headers: [
                            .authorization: "Bearer \(otherBearer)", HTTPField.Name("Tongban-Purpose")!: "pension",
                        ])
                    #expect(
                        outOfScope.status == .forbidden && outOfScope.json["code"] as? String == "scope_not_granted")
                    // A wrong secret, and a disabled client's token from its next request on.
                    let wrong = try await send(
                        .post, "/oauth/token", headers: [.contentType: "application/x-www-form-urlencoded"],
                        body: "grant_type=client_credentials&client_id=\(portal.client.id)&client_secret=wrong")
                    #expect(wrong.status == .unauthorized && wrong.json["code"] as? String == "invalid_client")
                    _ = try await clients.disable(clientID: portal.client.id)
                    let disabled = try await ask(person.id, stranger, population.expected.asOf)
                    #expect(disabled.status == .unauthorized && disabled.json["code"] as? String == "client_disabled")
                }
                audit.shutdown()
                try await tasks.waitForAll()
            }
            // Every request is in the audit log, and the chain holds.
            try await APITestHarness.expectEveryRequestAudited(requests, in: db.client)

            // The contract: every answer of a documented route validates against its response schema in
            // schemas/openapi.yaml, checked by an OpenAPI 3.1 validator we did not write.
            try await APITestHarness.expectValid(
                requests.replies.withLock { $0 }.filter { $0.path != "/v1/nothing-here" })
        }
    }

    /// schemas/openapi.yaml, as the repository has it.
    static var specification: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("schemas/openapi.yaml")
    }

    /// Validates recorded responses (JSON on stdin) against their schemas in the OpenAPI file (argv[1]), with
    /// `openapi-schema-validator` (OpenAPI 3.1, formats checked); prints "N responses valid" or each failure.
    static let contractCheck = """
        import json, sys, yaml
        from openapi_schema_validator import OAS31Validator, oas31_format_checker
        spec = yaml.safe_load(open(sys.argv[1]))
        def resolve(node):
            while "$ref" in node:
                *_, kind, name = node["$ref"].split("/")
                node = spec["components"][kind][name]
            return node
        import re
        templates = [(re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", p) + "$"), p) for p in spec["paths"]]
        def template(path):
            if path in spec["paths"]: return path
            return next((p for pattern, p in templates if pattern.match(path)), path)
        failures = []
        replies = json.load(sys.stdin)
        for r in replies:
            operation = spec["paths"].get(template(r["path"]), {}).get(r["method"])
            if operation is None:
                failures.append(f"{r['method']} {r['path']} is not in the file"); continue
            response = operation["responses"].get(str(r["status"]))
            if response is None:
                failures.append(f"{r['method']} {r['path']} answered {r['status']}, which the file does not list"); continue
            content = resolve(response).get("content", {})
            media = r["contentType"].split(";")[0].strip()
            if media not in content:
                failures.append(f"{r['method']} {r['path']} {r['status']}: {media} not documented"); continue
            schema = dict(content[media]["schema"], components=spec["components"])
            validator = OAS31Validator(schema, format_checker=oas31_format_checker)
            body = json.loads(r["body"]) if media.endswith("json") else r["body"]
            for error in validator.iter_errors(body):
                failures.append(f"{r['method']} {r['path']} {r['status']}: {error.message}")
        if failures:
            print("\\n".join(failures[:20]))
        else:
            print(f"{len(replies)} responses valid")
        """

    /// The relations of a reply, as `relation/basis`.
    static func relations(_ reply: Reply) -> [String] {
        (reply.json["relations"] as? [[String: Any]] ?? []).map {
            "\($0["relation"] as? String ?? "?")/\($0["basis"] as? String ?? "?")"
        }
    }
}

/// Requests sent by a test, and what came back.
final class RequestCounter: Sendable {
    let count = Atomic<Int>(0)
    let replies = Mutex<[RecordedReply]>([])
}

/// One response, for the contract check.
struct RecordedReply: Codable, Sendable {
    var path: String
    var method: String
    var status: Int
    var contentType: String
    var body: String
}

/// The GB 11643 check character of 17 digits, computed here independently of the Events module.
enum CitizenIDCheck {
    static func character(for digits: String) -> Character {
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(digits.compactMap(\.wholeNumberValue), weights).reduce(0) { $0 + $1.0 * $1.1 }
        return Array("10X98765432")[sum % 11]
    }
}

/// Day arithmetic on `YYYY-MM-DD` text, with Foundation's calendar in UTC.
enum CivilDateText {
    static func adding(days: Int, to text: String) -> String {
        let formatter = DateFormatter()
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        let date = formatter.date(from: text)!.addingTimeInterval(Double(days) * 86_400)
        return formatter.string(from: date)
    }
}
