import Hummingbird
import Prometheus

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension OperationsServer {
    /// The content type of the Prometheus text exposition format.
    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The routes: `/metrics`, `/health/live`, `/health/ready` and `/health` (the same as `/health/ready`), and a JSON
    /// 404 for everything else. HEAD works wherever GET does.
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.add(middleware: JSONNotFoundMiddleware())
        let registry = self.registry
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: Self.metricsContentType, .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        router.get("/health/live") { _, _ -> Response in
            try Self.response(for: Self.liveReport)
        }
        let health = self.health
        let ready: @Sendable (Request, BasicRequestContext) async throws -> Response = { _, _ in
            try Self.response(for: await health().redactingCredentials())
        }
        router.get("/health/ready", use: ready)
        // The endpoint's first path, kept for scrapers and probes that use it: the same answer as /health/ready.
        router.get("/health", use: ready)
        return router
    }

    /// What `/health/live` answers: the process serves requests, which is all a liveness probe should learn (an
    /// unreachable dependency is for readiness; restarting would not bring it back).
    static let liveReport = HealthReport(status: .ok, checks: ["process": .ok("serving requests")])

    /// A report as JSON with sorted keys: 200 when it is serving, 503 otherwise.
    static func response(for report: HealthReport) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(
            status: report.status.isServing ? .ok : .serviceUnavailable,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(report)))
        )
    }
}

/// Turns the router's bare 404 into `{"error":{"message":"…"}}`, so that every answer of the endpoint is JSON
/// or Prometheus text.
struct JSONNotFoundMiddleware<Context: RequestContext>: RouterMiddleware {
    static var notFoundMessage: String {
        "no such endpoint; the operations endpoint serves /metrics, /health/live, /health/ready and /health"
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && error.body == nil {
            throw HTTPError(.notFound, message: Self.notFoundMessage)
        }
    }
}
