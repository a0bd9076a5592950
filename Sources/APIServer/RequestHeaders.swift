import HTTPTypes
import Hummingbird

/// The request headers the generated handlers do not receive as parameters: `Authorization` (an OpenAPI document
/// may not declare it as a header parameter, so the generator leaves it out).
struct RequestHeaders: Sendable {
    /// The `Authorization` header's value, if any.
    var authorization: String?

    /// The headers of the request being handled.
    @TaskLocal static var current = RequestHeaders()
}

/// Puts the request's ``RequestHeaders`` where the handlers read them.
struct RequestHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try await RequestHeaders.$current.withValue(RequestHeaders(authorization: request.headers[.authorization])) {
            try await next(request, context)
        }
    }
}
