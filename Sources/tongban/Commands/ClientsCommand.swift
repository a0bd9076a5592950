import API
import ArgumentParser
import Events
import Foundation
import Logging
import Postgres

/// `tongban clients`: the certificate services registered to ask the API questions (OAuth 2.0 clients).
struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: "Register, list and disable the certificate services that may ask the API questions.",
        discussion: """
            Reads and writes tongban.api_client (needs PostgreSQL: DATABASE_URL or PG*), applying pending migrations \
            first. A client gets a client id and a secret, which it exchanges for short-lived access tokens; the \
            secret is printed once by `add` and never stored (only a salted hash). A disabled client is refused from \
            its next request.
            """,
        subcommands: [Add.self, List.self, Disable.self]
    )

    /// `tongban clients add`.
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a client: prints its client id and its secret, once.",
            discussion: """
                The secret is printed on standard output only this once: store it in the service's secret store \
                at once. Tongban keeps only a salted SHA-256 of it and cannot show it again; if it is lost, disable \
                the client and register another. Scopes: \(APIScope.allCases.map(\.rawValue).joined(separator: ", ")).
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "Who the client is, e.g. \"Pudong certificate office\".")
        var name: String

        @Option(
            name: .customLong("scope"), parsing: .upToNextOption,
            help: "A question it may ask: \(APIScope.allCases.map(\.rawValue).joined(separator: ", ")); repeatable.")
        var scopes: [String] = []

        @Option(
            name: .customLong("purpose"), parsing: .upToNextOption,
            help: "A purpose it may state, [a-z0-9-]{1,64} (e.g. kinship-certificate); repeatable.")
        var purposes: [String] = []

        @Option(help: "Its rate limit: questions per second, with a burst of as many.")
        var requestsPerSecond = ClientRegistry.defaultRequestsPerSecond

        func validate() throws {
            do {
                try ClientRegistry.validate(
                    name: name, scopes: try parsedScopes(), purposes: purposes, requestsPerSecond: requestsPerSecond)
            } catch {
                throw ValidationError(error.reason)
            }
        }

        /// The scopes given.
        func parsedScopes() throws(APIClientError) -> [APIScope] {
            var parsed: [APIScope] = []
            for scope in scopes { parsed.append(try APIScope.parse(scope)) }
            return parsed
        }

        func run() async throws {
            try await global.withDatabase(label: "tongban.clients") { database, logger in
                try await perform(database: database, logger: logger) { print($0) }
            }
        }

        /// Registers the client and prints its id and secret.
        func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
            try await applyMigrations(database, logger: logger, say: say)
            let registration = try await ClientRegistry(database: database, logger: logger).register(
                name: name, scopes: try parsedScopes(), purposes: purposes, requestsPerSecond: requestsPerSecond)
            let client = registration.client
            say("registered API client \"\(EventViolation.printable(client.name))\"")
            say("client_id      \(client.id)")
            say("client_secret  \(registration.secret)")
            say("scopes         \(client.scopes.map(\.rawValue).joined(separator: " "))")
            say("purposes       \(client.purposes.joined(separator: " "))")
            say("rate limit     \(client.requestsPerSecond) requests per second")
            say(
                "Store the secret now, in the service's secret store: it is shown only this once, and Tongban keeps "
                    + "only a salted hash of it. If it is lost, disable this client and register another.")
        }
    }

    /// `tongban clients list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the registered clients: id, state, when registered, rate, name, scopes, purposes.",
            discussion: "Secrets are never shown: Tongban does not have them.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.withDatabase(label: "tongban.clients") { database, logger in
                try await perform(database: database, logger: logger) { print($0) }
            }
        }

        /// Prints the clients, oldest first.
        func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
            try await applyMigrations(database, logger: logger, say: say)
            let clients = try await ClientRegistry(database: database, logger: logger).list()
            guard !clients.isEmpty else {
                say("no API clients are registered (`tongban clients add` registers one)")
                return
            }
            for client in clients { say(ClientsCommand.line(client)) }
            let disabled = clients.filter(\.isDisabled).count
            say("\(clients.count) clients, \(disabled) disabled")
        }
    }

    /// `tongban clients disable`.
    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a client: it is refused from its next request and gets no more tokens.",
            discussion: "The client stays listed, as history. Disabling a disabled client changes nothing.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The client id (tbc_…), as `tongban clients list` prints it.")
        var clientID: String

        func run() async throws {
            try await global.withDatabase(label: "tongban.clients") { database, logger in
                try await perform(database: database, logger: logger) { print($0) }
            }
        }

        /// Disables the client and says since when.
        /// - Throws: ``CommandFailure`` when no client has the id.
        func perform(database: PostgresClient, logger: Logger, say: (String) -> Void) async throws {
            try await applyMigrations(database, logger: logger, say: say)
            let client: APIClient
            do {
                client = try await ClientRegistry(database: database, logger: logger).disable(clientID: clientID)
            } catch let error as APIClientError {
                throw CommandFailure(error.reason + " (`tongban clients list` lists them)")
            }
            let since = client.disabledAt.map(ClientsCommand.timestamp) ?? "-"
            say(
                "client \(client.id) (\"\(EventViolation.printable(client.name))\") is disabled since \(since): it is "
                    + "refused from its next request")
        }
    }

    /// One client in a list: id, state, when registered, rate, name, scopes, purposes.
    static func line(_ client: APIClient) -> String {
        let state = client.disabledAt.map { "disabled \(timestamp($0))" } ?? "enabled"
        return "\(client.id)  \(state)  registered \(timestamp(client.createdAt))  \(client.requestsPerSecond)/s  "
            + "\"\(EventViolation.printable(client.name))\"  scopes \(client.scopes.map(\.rawValue).joined(separator: ","))  "
            + "purposes \(client.purposes.joined(separator: ","))"
    }

    /// A time as ISO 8601 in UTC, to the second.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
