import API
import Certificates
import Foundation
import Logging
import Postgres
import Projections
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import tongban

/// Many revocations at once, from two `tongban serve` processes on one database, lose no bit: a status list kept as
/// one stored bitstring (read, changed, written back) drops a revocation whenever two such writes cross; the lists
/// are therefore derived from the certificates' rows. Two real server processes sign with the same hub key and the
/// same token key; the revocations go through both at once, and both then serve lists with exactly the revoked bits.
@Suite("#20 concurrent revocations through two servers", .quietMachine)
struct ConcurrentRevocationTests {
    static let base = "https://tongban.example.gov.cn"
    /// Certificates issued, then all revoked.
    static let certificates = 300
    /// Requests in flight at once.
    static let inFlight = 32

    /// A server's API and operations ports, and the access token it issued.
    struct Endpoint: Sendable {
        var api: Int
        var operations: Int
        var token = ""
        /// What every question sends.
        var headers: [(String, String)] {
            [("Authorization", "Bearer \(token)"), ("Tongban-Purpose", "kinship-certificate")]
        }
    }

    /// An answer: its status and its body parsed as a JSON object (empty when it is not one).
    struct Answer: @unchecked Sendable {
        var status: Int
        var json: [String: Any]
        var text: String
    }

    /// One request on a connection of its own (a thread of its own, not the cooperative pool).
    static func send(
        _ method: String, _ target: String, port: Int, headers: [(String, String)] = [], json: [String: Any]? = nil,
        form: String? = nil
    ) async throws -> Answer {
        var headers = headers
        var body: String?
        if let json {
            headers.append(("Content-Type", "application/json"))
            body = String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self)
        } else if let form {
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            body = form
        }
        let answer = try await HTTPLoad.exchangeOnce(
            port: port, request: HTTPLoad.request(method, target, port: port, headers: headers, body: body))
        let object = (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any]
        return Answer(
            status: answer.status, json: object ?? [:], text: String(decoding: answer.body, as: UTF8.self))
    }

    /// Runs `body` for 0..<count with at most `width` at once; returns the results in order.
    static func inParallel<T: Sendable>(
        _ count: Int, width: Int, _ body: @escaping @Sendable (Int) async throws -> T
    ) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results = [T?](repeating: nil, count: count)
            var next = 0
            while next < min(width, count) {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
            while let (index, value) = try await group.next() {
                results[index] = value
                if next < count {
                    let more = next
                    group.addTask { (more, try await body(more)) }
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }

    /// The indexes whose bit is set in a served status list, and its purpose.
    static func setBits(_ answer: Answer) throws -> (purpose: String, indexes: Set<Int>) {
        let subject = try #require(answer.json["credentialSubject"] as? [String: Any], "\(answer.text.prefix(500))")
        let encoded = try #require(subject["encodedList"] as? String)
        let list = try BitstringStatusList.decode(encodedList: encoded)
        var indexes = Set<Int>()
        for (byte, value) in list.bytes.enumerated() where value != 0 {
            for bit in 0..<8 where value & (0x80 >> bit) != 0 { indexes.insert(byte * 8 + bit) }
        }
        return (try #require(subject["statusPurpose"] as? String), indexes)
    }

    /// A certificate as issued: its id and its two status entries (list number, index).
    struct Issued: Sendable, Hashable {
        var id: String
        var revocation: Slot
        var suspension: Slot
    }

    /// One entry of `credentialStatus`: the list's number (from its URL) and the index in it.
    struct Slot: Sendable, Hashable {
        var list: Int
        var index: Int
    }

    /// Reads the status entries of an issued certificate.
    static func issued(_ answer: Answer) throws -> Issued {
        let id = try #require(answer.json["id"] as? String, "\(answer.status) \(answer.text.prefix(500))")
        let credential = try #require(answer.json["credential"] as? [String: Any])
        let entries = try #require(credential["credentialStatus"] as? [[String: Any]])
        func slot(_ purpose: String) throws -> Slot {
            let entry = try #require(entries.first { $0["statusPurpose"] as? String == purpose })
            let url = try #require(entry["statusListCredential"] as? String)
            #expect(url.hasPrefix("\(base)/v1/status-lists/"), "\(url)")
            let list = try #require(Int(url.split(separator: "/").last ?? ""))
            let indexText = try #require(entry["statusListIndex"] as? String)
            let index = try #require(Int(indexText))
            return Slot(list: list, index: index)
        }
        return Issued(id: id, revocation: try slot("revocation"), suspension: try slot("suspension"))
    }

    /// Kinship pairs the views relate (a child and a living parent by birth), from the ground truth.
    static func pairs(_ population: SignedPopulation) -> [(child: String, parent: String)] {
        let byID = Dictionary(population.expected.sample.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var pairs: [(child: String, parent: String)] = []
        for person in population.expected.sample where !person.identity.deceased {
            for parent in [person.kinship.motherId, person.kinship.fatherId].compactMap({ $0 })
            where byID[parent].map({ !$0.identity.deceased }) ?? false {
                pairs.append((person.id, parent))
            }
        }
        return pairs
    }

    @Test(
        "#20 300 revocations at once through two servers: both lists hold every revoked bit, no other; each recorded once",
        .timeLimit(.minutes(20)))
    func revocationsFromTwoServers() async throws {
        let population = try SignedPopulation.make(people: 60, seed: 2020, anomalyRate: 0)
        let pairs = Self.pairs(population)
        try #require(pairs.count >= 10, "the population has \(pairs.count) child-parent pairs")
        let logger = Logger(label: "concurrent-revocations")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tongban-revocations-\(UUID())")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // Both servers sign certificates with one hub key and access tokens with one token key.
        let hubKeys = directory.appendingPathComponent("hub").path
        try HubKeySet.create(directory: hubKeys)
        let tokenKey = directory.appendingPathComponent("token.private.jwk")
        try KeyFile.createExclusive(
            at: tokenKey.path, contents: Array(try TokenSigningKey.generate(keyID: "test").privateJWK.utf8))

        try await withTestDatabase { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            try await ProjectionScenario.applyReference(population, to: db.client)
            try await db.client.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                VALUES ('tongban.views', 'tongban.household', 0, 1, 1)
                """)
            let registration = try await ClientRegistry(database: db.client, logger: logger).register(
                name: "concurrent revocations", scopes: [.certificates, .kinship], purposes: ["kinship-certificate"],
                requestsPerSecond: 100_000)
            let arguments = [
                "--token-key", tokenKey.path, "--hub-keys", hubKeys, "--public-url", Self.base, "--port", "0",
                "--metrics-port", "0", "--log-level", "notice",
            ]
            let servers = [
                try ServeProcess(database: db, arguments: arguments),
                try ServeProcess(database: db, arguments: arguments),
            ]
            var endpoints: [Endpoint] = []
            for server in servers {
                var endpoint = Endpoint(api: try await server.apiPort(), operations: try await server.operationsPort())
                let deadline = ContinuousClock.now + .seconds(30)
                while try await Self.send("GET", "/health/ready", port: endpoint.operations).status != 200 {
                    guard ContinuousClock.now < deadline else {
                        throw ScenarioError("tongban serve never became ready:\n\(server.log.suffix(3_000))")
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                let token = try await Self.send(
                    "POST", "/oauth/token", port: endpoint.api,
                    form: "grant_type=client_credentials&client_id=\(registration.client.id)"
                        + "&client_secret=\(registration.secret)")
                endpoint.token = try #require(token.json["access_token"] as? String, "\(token.status) \(token.text)")
                endpoints.append(endpoint)
            }
            let serversNow = endpoints

            // Issue: the same pairs again and again, through both servers at once.
            let issuing = ContinuousClock.now
            let issued = try await Self.inParallel(Self.certificates, width: 8) { number in
                let endpoint = serversNow[number % 2]
                let pair = pairs[number % pairs.count]
                let answer = try await Self.send(
                    "POST", "/v1/certificates", port: endpoint.api, headers: endpoint.headers,
                    json: ["kind": "kinship", "subject": pair.child, "relative": pair.parent])
                #expect(answer.status == 201, "\(answer.text.prefix(500))")
                return try Self.issued(answer)
            }
            let issueTime = ContinuousClock.now - issuing
            #expect(Set(issued.map(\.id)).count == Self.certificates, "every certificate is another one")
            let revocationLists = Set(issued.map(\.revocation.list))
            let suspensionLists = Set(issued.map(\.suspension.list))
            #expect(revocationLists.count == 1 && suspensionLists.count == 1, "both servers fill one pair of lists")
            #expect(issued.allSatisfy { $0.revocation.index == $0.suspension.index })
            #expect(Set(issued.map(\.revocation)).count == Self.certificates, "no two certificates share a bit")
            // The other server accepts this server's token: one token key between them.
            let crossed = try await Self.send(
                "GET", "/v1/certificates/\(issued[0].id)", port: serversNow[1].api, headers: serversNow[0].headers)
            #expect(crossed.status == 200, "\(crossed.text.prefix(300))")

            // Before: every list served by both servers is clear (and each server has made and kept its copy).
            let lists = revocationLists.union(suspensionLists).sorted()
            for endpoint in serversNow {
                for list in lists {
                    let answer = try await Self.send("GET", "/v1/status-lists/\(list)", port: endpoint.api)
                    #expect(answer.status == 200, "\(answer.text.prefix(300))")
                    #expect(try Self.setBits(answer).indexes.isEmpty, "list \(list) before any revocation")
                }
            }

            // Revoke every certificate at once: 32 in flight, alternating between the servers, in shuffled order.
            // 7,919 is prime and does not divide 300: multiplying by it modulo the count is a permutation.
            let order = issued.indices.map { issued[($0 * 7_919) % issued.count] }
            let revoking = ContinuousClock.now
            let revoked = try await Self.inParallel(order.count, width: Self.inFlight) { number in
                let endpoint = serversNow[number % 2]
                let answer = try await Self.send(
                    "POST", "/v1/certificates/\(order[number].id)/status", port: endpoint.api,
                    headers: endpoint.headers, json: ["action": "revoke", "reason": "concurrent revocation \(number)"])
                #expect(answer.status == 200, "\(answer.text.prefix(500))")
                #expect(answer.json["status"] as? String == "revoked", "\(answer.text.prefix(500))")
                return answer.status
            }
            let revokeTime = ContinuousClock.now - revoking
            #expect(revoked.filter { $0 == 200 }.count == Self.certificates)

            // After: both servers serve every revoked bit and no other; the suspension lists stay clear.
            var expected: [Int: Set<Int>] = [:]
            for certificate in issued {
                expected[certificate.revocation.list, default: []].insert(certificate.revocation.index)
            }
            for (number, endpoint) in serversNow.enumerated() {
                for list in lists {
                    let answer = try await Self.send("GET", "/v1/status-lists/\(list)", port: endpoint.api)
                    #expect(answer.status == 200, "\(answer.text.prefix(300))")
                    let (purpose, indexes) = try Self.setBits(answer)
                    let wanted = purpose == "revocation" ? expected[list] ?? [] : []
                    #expect(purpose == (revocationLists.contains(list) ? "revocation" : "suspension"))
                    let missing = wanted.subtracting(indexes)
                    let extra = indexes.subtracting(wanted)
                    let found =
                        "server \(number + 1), list \(list) (\(purpose)): \(missing.count) revoked bits missing, "
                        + "\(extra.count) bits set that no revocation set"
                    #expect(missing.isEmpty && extra.isEmpty, "\(found)")
                }
            }

            // Every revocation is one row of certificate_status_change, exactly once, and nothing else is.
            let changes = try await db.client.query(
                """
                SELECT certificate_id::text, count(*), count(*) FILTER (WHERE action = 'revoke'
                    AND changed_by = \("client:" + registration.client.id))
                FROM tongban.certificate_status_change GROUP BY certificate_id
                """
            ).map {
                (try $0.decode(String.self, at: 0), try $0.decode(Int.self, at: 1), try $0.decode(Int.self, at: 2))
            }
            #expect(Set(changes.map(\.0)) == Set(issued.map(\.id)), "a change for every certificate and no other")
            #expect(changes.allSatisfy { $0.1 == 1 && $0.2 == 1 }, "each revoked once, by the client")
            let rows = try await db.client.query(
                "SELECT count(*) FILTER (WHERE revoked_at IS NOT NULL), count(*) FROM tongban.certificate")[0]
            #expect(
                try rows.decode(Int.self, at: 0) == Self.certificates
                    && rows.decode(Int.self, at: 1) == Self.certificates)
            // Both processes appended to one audit chain at once, and it did not fork.
            #expect(try await AuditLog.verify(on: db.client).isIntact)
            let audited = try await db.client.query(
                """
                SELECT count(*) FROM tongban.audit_log
                WHERE question = 'certificate-status' AND outcome = 'answered' AND answer_summary LIKE 'revoke %'
                """)[0].decode(Int.self, at: 0)
            #expect(audited == Self.certificates, "every revocation audited")

            for server in servers { #expect(await server.terminate() == 0, "\(server.log.suffix(3_000))") }
            print(
                "ConcurrentRevocationTests: \(Self.certificates) certificates issued in \(issueTime) (8 in flight), "
                    + "revoked in \(revokeTime) (\(Self.inFlight) in flight, 2 servers)")
        }
    }
}
