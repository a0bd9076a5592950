import API
import Certificates
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Postgres
import Synchronization
import SyntheticPopulation
import Testing
import TongbanTesting

@testable import APIServer

/// The contract between the server and `schemas/openapi.yaml`: the routes the built server serves are exactly the
/// operations of the file, every operation answers on a real socket (never the router's 404), and every answer
/// validates against its response schema in the file (checked by an outside OpenAPI validator).
@Suite("#19 the server and schemas/openapi.yaml agree", .sharedMachine)
struct OpenAPIContractTests {
    /// An operation of the file, as the Python reader below lists it.
    struct Operation: Decodable, Sendable {
        struct Parameter: Decodable, Sendable {
            var name: String
            var location: String
            var required: Bool
        }

        struct Requirement: Decodable, Sendable {
            var scheme: String
            var scopes: [String]
        }

        var method: String
        var path: String
        var parameters: [Parameter]
        var security: [Requirement]
        var responses: [String]
        var requestBody: [String]

        /// `METHOD /path`, as the router's routes are compared.
        var route: String { "\(method) \(path)" }
    }

    /// Lists the operations of an OpenAPI file (argv[1]) as JSON: method, path template, parameters (references
    /// resolved), security requirements, documented statuses and request media types.
    static let operationsReader = """
        import json, sys, yaml
        spec = yaml.safe_load(open(sys.argv[1]))
        def resolve(node):
            while "$ref" in node:
                *_, kind, name = node["$ref"].split("/")
                node = spec["components"][kind][name]
            return node
        methods = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
        operations = []
        for path, item in spec["paths"].items():
            shared = item.get("parameters", [])
            for method, operation in item.items():
                if method not in methods:
                    continue
                parameters = [resolve(p) for p in shared + operation.get("parameters", [])]
                security = operation.get("security", spec.get("security", []))
                body = resolve(operation["requestBody"]).get("content", {}) if "requestBody" in operation else {}
                operations.append({
                    "method": method.upper(), "path": path,
                    "parameters": [{"name": p["name"], "location": p["in"], "required": p.get("required", False)}
                                   for p in parameters],
                    "security": [{"scheme": k, "scopes": v} for s in security for k, v in s.items()],
                    "responses": sorted(operation["responses"].keys()),
                    "requestBody": sorted(body.keys()),
                })
        print(json.dumps(operations))
        """

    /// The operations of an OpenAPI file (default: `schemas/openapi.yaml` as the repository has it).
    static func operations(in file: URL = KinshipAPITests.specification) async throws -> [Operation] {
        let result = try await TestProcess.run("/usr/bin/env", ["python3", "-c", operationsReader, file.path])
        guard result.status == 0 else { throw ScenarioError("reading \(file.path) failed: \(result.errors)") }
        return try JSONDecoder().decode([Operation].self, from: Data(result.output.utf8))
    }

    /// The routes of the server's router (`CertificateServicesServer.router`, which `application` serves), as
    /// `METHOD /path`.
    static func servedRoutes(adding extra: ((Router<BasicRequestContext>) -> Void)? = nil) async throws -> Set<String> {
        let logger = Logger(label: "contract-test")
        // Nothing connects: the router is only built and listed.
        let database = PostgresClient(configuration: .init(conninfo: "host=/nonexistent"), logger: logger)
        let clients = ClientRegistry(database: database, logger: logger)
        let key = TokenSigningKey.generateForDevelopment()
        let audit = AuditLog(client: database, logger: logger)
        let api = CertificateServicesAPI(
            database: database, clients: clients, issuer: await AccessTokenIssuer(key: key),
            authorizer: Authorizer(verifier: await AccessTokenVerifier(key: key.publicKey), registry: clients),
            limiter: RateLimiter(), audit: audit, logger: logger)
        let router = try CertificateServicesServer.router(
            api: api, configuration: .init(), audit: audit, logger: logger)
        extra?(router)
        return Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" })
    }

    /// What differs between the routes served and those documented, in plain words; empty when they agree.
    static func differences(served: Set<String>, documented: Set<String>) -> [String] {
        served.subtracting(documented).sorted().map { "served but not in schemas/openapi.yaml: \($0)" }
            + documented.subtracting(served).sorted().map { "in schemas/openapi.yaml but not served: \($0)" }
    }

