import API
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import OpenAPIRuntime
import Postgres

/// Turns what the handlers do not answer themselves into RFC 9457 problems: a request the generated code cannot
/// read (a missing parameter, a body that is not the form or JSON it must be) is a 400 `malformed-request`, an
/// unknown route a 404 `no-such-endpoint`, and anything else a 500 `internal-error` whose detail names no internals
/// (the error itself goes to the log). What it answers is appended to the audit log too: every request is.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let audit: AuditLog
    let logger: Logger

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let response = await answer(request, context: context, next: next)
        if response.audited { return response.response }
        let purpose = request.headers[HTTPField.Name("Tongban-Purpose")!].map(CertificateServicesAPI.printable) ?? "-"
        do {
            _ = try await audit.append(
                AuditEntry(
                    clientID: "-", purpose: purpose, subjects: [],
                    question: CertificateServicesAPI.printable(request.uri.path), answerSummary: "not read",
                    outcome: response.response.status.code >= 500 ? .error : .refused,
                    status: response.response.status.code))
        } catch {
            logger.error("the audit log did not take a request: \(error)")
            return Problems.response(
                status: .internalServerError, code: "internal-error", title: "Internal error",
                detail: "the server failed to answer; the failure is in its log")
        }
        return response.response
    }

    /// The response, and whether the handler audited it (it did when it answered at all).
    private func answer(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async -> (response: Response, audited: Bool) {
        do {
            return (try await next(request, context), true)
        } catch {
            return (problem(for: error, request), false)
        }
    }

    private func problem(for error: any Error, _ request: Request) -> Response {
        do {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                return Problems.response(
                    status: .notFound, code: "no-such-endpoint", title: "No such endpoint",
                    detail: "there is no endpoint \(request.method) \(request.uri.path); see schemas/openapi.yaml")
            case .methodNotAllowed:
                return Problems.response(
                    status: .methodNotAllowed, code: "method-not-allowed", title: "Method not allowed",
                    detail: "\(request.method) is not allowed on \(request.uri.path)")
            case .contentTooLarge:
                return Problems.response(
                    status: .contentTooLarge, code: "request-too-large", title: "Request too large",
                    detail: "the request body is larger than the server accepts")
            default:
                return Problems.response(
                    status: error.status, code: "http-\(error.status.code)", title: error.status.reasonPhrase,
                    detail: error.body ?? error.status.reasonPhrase)
            }
        } catch let error as ServerError
            where error.underlyingError is CertificateServicesAPI.HandlerFailure
        {
            let failure = error.underlyingError as! CertificateServicesAPI.HandlerFailure
            logger.error("answering \(request.method) \(request.uri.path) failed: \(failure)")
            if let postgres = failure.underlying as? PostgresError, postgres.isRetriable {
                var response = Problems.response(
                    status: .serviceUnavailable, code: "database-unavailable", title: "Database unavailable",
                    detail: "the views cannot be read right now; try again shortly")
                response.headers[.retryAfter] = "5"
                return response
            }
            return Problems.response(
                status: .internalServerError, code: "internal-error", title: "Internal error",
                detail: "the server failed to answer; the failure is in its log")
        } catch let error as ServerError {
            // The generated code could not read the request: the client's mistake, never a 500.
            logger.debug("a request could not be read: \(error.causeDescription)")
            return Problems.response(
                status: .badRequest, code: "malformed-request", title: "Malformed request",
                detail: "the request could not be read: \(Problems.plain(error.causeDescription))")
        } catch {
            logger.error("answering \(request.method) \(request.uri.path) failed: \(error)")
            return Problems.response(
                status: .internalServerError, code: "internal-error", title: "Internal error",
                detail: "the server failed to answer; the failure is in its log")
        }
    }
}

/// RFC 9457 problems, as the generated types and as raw responses.
enum Problems {
    /// The problem document.
    static func problem(status: Int, code: String, title: String, detail: String) -> Components.Schemas.Problem {
        Components.Schemas.Problem(
            _type: "https://tongban.example/problems/\(code)", title: title, status: status, code: code, detail: detail)
    }

    /// A whole `application/problem+json` response, for the middleware.
    static func response(status: HTTPResponse.Status, code: String, title: String, detail: String) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body =
            (try? encoder.encode(problem(status: status.code, code: code, title: title, detail: detail))) ?? Data()
        return Response(
            status: status,
            headers: [.contentType: "application/problem+json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// A cause in plain words, cut short and without control characters.
    static func plain(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.prefix(300).map(Character.init))
    }
}
