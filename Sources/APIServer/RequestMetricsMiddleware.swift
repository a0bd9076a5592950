import HTTPTypes
import Hummingbird
import Metrics
import Synchronization

/// Counts the API's requests and times them, per route, method and status, through swift-metrics (the executable
/// picks the backend: `tongban serve` bootstraps Prometheus and serves it on its operations port).
///
/// - `tongban_api_requests_total{route,method,status}`: requests answered.
/// - `tongban_api_request_seconds{route,method,status}`: the time from the router handing the request over to the
///   answer being ready (a histogram in seconds; the buckets are the backend's).
///
/// `route` is the path template of `schemas/openapi.yaml` the router matched (`/v1/kinship`, or `/v1/x/{id}` for a
/// route with a parameter), never the request's own path or query: the labels stay few and carry no citizen ID. A
/// request no route matched is counted under ``RequestMetrics/unmatchedRoute``, and its method, unless a standard
/// one, as `other`.
///
/// Put it first on the router, so that what it counts is the final status, problems and audit included.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let metrics: RequestMetrics

    /// Creates the middleware.
    /// - Parameter factory: where the metrics go; `nil` (the default) uses the process's, `MetricsSystem.factory`.
    init(factory: (any MetricsFactory)? = nil) {
        metrics = RequestMetrics(factory: factory)
    }

    /// Times the request and counts it once it is answered (or fails).
    /// - Parameters:
    ///   - request: the request.
    ///   - context: the context; the router has set its `endpointPath` when a route matched.
    ///   - next: the rest of the chain.
    /// - Returns: what the rest of the chain answered.
    /// - Throws: what the rest of the chain threw (counted as its HTTP status, or 500).
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // The router sets the endpoint path before it runs a route's middleware; for a request no route matched it
        // is still unset here (and "NotFound" only later).
        let route = context.endpointPath ?? RequestMetrics.unmatchedRoute
        let method =
            route == RequestMetrics.unmatchedRoute ? Self.label(unmatched: request.method) : request.method.rawValue
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.record(
                route: route, method: method, status: response.status.code, duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.record(route: route, method: method, status: status, duration: ContinuousClock.now - start)
            throw error
        }
    }

    /// The method label of a request no route matched: a standard method's name, or `other` (the labels stay few).
    static func label(unmatched method: HTTPRequest.Method) -> String {
        let standard: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options]
        return standard.contains(method) ? method.rawValue : "other"
    }
}

/// The counters and timers of ``RequestMetricsMiddleware``, made once per route, method and status.
final class RequestMetrics: Sendable {
    /// The counter's label.
    static let requestsLabel = "tongban_api_requests_total"
    /// The timer's label.
    static let secondsLabel = "tongban_api_request_seconds"
    /// The `route` of a request that matched no route.
    static let unmatchedRoute = "unmatched"

    /// One series.
    private struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private let factory: (any MetricsFactory)?
    private let series = Mutex<[Key: (Counter, Metrics.Timer)]>([:])

    /// - Parameter factory: where the metrics go; `nil` for `MetricsSystem.factory`.
    init(factory: (any MetricsFactory)?) {
        self.factory = factory
    }

    /// Counts one request and records its duration.
    /// - Parameters:
    ///   - route: the route's path template, or `unmatched`.
    ///   - method: the method's label.
    ///   - status: the status answered.
    ///   - duration: how long answering took.
    func record(route: String, method: String, status: Int, duration: Duration) {
        let (counter, timer) = series.withLock { series in
            let key = Key(route: route, method: method, status: status)
            if let found = series[key] { return found }
            let dimensions = [("route", route), ("method", method), ("status", String(status))]
            let factory = self.factory ?? MetricsSystem.factory
            let made = (
                Counter(label: Self.requestsLabel, dimensions: dimensions, factory: factory),
                Metrics.Timer(label: Self.secondsLabel, dimensions: dimensions, factory: factory)
            )
            series[key] = made
            return made
        }
        counter.increment()
        timer.record(duration: duration)
    }
}
