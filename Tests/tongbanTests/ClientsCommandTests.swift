import API
import ArgumentParser
import Foundation
import Logging
import Postgres
import Projections
import Synchronization
import Testing
import TongbanTesting

@testable import tongban

@Suite("tongban clients", .sharedMachine)
struct ClientsCommandTests {
    @Test("add prints the id and the secret once; list shows no secret; disable refuses from the next request")
    func addListDisable() async throws {
        let logs = LogCapture()
        let logger = logs.logger
        try await withTestDatabase { db in
            var said: [String] = []
            try await ClientsCommand.Add.parse([
                "--name", "Pudong certificate office", "--scope", "kinship", "property", "--scope", "prefill",
                "--purpose", "kinship-certificate", "--requests-per-second", "7",
            ]).perform(database: db.client, logger: logger) { said.append($0) }
            #expect(said.first?.hasPrefix("applied migrations") == true, "add applies pending migrations")
            #expect(try await TongbanMigrations.pending(db.client).isEmpty)
            let id = try #require(
                said.first { $0.hasPrefix("client_id ") }?.split(separator: " ").last.map(String.init))
            let secret = try #require(
                said.first { $0.hasPrefix("client_secret ") }?.split(separator: " ").last.map(String.init))
            #expect(said.filter { $0.contains(secret) }.count == 1, "the secret is printed once")
            #expect(said.contains("scopes         kinship prefill property"))
            #expect(said.contains("rate limit     7 requests per second"))
            #expect(said.last?.contains("shown only this once") == true)

            let registry = ClientRegistry(database: db.client, logger: logger)
            #expect(try await registry.authenticate(clientID: id, secret: secret).id == id)

            said = []
            try await ClientsCommand.List.parse([]).perform(database: db.client, logger: logger) { said.append($0) }
            #expect(said.count == 2)
            #expect(said[0].hasPrefix("\(id)  enabled  registered "))
            #expect(said[0].contains("7/s  \"Pudong certificate office\"  scopes kinship,prefill,property"))
            #expect(said[1] == "1 clients, 0 disabled")
            #expect(!said.joined().contains(secret))

            let key = TokenSigningKey.generateForDevelopment()
            let token = try await AccessTokenIssuer(key: key).issue(for: try #require(await registry.client(id: id)))
            let authorizer = Authorizer(verifier: await AccessTokenVerifier(key: key.publicKey), registry: registry)
            _ = try await authorizer.authorize(
                authorization: "Bearer \(token.token)", scope: .kinship, purpose: "kinship-certificate")

            said = []
            try await ClientsCommand.Disable.parse([id]).perform(database: db.client, logger: logger) {
                said.append($0)
            }
            #expect(
                said.count == 1 && said[0].hasPrefix("client \(id) (\"Pudong certificate office\") is disabled since "))
            await #expect {
                try await authorizer.authorize(
                    authorization: "Bearer \(token.token)", scope: .kinship, purpose: "kinship-certificate")
            } throws: { ($0 as? AccessError)?.code == .clientDisabled }
            said = []
            try await ClientsCommand.List.parse([]).perform(database: db.client, logger: logger) { said.append($0) }
            #expect(said[0].hasPrefix("\(id)  disabled 20") && said[1] == "1 clients, 1 disabled")

            await #expect(throws: CommandFailure.self) {
                try await ClientsCommand.Disable.parse(["tbc_" + String(repeating: "Z", count: 22)])
                    .perform(database: db.client, logger: logger) { _ in }
            }
            for line in logs.lines { #expect(!line.contains(secret), "a log line holds the secret: \(line)") }
            #expect(logs.lines.contains { $0.contains("registered API client") && $0.contains(id) })
        }
    }

    @Test("add refuses an unknown scope, a malformed purpose, no scope or purpose, a rate of 0, before any database")
    func arguments() throws {
        let base = ["--name", "office", "--scope", "kinship", "--purpose", "kinship-certificate"]
        _ = try ClientsCommand.Add.parse(base)
        #expect {
            try ClientsCommand.Add.parse(base + ["--scope", "everything"])
        } throws: { error in
            ClientsCommand.Add.message(for: error).contains("unknown scope \"everything\": the scopes are kinship")
        }
        #expect(throws: (any Error).self) { try ClientsCommand.Add.parse(base + ["--purpose", "Kinship Cert"]) }
        #expect(throws: (any Error).self) { try ClientsCommand.Add.parse(["--name", "x", "--purpose", "p"]) }
        #expect(throws: (any Error).self) { try ClientsCommand.Add.parse(["--name", "x", "--scope", "kinship"]) }
        #expect(throws: (any Error).self) { try ClientsCommand.Add.parse(base + ["--requests-per-second", "0"]) }
        #expect(throws: (any Error).self) { try ClientsCommand.Add.parse(["--scope", "kinship", "--purpose", "p"]) }
        #expect(throws: (any Error).self) { try ClientsCommand.Disable.parse([]) }
    }
}
