import Foundation
import HTTPTypes
import Hummingbird

/// Restores the response headers that the generated server percent-encodes.
///
/// The OpenAPI runtime writes a `string` header the way it writes a URI component, so `public, max-age=30` leaves as
/// `public%2C%20max-age%3D30` and an entity tag loses its quotes. `ETag` and `Cache-Control` are read by caches and
/// verifiers that expect them as HTTP defines them: this middleware decodes them back.
struct ResponseHeaderMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The headers decoded.
    static var names: [HTTPField.Name] { [.eTag, .cacheControl] }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        for name in Self.names {
            if let value = response.headers[name], value.contains("%"), let decoded = value.removingPercentEncoding {
                response.headers[name] = decoded
            }
        }
        return response
    }
}