    @Test("#19 the routes the server serves are exactly the operations of schemas/openapi.yaml")
    func routes() async throws {
        let documented = Set(try await Self.operations().map(\.route))
        let served = try await Self.servedRoutes()
        #expect(documented.count >= 7, "\(documented.sorted())")
        #expect(Self.differences(served: served, documented: documented) == [])

        // The check sees a route added to either side only.
        let more = try await Self.servedRoutes { router in
            router.get("/v1/undocumented") { _, _ in "not in the file" }
        }
        #expect(
            Self.differences(served: more, documented: documented)
                == ["served but not in schemas/openapi.yaml: GET /v1/undocumented"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("contract-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("openapi.yaml")
        var text = try String(contentsOf: KinshipAPITests.specification, encoding: .utf8)
        let extra = "  /v1/only-in-the-file:\n    get:\n      responses:\n        '200':\n          description: x\n"
        text = text.replacingOccurrences(of: "\npaths:\n", with: "\npaths:\n" + extra)
        let longer = Set(try await Self.operations(in: copy, writing: text).map(\.route))
        #expect(
            Self.differences(served: served, documented: longer)
                == ["in schemas/openapi.yaml but not served: GET /v1/only-in-the-file"])
    }

    /// Writes `text` to `file`, then lists its operations.
    static func operations(in file: URL, writing text: String) async throws -> [Operation] {
        try text.write(to: file, atomically: true, encoding: .utf8)
        return try await operations(in: file)
    }

    /// The operations that serve public documents naming nobody (status lists, the DID document, the key set): not
    /// audited.
    static let unaudited: Set<String> = [
        "GET /v1/status-lists/{n}", "GET /.well-known/did.json", "GET /.well-known/jwks.json",
    ]

    @Test("#19 every operation answers on a real socket as the file documents, and every answer validates")
    func answers() async throws {
        let operations = try await Self.operations()
        let population = try SignedPopulation.make(people: 30, seed: 193, anomalyRate: 0)
        let expected = population.expected
        let person = try #require(expected.sample.first { $0.kinship.motherId != nil })
        // A value for each required parameter the file has; a new one fails the test until it gets one here.
        let examples: [String: String] = [
            "subject": person.id, "relative": person.kinship.motherId!, "asOf": expected.asOf,
            "from": expected.contributionsFrom, "to": expected.contributionsTo,
        ]
        let hub = try CertificateHub(keys: .ephemeral(), publicBaseURL: "https://tongban.example.gov.cn")
        try await APITestHarness.withServer(population, certificates: hub) { connection in
            let purpose = connection.headers[HTTPField.Name("Tongban-Purpose")!] ?? "certificate"
            // A certificate for the operations that name one.
            let kinship: [String: Any] = [
                "kind": "kinship", "subject": person.id, "relative": person.kinship.motherId!,
            ]
            var issuing = connection.headers
            issuing[.contentType] = "application/json"
            let issued = try await connection.send(
                .post, "/v1/certificates", headers: issuing,
                body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: kinship)))
            let id = try #require(issued.json["id"] as? String, "\(issued.json)")
            let credential = try #require(issued.json["credential"] as? [String: Any])
            let paths = ["id": id, "n": "1"]
            let bodies: [String: [String: Any]] = [
                "POST /v1/certificates": kinship,
                "POST /v1/certificates/{id}/status": ["action": "suspend", "reason": "contract test"],
                "POST /v1/verify": ["credential": credential],
            ]
            for operation in operations {
                var query: [String] = []
                var headers: HTTPFields = [:]
                var path = operation.path
                for parameter in operation.parameters where parameter.required {
                    if parameter.location == "header" && parameter.name == "Tongban-Purpose" {
                        headers[HTTPField.Name(parameter.name)!] = purpose
                    } else if parameter.location == "query", let value = examples[parameter.name] {
                        query.append("\(parameter.name)=\(value)")
                    } else if parameter.location == "path", let value = paths[parameter.name] {
                        path = path.replacingOccurrences(of: "{\(parameter.name)}", with: value)
                    } else {
                        let missing =
                            "no example for the required \(parameter.location) parameter \(parameter.name) of "
                            + "\(operation.route): add one to this test"
                        Issue.record(Comment(rawValue: missing))
                    }
                }
                let uri = path + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
                let method = HTTPRequest.Method(operation.method)!
                var body: ByteBuffer?
                if operation.requestBody.contains("application/x-www-form-urlencoded") {
                    headers[.contentType] = "application/x-www-form-urlencoded"
                    body = ByteBuffer(string: "grant_type=client_credentials")
                } else if operation.requestBody.contains("application/json") {
                    let example = try #require(bodies[operation.route], "no example body for \(operation.route)")
                    headers[.contentType] = "application/json"
                    body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: example))
                }

                // Without credentials: refused as documented (401, or 503 where sign-in is not configured), never
                // the router's 404.
                let anonymous: KinshipAPITests.Reply
                do {
                    anonymous = try await connection.send(method, uri, headers: headers, body: body)
                } catch {
                    Issue.record("\(operation.route) (\(uri)): \(error)")
                    continue
                }
                // The public documents name nobody and are not audited (validated, but not counted).
                if Self.unaudited.contains(operation.route) {
                    connection.recorder.count.subtract(1, ordering: .relaxed)
                }
                #expect(
                    anonymous.json["code"] as? String != "no-such-endpoint", "\(operation.route) is not routed")
                #expect(
                    operation.responses.contains(String(anonymous.status.code)),
                    "\(operation.route) answered \(anonymous.status.code) without credentials: \(anonymous.json)")

                // With the token of a client holding every scope: answered.
                if operation.security.contains(where: { $0.scheme == "bearer" }) {
                    var signedIn = headers
                    signedIn[.authorization] = connection.headers[.authorization]
                    let reply = try await connection.send(method, uri, headers: signedIn, body: body)
                    #expect(
                        (200..<300).contains(reply.status.code),
                        "\(operation.route): \(reply.status.code) \(reply.json)")
                }
            }

            // Methods and paths the file does not have: the router's 404, as a problem (audited, but not recorded
            // for the validator, which knows only documented operations).
            let documented = Set(operations.map(\.route))
            var probes = ["GET /v1/no-such-question"]
            for path in Set(operations.map(\.path)).sorted() {
                probes += ["GET", "POST", "PUT", "DELETE", "PATCH"].map { "\($0) \(path)" }.filter {
                    !documented.contains($0)
                }
            }
            for probe in probes {
                var parts = probe.split(separator: " ").map(String.init)
                for (name, value) in paths { parts[1] = parts[1].replacingOccurrences(of: "{\(name)}", with: value) }
                connection.recorder.count.add(1, ordering: .relaxed)
                let (status, code) = try await connection.client.execute(
                    uri: String(parts[1]), method: HTTPRequest.Method(String(parts[0]))!, headers: connection.headers
                ) { response in
                    let json =
                        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)))
                        as? [String: Any]
                    return (response.status, json?["code"] as? String)
                }
                #expect(status == .notFound && code == "no-such-endpoint", "\(probe): \(status) \(code ?? "-")")
            }
        }
    }
}
