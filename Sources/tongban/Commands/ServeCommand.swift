import API
import APIServer
import ArgumentParser
import Certificates
import Foundation
import Logging
import Operations
import Postgres
import Projections
import ServiceLifecycle

/// `tongban serve`: the certificate services' HTTP API (`schemas/openapi.yaml`).
///
/// Applies pending migrations, then serves the API with the hash-chained audit log, and `/metrics` and `/health`
/// on the operations port. Stops gracefully on SIGTERM or Ctrl-C: requests in flight are answered and audited.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the certificate services' HTTP API (schemas/openapi.yaml), auditing every request.",
        discussion: """
            Needs PostgreSQL (DATABASE_URL or PG*) and the hub's token key: --token-key FILE, a private Ed25519 JWK \
            (env TONGBAN_TOKEN_KEY: a file path). Clients are registered with `tongban clients add`. Citizens list who \
            asked about them (GET /v1/citizen/access-log) with an ID token of --citizen-issuer, checked with the keys \
            of --citizen-jwks; without both, that endpoint answers 503. On the operations port, GET /metrics counts \
            the requests and times them per route and status; GET /health/live answers 200 while the process serves; \
            GET /health/ready (and /health) answers 503 while PostgreSQL does not answer or the views are not ready \
            (nothing projected yet, or a rebuild under way), naming which.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "The address the API listens on (env TONGBAN_API_HOST).")
    var host: String?

    @Option(help: "The API's TCP port (env TONGBAN_API_PORT; 0 picks a free one).")
    var port: Int?

    @Option(help: "The hub's token key: a private Ed25519 JWK file that signs access tokens (env TONGBAN_TOKEN_KEY).")
    var tokenKey: String?

    @Flag(
        help: """
            Sign access tokens with a key made for this run (tokens die with the process): development only, \
            refused together with --token-key.
            """)
    var developmentTokenKey = false

    @Option(help: "Citizens' sign-in: the OpenID Connect issuer of their ID tokens (env TONGBAN_CITIZEN_ISSUER).")
    var citizenIssuer: String?

    @Option(help: "Citizens' sign-in: the issuer's public keys, a JWKS file (env TONGBAN_CITIZEN_JWKS).")
    var citizenJwks: String?

    @Option(help: "Citizens' sign-in: the audience their ID tokens must name (env TONGBAN_CITIZEN_AUDIENCE).")
    var citizenAudience: String?

    @Option(
        help: """
            Seconds a question carrying Tongban-Min-Position waits for the views to include that position before it \
            is refused with 503 position-not-reached (0 to 30).
            """)
    var minPositionWait: Double = 2

    @Option(
        help: """
            Certificates: the hub's key directory, made by `tongban keys hub create` (env TONGBAN_HUB_KEYS). Without \
            it (or --development-hub-key) the certificate endpoints answer 503.
            """)
    var hubKeys: String?

    @Flag(
        help: """
            Sign certificates with a hub key made for this run (nothing it signs verifies after the process ends): \
            development only, refused together with --hub-keys.
            """)
    var developmentHubKey = false

    @Option(
        help: """
            Certificates: the address holders and verifiers reach this hub at, e.g. https://tongban.example.gov.cn \
            (env TONGBAN_PUBLIC_URL). It names the issuer (its did:web) and starts every status list and page URL.
            """)
    var publicURL: String?

    @Option(help: "Certificates: the max-age, in seconds, of a status list (how stale a verifier's copy may be).")
    var statusListMaxAge: Int = 30

    @OptionGroup var operations: OperationsOptions

    func validate() throws {
        guard !(developmentHubKey && hubKeys != nil) else {
            throw ValidationError("--development-hub-key and --hub-keys exclude each other")
        }
        guard (0...3600).contains(statusListMaxAge) else {
            throw ValidationError("--status-list-max-age must be between 0 and 3600 seconds")
        }
        guard minPositionWait.isFinite, (0...30).contains(minPositionWait) else {
            throw ValidationError("--min-position-wait must be between 0 and 30 seconds")
        }
    }

    func run() async throws {
        let stop = await StopSignals.trap()
        let environment = ProcessInfo.processInfo.environment
        let logger = global.bootstrapLogging(label: "tongban.serve")
        let key = try await loadTokenKey(environment: environment, logger: logger)
        let citizens = try await loadCitizenLogin(environment: environment, logger: logger)
        let hub = try loadHub(environment: environment, logger: logger)
        var configuration = CertificateServicesServer.Configuration()
        if let host = host ?? environment["TONGBAN_API_HOST"] { configuration.host = host }
        if let port = port ?? environment["TONGBAN_API_PORT"].flatMap(Int.init) { configuration.port = port }
        configuration.minPositionWait = .milliseconds(Int64((minPositionWait * 1000).rounded()))
        let database = PostgresClient(
            configuration: .init(
                conninfo: try CertificateServicesServer.databaseConnectionString(try global.requiredDatabaseURL())),
            logger: logger)
        do {
            try await applyMigrations(database, logger: logger) { logger.notice("\($0)") }
        } catch {
            await database.shutdown()
            throw CommandFailure("could not apply the migrations: \(error)")
        }
        let audit = AuditLog(client: database, logger: logger)
        // Readiness: PostgreSQL answers and the views are ready, asked every second on a connection of its own.
        let readiness = ServeReadiness(conninfo: try global.requiredDatabaseURL(), logger: logger)
        let server = try operations.server(health: { readiness.report() }, logger: logger)
        let host = configuration.host
        let app = try await CertificateServicesServer.application(
            configuration: configuration, database: database, tokenKey: key, audit: audit, logger: logger,
            citizens: citizens, certificates: hub,
            onServerRunning: { port in logger.notice("serving the certificate services' API on http://\(host):\(port)")
            })
        var services: [any Service] = [database, audit, readiness, app]
        if hub != nil { services.append(CertificateServicesServer.rechecker(database: database, logger: logger)) }
        if let server { services.append(server) }
        try await stop.run(ServiceGroup(services: services, logger: logger))
    }

    /// The certificates' configuration: the hub's key directory (or a key for this run) and the public address;
    /// `nil` when neither key is given.
    func loadHub(environment: [String: String], logger: Logger) throws -> CertificateHub? {
        let directory = hubKeys ?? environment["TONGBAN_HUB_KEYS"]
        guard directory != nil || developmentHubKey else {
            logger.notice("no hub key (--hub-keys): certificates are not issued; their endpoints answer 503")
            return nil
        }
        guard let url = publicURL ?? environment["TONGBAN_PUBLIC_URL"] else {
            throw ValidationError(
                "certificates need --public-url (or TONGBAN_PUBLIC_URL): the address that names the issuer")
        }
        let keys: HubKeySet
        if let directory {
            do { keys = try HubKeySet.load(directory: directory) } catch {
                throw CommandFailure("could not load the hub keys from \(directory): \(error)")
            }
        } else {
            logger.warning("signing certificates with a hub key made for this run: development only")
            keys = HubKeySet.ephemeral()
        }
        do {
            var hub = try CertificateHub(keys: keys, publicBaseURL: url)
            hub.statusListMaxAge = statusListMaxAge
            logger.notice(
                "issuing certificates", metadata: ["issuer": "\(hub.didWeb.did)", "key": "\(keys.current.id)"])
            return hub
        } catch {
            throw ValidationError("--public-url \(url): \(error)")
        }
    }

    /// The token key: `--token-key`, `TONGBAN_TOKEN_KEY`, or, with `--development-token-key`, one for this run.
    func loadTokenKey(environment: [String: String], logger: Logger) async throws -> TokenSigningKey {
        let path = tokenKey ?? environment["TONGBAN_TOKEN_KEY"]
        if developmentTokenKey {
            guard path == nil else {
                throw CommandFailure("--development-token-key and a token key file exclude each other")
            }
            logger.warning("signing access tokens with a development key made for this run (never in production)")
            return TokenSigningKey.generateForDevelopment()
        }
        guard let path else {
            throw CommandFailure(
                "no token key: pass --token-key FILE (a private Ed25519 JWK) or set TONGBAN_TOKEN_KEY; "
                    + "--development-token-key makes one for this run on a development machine")
        }
        guard let bytes = await FileInput.contents(of: path) else {
            throw CommandFailure("cannot read the token key \(path)")
        }
        do {
            return try TokenSigningKey.load(jwk: bytes)
        } catch {
            throw CommandFailure("the token key \(path) is not a private Ed25519 JWK: \(error)")
        }
    }
}
