public import API
import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import Metrics
import OpenAPIHummingbird
public import Postgres
public import ServiceLifecycle

/// The certificate services' HTTP server: the routes of `schemas/openapi.yaml` on Hummingbird, with RFC 9457 problems
/// for whatever the handlers do not answer themselves.
///
/// ```swift
/// let app = try await CertificateServicesServer.application(
///     configuration: .init(port: 8080), database: pool, tokenKey: key, audit: audit, logger: logger)
/// let group = ServiceGroup(services: [pool, audit, app], gracefulShutdownSignals: [.sigterm], logger: logger)
/// ```
public enum CertificateServicesServer {
    /// Where the server listens, and the limits it keeps.
    public struct Configuration: Sendable {
        /// The address to bind (default loopback).
        public var host: String
        /// The TCP port (0: any free port, reported to `onServerRunning`).
        public var port: Int
        /// The `iss` of the access tokens.
        public var issuer: String = AccessTokenIssuer.defaultIssuer
        /// How long an access token lives.
        public var tokenLifetime: Duration = AccessTokenIssuer.defaultLifetime
        /// The largest request body accepted, in bytes (default 256 KiB: a token request is a few hundred bytes, a
        /// certificate to verify a few kilobytes, with the status lists a verifier holds).
        public var maximumBodyBytes: Int = 256 * 1024
        /// How long a request carrying `Tongban-Min-Position` waits for the views to include it before it is
        /// refused with 503 `position-not-reached` (default 2 s).
        public var minPositionWait: Duration = PositionWait.defaultTimeout

        /// Creates a configuration.
        /// - Parameters:
        ///   - host: the address to bind.
        ///   - port: the TCP port.
        public init(host: String = "127.0.0.1", port: Int = 8080) {
            self.host = host
            self.port = port
        }
    }

    /// The server settings of the API's database sessions: no JIT compilation. A question's statement reads a few
    /// rows, but the planner estimates the views whole and its cost crosses `jit_above_cost`: compiling the pre-fill
    /// statement took about 120 ms, a hundred times its answer.
    public static let databaseSettings = ["jit": "off"]

    /// The connection string of the API's pool: `conninfo` with ``databaseSettings`` for every session.
    /// - Parameter conninfo: the configured database (a URL, key=value string, or "").
    /// - Returns: the string to give the pool.
    /// - Throws: `PostgresError` `.connect` when `conninfo` cannot be parsed.
    public static func databaseConnectionString(_ conninfo: String) throws -> String {
        try PostgresConnectionString.withServerSettings(databaseSettings, in: conninfo)
    }

    /// Builds the application (a `Service`: run it in a `ServiceGroup` beside the pool and the audit log).
    /// - Parameters:
    ///   - configuration: host, port and limits.
    ///   - database: the pool holding the views, the clients and the audit log.
    ///   - tokenKey: the hub's key that signs access tokens.
    ///   - audit: the audit log (run it as a service too).
    ///   - logger: for requests that fail.
    ///   - citizens: verifies citizens' ID tokens for `GET /v1/citizen/access-log`; `nil` answers 503 there.
    ///   - certificates: the hub's keys and public address; `nil` answers 503 on the certificate endpoints. Run
    ///     ``rechecker(database:logger:)`` beside the server so that the streams revoke what they take away.
    ///   - onServerRunning: called with the bound port once the socket listens.
    /// - Returns: the application.
    /// - Throws: what registering the generated routes throws (nothing, for a well-formed document).
    public static func application(
        configuration: Configuration, database: PostgresClient, tokenKey: TokenSigningKey, audit: AuditLog,
        logger: Logger, citizens: CitizenTokenVerifier? = nil, certificates: CertificateHub? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> some ApplicationProtocol {
        let clients = ClientRegistry(database: database, logger: logger)
        let issuer = await AccessTokenIssuer(
            key: tokenKey, issuer: configuration.issuer, lifetime: configuration.tokenLifetime)
        let verifier = await AccessTokenVerifier(key: tokenKey.publicKey, issuer: configuration.issuer)
        let api = CertificateServicesAPI(
            database: database, clients: clients, issuer: issuer,
            authorizer: Authorizer(verifier: verifier, registry: clients), limiter: RateLimiter(), audit: audit,
            logger: logger, citizens: citizens,
            certificates: certificates.map { CertificateServices(hub: $0, database: database) },
            positionWait: PositionWait(timeout: configuration.minPositionWait))
        let router = try Self.router(api: api, configuration: configuration, audit: audit, logger: logger)
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}

extension CertificateServicesServer {
    /// The service that revokes certificates whose basis a later event took away (run it beside the server; several
    /// servers may each run one: they take turns).
    /// - Parameters:
    ///   - database: the pool.
    ///   - logger: for what it revokes and what fails.
    /// - Returns: the service.
    public static func rechecker(database: PostgresClient, logger: Logger) -> some Service {
        CertificateRechecker(database: database, logger: logger)
    }

    /// The router of ``application(configuration:database:tokenKey:audit:logger:citizens:onServerRunning:)``, with
    /// every route the server serves (those of `schemas/openapi.yaml`; the contract test compares the two) and its
    /// middleware:
    /// request metrics first (they see the final status), then problems and the audit of what the handlers do not
    /// answer, the body limit, and the headers the handlers read.
    /// - Parameters:
    ///   - api: the handlers.
    ///   - configuration: the limits.
    ///   - audit: the audit log.
    ///   - logger: for requests that fail.
    ///   - metricsFactory: where the request metrics go; `nil` for the process's (`MetricsSystem.factory`).
    /// - Returns: the router.
    /// - Throws: what registering the generated routes throws (nothing, for a well-formed document).
    static func router(
        api: CertificateServicesAPI, configuration: Configuration, audit: AuditLog, logger: Logger,
        metricsFactory: (any MetricsFactory)? = nil
    ) throws -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestMetricsMiddleware(factory: metricsFactory))
        router.add(middleware: VerificationPageHeadersMiddleware())
        router.add(middleware: ProblemMiddleware(audit: audit, logger: logger))
        router.add(middleware: BodyLimitMiddleware(maximumBytes: configuration.maximumBodyBytes))
        router.add(middleware: RequestHeadersMiddleware())
        router.add(middleware: ResponseHeaderMiddleware())
        try api.registerHandlers(on: router)
        return router
    }
}

/// Refuses a request whose declared body is larger than the limit, before anything reads it.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maximumBytes: Int

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maximumBytes {
            throw HTTPError(.contentTooLarge)
        }
        var request = request
        request.body = try await .init(buffer: request.body.collect(upTo: maximumBytes))
        return try await next(request, context)
    }
}
