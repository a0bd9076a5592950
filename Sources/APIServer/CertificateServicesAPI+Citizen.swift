import API
import Foundation
import OpenAPIRuntime

/// `GET /v1/citizen/access-log`: who asked about the signed-in citizen, when and why.
///
/// The citizen signs in with an ID token of the configured OpenID Connect issuer (``CitizenTokenVerifier``); the
/// answer lists the audit log's rows whose subjects contain that citizen, and no other row. Every request is audited
/// like the questions: with the client ``citizenClient``, the purpose ``ownAccessLogPurpose``, the question
/// ``accessLogQuestion``, and the citizen as the subject once the token holds (no subject before).
extension CertificateServicesAPI {
    /// The audit log's client for a citizen's own requests (never a registered client's id, which starts `tbc_`).
    static let citizenClient = "citizen"
    /// The audit log's purpose of a citizen listing their own access log.
    static let ownAccessLogPurpose = "own-access-log"
    /// The audit log's question of a citizen listing their own access log.
    static let accessLogQuestion = "access-log"
    /// How often one citizen may list their access log: requests a second on average…
    static let citizenRequestsPerSecond = 2
    /// …and at once after a quiet while.
    static let citizenBurst = 10
    /// The rows of a page when `limit` is not given, and the most a page may hold.
    static let accessLogPageSizes = (default: 50, range: 1...200)

    func listMyAccessLog(
        _ input: Operations.ListMyAccessLog.Input
    ) async throws -> Operations.ListMyAccessLog.Output {
        do { return try await answerAccessLog(input) } catch { throw HandlerFailure(underlying: error) }
    }

    private func answerAccessLog(
        _ input: Operations.ListMyAccessLog.Input
    ) async throws -> Operations.ListMyAccessLog.Output {
        /// A refusal, audited, as this operation's response.
        func refused(
            _ status: Int, _ code: String, _ title: String, _ detail: String, subjects: [String] = [],
            outcome: AuditOutcome = .refused, retryAfter: Int? = nil
        ) async throws -> Operations.ListMyAccessLog.Output {
            try await record(
                client: Self.citizenClient, purpose: Self.ownAccessLogPurpose, subjects: subjects,
                question: Self.accessLogQuestion, status: status, outcome: outcome, summary: code)
            let problem = Problems.problem(status: status, code: code, title: title, detail: detail)
            switch status {
            case 400: return .badRequest(.init(body: .applicationProblemJson(problem)))
            case 429:
                return .tooManyRequests(
                    .init(headers: .init(retryAfter: retryAfter), body: .applicationProblemJson(problem)))
            case 503:
                return .serviceUnavailable(
                    .init(headers: .init(retryAfter: retryAfter), body: .applicationProblemJson(problem)))
            default: return .unauthorized(.init(body: .applicationProblemJson(problem)))
            }
        }
        guard let citizens else {
            return try await refused(
                503, "citizen-login-not-configured", "Citizen sign-in not configured",
                "this server is not configured for citizens to sign in (an operator sets --citizen-issuer and "
                    + "--citizen-jwks); the access log cannot be listed here")
        }
        let verified: Result<CitizenIdentity, CitizenTokenError>
        do throws(CitizenTokenError) {
            verified = .success(try await citizens.verify(authorization: RequestHeaders.current.authorization))
        } catch {
            verified = .failure(error)
        }
        let citizen: String
        switch verified {
        case .success(let identity): citizen = identity.citizenID
        case .failure(let error):
            return try await refused(error.status, error.code.rawValue, error.title, error.detail)
        }
        let subjects = [citizen]
        if let wait = limiter.check(
            clientID: "\(Self.citizenClient):\(citizen)", requestsPerSecond: Self.citizenRequestsPerSecond,
            burst: Self.citizenBurst
        ).retryAfterSeconds {
            return try await refused(
                429, "rate-limited", "Too many requests",
                "this citizen listed the access log more often than allowed; try again in \(wait) s",
                subjects: subjects, outcome: .rateLimited, retryAfter: wait)
        }
        let limit = input.query.limit ?? Self.accessLogPageSizes.default
        guard Self.accessLogPageSizes.range.contains(limit) else {
            return try await refused(
                400, "invalid-limit", "Invalid limit",
                "limit must be between \(Self.accessLogPageSizes.range.lowerBound) and "
                    + "\(Self.accessLogPageSizes.range.upperBound)", subjects: subjects)
        }
        if let before = input.query.before, before < 1 {
            return try await refused(
                400, "invalid-before", "Invalid before", "before must be a seq of the log, 1 or more",
                subjects: subjects)
        }
        let page = try await AuditLog.accessLog(
            of: citizen, limit: limit, before: input.query.before, on: database)
        try await record(
            client: Self.citizenClient, purpose: Self.ownAccessLogPurpose, subjects: subjects,
            question: Self.accessLogQuestion, status: 200, outcome: .answered,
            summary: "\(page.entries.count) rows" + (page.nextBefore == nil ? "" : ", more"))
        return .ok(
            .init(
                headers: .init(cacheControl: "no-store"),
                body: .json(
                    .init(
                        citizen: citizen, entries: page.entries.map(Self.accessLogEntry),
                        nextBefore: page.nextBefore))))
    }

    /// A row of the audit log as the citizen sees it.
    static func accessLogEntry(_ entry: CitizenAccessEntry) -> Components.Schemas.AccessLogEntry {
        .init(
            seq: entry.seq, time: entry.recordedAt, client: clientName(entry), purpose: entry.purpose,
            question: entry.question, requestedBy: entry.onBehalfOf,
            outcome: .init(rawValue: entry.outcome.rawValue) ?? .error)
    }

    /// Who asked, in words for the citizen: a registered client's name; `you (your own access log)` for the citizen's
    /// own listings; `unidentified caller` for a request refused before its client was known.
    static func clientName(_ entry: CitizenAccessEntry) -> String {
        if let name = entry.clientName { return name }
        switch entry.clientID {
        case citizenClient: return "you (your own access log)"
        case "-": return "unidentified caller"
        default: return entry.clientID
        }
    }
}
