import API
import Crypto
import Foundation
import Postgres
import Projections
import Testing
import TongbanTesting

@Suite("API clients and authorization", .sharedMachine)
struct ClientRegistryTests {
    /// The refusal's code, or `nil` when `body` succeeded.
    static func refusal(_ body: () async throws -> Void) async throws -> AccessError.Code? {
        do {
            try await body()
            return nil
        } catch let error as AccessError {
            return error.code
        }
    }

    @Test(
        "register → authenticate with the right secret; a wrong secret or unknown client fails; no secret stored or logged"
    )
    func registerAndAuthenticate() async throws {
        let logs = LogCapture()
        try await withTestDatabase { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            let registry = ClientRegistry(database: db.client, logger: logs.logger)
            let registration = try await registry.register(
                name: "Pudong certificate office", scopes: [.property, .kinship, .kinship],
                purposes: ["kinship-certificate", "property-certificate"], requestsPerSecond: 20)
            let client = registration.client
            let secret = registration.secret
            #expect(APIClient.isWellFormedID(client.id))
            #expect(
                secret.count == 43
                    && Data(
                        base64Encoded: secret.replacingOccurrences(of: "-", with: "+")
                            .replacingOccurrences(of: "_", with: "/") + "=")?.count == 32
            )
            #expect(client.scopes == [.kinship, .property] && client.requestsPerSecond == 20 && !client.isDisabled)
            #expect(!"\(registration)".contains(secret))

            #expect(try await registry.authenticate(clientID: client.id, secret: secret) == client)
            #expect(
                try await Self.refusal {
                    _ = try await registry.authenticate(clientID: client.id, secret: secret + "x")
                } == .invalidClient)
            #expect(
                try await Self.refusal { _ = try await registry.authenticate(clientID: client.id, secret: "") }
                    == .invalidClient)
            let unknown = "tbc_" + String(repeating: "B", count: 22)
            #expect(
                try await Self.refusal { _ = try await registry.authenticate(clientID: unknown, secret: secret) }
                    == .invalidClient)
            #expect(
                try await Self.refusal { _ = try await registry.authenticate(clientID: "'; --", secret: secret) }
                    == .invalidClient)
            #expect(try await registry.client(id: client.id) == client)
            #expect(try await registry.client(id: unknown) == nil)

            // The row holds a 16-byte salt and SHA-256(salt ‖ secret), and nowhere the secret.
            let row = try await db.client.query(
                """
                SELECT secret_hash, secret_salt, (SELECT count(*) FROM tongban.api_client t
                    WHERE strpos(t::text, \(secret)) > 0 OR strpos(t::text, encode(convert_to(\(secret), 'UTF8'), 'hex')) > 0)
                FROM tongban.api_client WHERE client_id = \(client.id)
                """)[0]
            let hash = try row.decode([UInt8].self, at: 0)
            let salt = try row.decode([UInt8].self, at: 1)
            #expect(salt.count == 16 && hash.count == 32)
            #expect(hash == Array(SHA256.hash(data: salt + Array(secret.utf8))))
            #expect(try row.decode(Int.self, at: 2) == 0)

            // Another client: another id, secret and salt.
            let second = try await registry.register(name: "portal", scopes: [.prefill], purposes: ["prefill"])
            #expect(second.client.id != client.id && second.secret != secret)
            #expect(second.client.requestsPerSecond == ClientRegistry.defaultRequestsPerSecond)
            #expect(try await registry.list().map(\.id) == [client.id, second.client.id])
            #expect(
                try await Self.refusal {
                    _ = try await registry.authenticate(clientID: second.client.id, secret: secret)
                } == .invalidClient)

            // Disabled: no more authentication; disabling again keeps the first time.
            let disabled = try await registry.disable(clientID: client.id)
            #expect(disabled.isDisabled)
            #expect(try await registry.disable(clientID: client.id).disabledAt == disabled.disabledAt)
            #expect(
                try await Self.refusal { _ = try await registry.authenticate(clientID: client.id, secret: secret) }
                    == .invalidClient)
            await #expect { try await registry.disable(clientID: unknown) } throws: {
                ($0 as? APIClientError)?.kind == .unknownClient
            }

            for line in logs.lines {
                #expect(!line.contains(secret) && !line.contains(second.secret), "a log line holds a secret: \(line)")
            }
            #expect(logs.lines.contains { $0.contains("registered API client") && $0.contains(client.id) })
            #expect(logs.lines.contains { $0.contains("authentication refused") && $0.contains("wrong secret") })
        }
    }

    @Test("what a client is registered with is checked: name, scopes, purposes, rate")
    func validation() async throws {
        func kind(
            name: String = "office", scopes: [APIScope] = [.kinship], purposes: [String] = ["kinship-certificate"],
            rate: Int = 5
        ) -> APIClientError.Kind? {
            do {
                try ClientRegistry.validate(name: name, scopes: scopes, purposes: purposes, requestsPerSecond: rate)
                return nil
            } catch {
                return error.kind
            }
        }
        #expect(kind() == nil)
        #expect(
            kind(name: "") == .invalidName && kind(name: " x") == .invalidName && kind(name: "a\u{1B}b") == .invalidName
        )
        #expect(kind(name: String(repeating: "x", count: 201)) == .invalidName)
        #expect(kind(scopes: []) == .unknownScope)
        #expect(kind(purposes: []) == .invalidPurpose)
        for bad in ["Kinship", "kinship certificate", "", String(repeating: "a", count: 65), "证明"] {
            #expect(kind(purposes: [bad]) == .invalidPurpose, "\(bad)")
        }
        #expect(kind(purposes: [String(repeating: "a", count: 64), "a-1"]) == nil)
        #expect(kind(rate: 0) == .invalidRateLimit && kind(rate: 100_001) == .invalidRateLimit)
    }

    @Test(
        "the authorizer: token, client now, scope, purpose — each refusal its own code; a disabled client is refused next"
    )
    func authorizer() async throws {
        try await withTestDatabase { db in
            try await TongbanMigrations.migrate(db.client, logger: TestPostgres.logger)
            let registry = ClientRegistry(database: db.client, logger: TestPostgres.logger)
            let key = TokenSigningKey.generateForDevelopment()
            let issuer = await AccessTokenIssuer(key: key)
            let authorizer = Authorizer(verifier: await AccessTokenVerifier(key: key.publicKey), registry: registry)
            let registration = try await registry.register(
                name: "office", scopes: [.kinship, .property], purposes: ["kinship-certificate"])
            let client = try await registry.authenticate(clientID: registration.client.id, secret: registration.secret)
            let token = try await issuer.issue(for: client).token
            let bearer = "Bearer " + token

            let access = try await authorizer.authorize(
                authorization: bearer, scope: .kinship, purpose: "kinship-certificate")
            #expect(access.client == client && access.purpose == "kinship-certificate")
            #expect(access.grant.clientID == client.id)
            _ = try await authorizer.authorize(
                authorization: "bearer  \(token) ", scope: .property, purpose: "kinship-certificate")

            func code(
                _ authorization: String?, _ scope: APIScope = .kinship, _ purpose: String? = "kinship-certificate"
            )
                async throws -> AccessError.Code?
            {
                try await Self.refusal {
                    _ = try await authorizer.authorize(authorization: authorization, scope: scope, purpose: purpose)
                }
            }
            #expect(try await code(nil) == .missingToken)
            #expect(try await code("Bearer ") == .missingToken)
            #expect(try await code("Basic \(Data("id:secret".utf8).base64EncodedString())") == .missingToken)
            #expect(try await code("Bearer x.y.z") == .invalidToken)
            #expect(try await code(bearer, .socialInsurance) == .scopeNotGranted)
            #expect(try await code(bearer, .kinship, nil) == .purposeMissing)
            #expect(try await code(bearer, .kinship, "  ") == .purposeMissing)
            #expect(try await code(bearer, .kinship, "property-certificate") == .purposeNotRegistered)
            #expect(try await code(bearer, .kinship, "DROP TABLE") == .purposeNotRegistered)

            // A token for a client that is not registered (signed by the hub's key all the same).
            let stranger = APIClient(
                id: "tbc_" + String(repeating: "C", count: 22), name: "x", scopes: [.kinship], purposes: ["p"],
                requestsPerSecond: 1, createdAt: Date())
            #expect(try await code("Bearer " + (try await issuer.issue(for: stranger).token)) == .unknownClient)

            // Disabled: the same, still valid, token is refused on the next check.
            try await registry.disable(clientID: client.id)
            #expect(try await code(bearer) == .clientDisabled)

            // Every refusal has a status, a title and plain words.
            for code in AccessError.Code.allCases {
                let error = AccessError(code)
                #expect([400, 401, 403].contains(error.status) && !error.title.isEmpty && !error.detail.isEmpty)
            }
            #expect(Set(AccessError.Code.allCases.map(\.rawValue)).count == AccessError.Code.allCases.count)
        }
    }
}
