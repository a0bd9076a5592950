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

/// A certificate services' server on a real socket over a projected population, with one client registered for every
/// question, its token, and every reply recorded for the contract check against schemas/openapi.yaml.
struct APITestHarness {
    /// What a test talks to.
    struct Connection {
        let client: any TestClientProtocol
        let recorder: RequestCounter
        /// The database the server answers from.
        let database: PostgresClient
        /// `Authorization` and `Tongban-Purpose` of the registered client.
        let headers: HTTPFields

        /// Sends a request that is not audited (the public documents: status lists, the DID document, the key set),
        /// without recording it.
        func sendPublic(_ uri: String, headers: HTTPFields = [:]) async throws -> KinshipAPITests.Reply {
            try await client.execute(uri: uri, method: .get, headers: headers, body: nil) { response in
                let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
                return KinshipAPITests.Reply(status: response.status, headers: response.headers, json: json, text: text)
            }
        }

        /// Sends a request and records its reply.
        func send(
            _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields? = nil, body: ByteBuffer? = nil
        ) async throws -> KinshipAPITests.Reply {
            recorder.count.add(1, ordering: .relaxed)
            return try await client.execute(
                uri: uri, method: method, headers: headers ?? self.headers, body: body
            ) { response in
                let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                recorder.replies.withLock {
                    $0.append(
                        RecordedReply(
                            path: String(uri.prefix { $0 != "?" }), method: method.rawValue.lowercased(),
                            status: response.status.code, contentType: response.headers[.contentType] ?? "",
                            body: text))
                }
                let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
                return KinshipAPITests.Reply(
                    status: response.status, headers: response.headers, json: json, text: text)
            }
        }

        /// `GET uri` with the registered client's headers; the reply must be 200.
        func get(_ uri: String) async throws -> [String: Any] {
            let reply = try await send(.get, uri)
            #expect(reply.status == .ok, "\(uri): \(reply.json)")
            return reply.json
        }
    }

    /// Projects `population`, marks the views ready, serves them, runs `body`, then checks that every request was
    /// audited, the chain holds, and every reply validates against schemas/openapi.yaml.
    static func withServer(
        _ population: SignedPopulation, scopes: [APIScope] = APIScope.allCases, purpose: String = "certificate",
        certificates: CertificateHub? = nil, _ body: @Sendable (Connection) async throws -> Void
    ) async throws {
        let logger = Logger(label: "api-test")
        try await withTestDatabase { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            try await ProjectionScenario.applyReference(population, to: db.client)
            try await db.client.execute(
                """
                INSERT INTO tongban.checkpoint (view_group, topic, partition, next_offset, verified_through)
                VALUES ('tongban.views', 'tongban.household', 0, 1, 1)
                """)
            let registration = try await ClientRegistry(database: db.client, logger: logger).register(
                name: "test service", scopes: scopes, purposes: [purpose], requestsPerSecond: 100_000)
            let key = TokenSigningKey.generateForDevelopment()
            let token = try await AccessTokenIssuer(key: key).issue(for: registration.client).token
            let audit = AuditLog(client: db.client, logger: logger)
            let app = try await CertificateServicesServer.application(
                configuration: .init(port: 0), database: db.client, tokenKey: key, audit: audit, logger: logger,
                certificates: certificates)
            let recorder = RequestCounter()
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await audit.run() }
                defer { audit.shutdown() }
                try await app.test(.live) { client in
                    try await body(
                        Connection(
                            client: client, recorder: recorder, database: db.client,
                            headers: [
                                .authorization: "Bearer \(token)", HTTPField.Name("Tongban-Purpose")!: purpose,
                            ]))
                }
                audit.shutdown()
                try await tasks.waitForAll()
            }
            try await APITestHarness.expectEveryRequestAudited(recorder, in: db.client)
            try await APITestHarness.expectValid(recorder.replies.withLock { $0 })
        }
    }

    /// Every request the recorder counted is a row of the audit log, and the hash chain holds.
    static func expectEveryRequestAudited(_ recorder: RequestCounter, in database: PostgresClient) async throws {
        let verification = try await AuditLog.verify(on: database)
        #expect(verification.isIntact, "\(verification)")
        let rows = try await database.query("SELECT count(*) FROM tongban.audit_log")[0].decode(Int.self, at: 0)
        #expect(rows == recorder.count.load(ordering: .relaxed), "every request is audited")
    }

    /// Every reply validates against its response schema in schemas/openapi.yaml, checked by an OpenAPI 3.1
    /// validator we did not write (`KinshipAPITests.contractCheck`).
    static func expectValid(_ replies: [RecordedReply]) async throws {
        let result = try await TestProcess.run(
            "/usr/bin/env", ["python3", "-c", KinshipAPITests.contractCheck, KinshipAPITests.specification.path],
            input: String(decoding: try JSONEncoder().encode(replies), as: UTF8.self))
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output == "\(replies.count) responses valid\n", "\(result.output)")
    }
}
