import Foundation
import HTTPTypes
import Hummingbird

/// Adds the headers of the public verification pages to every response under `/verify/`.
///
/// The generated route can only send the headers `schemas/openapi.yaml` declares, and the page needs more: a
/// Content-Security-Policy that lets it load nothing (the same policy as the page's own `<meta>`, plus
/// `frame-ancestors 'none'`, which only a header can carry, so no other site can frame it), `nosniff`, `no-cache`
/// (the page shows the status now, so a cache must ask again every time), `no-referrer` (its address names a
/// certificate: no request from it may carry that), and the charset of the HTML. A problem (JSON) under `/verify/`
/// keeps its own `Content-Type` and `Cache-Control`; it gets the other headers.
struct VerificationPageHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The path prefix of the pages.
    static var pathPrefix: String { "/verify/" }

    /// The `Content-Type` of a page.
    static var htmlContentType: String { "text/html; charset=utf-8" }

    /// The headers every response under ``pathPrefix`` gets, replacing any of the same name. `Cache-Control:
    /// no-cache` is added besides when the response has no `Cache-Control` (a problem keeps its `no-store`).
    static var headers: [(name: HTTPField.Name, value: String)] {
        [
            (.contentSecurityPolicy, VerificationPage.contentSecurityPolicy + "; frame-ancestors 'none'"),
            (.xContentTypeOptions, "nosniff"),
            (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        ]
    }

    /// Passes the request on; for a page, sets the headers on the response.
    /// - Parameters:
    ///   - request: the request.
    ///   - context: its context.
    ///   - next: the rest of the chain.
    /// - Returns: the response, with the pages' headers when the path is under ``pathPrefix``.
    /// - Throws: what the rest of the chain throws.
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.uri.path.hasPrefix(Self.pathPrefix) else { return try await next(request, context) }
        var response = try await next(request, context)
        for header in Self.headers { response.headers[header.name] = header.value }
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-cache" }
        let media = response.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
        if media?.lowercased() == "text/html" { response.headers[.contentType] = Self.htmlContentType }
        return response
    }
}
