import API
import Events
import Foundation
import Logging
import OpenAPIRuntime
import Postgres

/// The handlers of `schemas/openapi.yaml` (the protocol is generated from it at build time).
///
/// Every request is checked (token, client, scope, purpose, rate), answered or refused with an RFC 9457 problem, and
/// appended to the audit log before the answer leaves: a request the audit log cannot record is not answered.
struct CertificateServicesAPI: APIProtocol {
    let database: PostgresClient
    let clients: ClientRegistry
    let issuer: AccessTokenIssuer
    let authorizer: Authorizer
    let limiter: RateLimiter
    let audit: AuditLog
    let logger: Logger
    var kinship = KinshipQuestion()
    var contributions = ContributionQuestion()
    /// How long a client should wait while the views are being rebuilt.
    var notReadyRetryAfter = 5
    /// Today, Beijing time (tests pin it).
    var today: @Sendable () -> CivilDate = { CertificateServicesAPI.beijingToday() }

    // MARK: - Access

    func issueToken(_ input: Operations.IssueToken.Input) async throws -> Operations.IssueToken.Output {
        do { return try await answerToken(input) } catch { throw HandlerFailure(underlying: error) }
    }

    private func answerToken(_ input: Operations.IssueToken.Input) async throws -> Operations.IssueToken.Output {
        guard case .urlEncodedForm(let form) = input.body else {
            return .badRequest(.init(body: .applicationProblemJson(malformed("the body must be a form"))))
        }
        let basic = Self.basicCredentials(RequestHeaders.current.authorization)
        guard let clientID = basic?.id ?? form.clientId, let secret = basic?.secret ?? form.clientSecret else {
            let problem = Problems.problem(
                status: 401, code: AccessError.Code.invalidClient.rawValue, title: "Client authentication failed",
                detail: "give client_id and client_secret, in the form or as HTTP Basic")
            await record(
                client: "-", purpose: "-", question: "token", status: 401, outcome: .refused, summary: "no credentials")
            return .unauthorized(.init(body: .applicationProblemJson(problem)))
        }
        let client: APIClient
        do {
            client = try await clients.authenticate(clientID: clientID, secret: secret)
        } catch let error as AccessError {
            await record(
                client: Self.printable(clientID), purpose: "-", question: "token", status: error.status,
                outcome: .refused,
                summary: error.code.rawValue)
            return .unauthorized(.init(body: .applicationProblemJson(problem(error))))
        }
        if let wait = limiter.check(clientID: client.id, requestsPerSecond: client.requestsPerSecond).retryAfterSeconds
        {
            await record(
                client: client.id, purpose: "-", question: "token", status: 429, outcome: .rateLimited, summary: "rate")
            return .tooManyRequests(
                .init(headers: .init(retryAfter: wait), body: .applicationProblemJson(rateLimited(wait))))
        }
        let scopes: [APIScope]?
        do {
            scopes = try form.scope.map { try APIScope.parseList($0) }
        } catch {
            await record(
                client: client.id, purpose: "-", question: "token", status: 400, outcome: .refused, summary: "scope")
            return .badRequest(
                .init(
                    body: .applicationProblemJson(
                        Problems.problem(status: 400, code: "invalid-scope", title: "Unknown scope", detail: "\(error)")
                    )))
        }
        do {
            let token = try await issuer.issue(for: client, scopes: scopes)
            await record(
                client: client.id, purpose: "-", question: "token", status: 200, outcome: .answered,
                summary: token.scope)
            return .ok(
                .init(
                    headers: .init(cacheControl: "no-store"),
                    body: .json(
                        .init(
                            accessToken: token.token, tokenType: .bearer, expiresIn: token.expiresIn, scope: token.scope
                        )
                    )))
        } catch let error as AccessError {
            await record(
                client: client.id, purpose: "-", question: "token", status: 400, outcome: .refused,
                summary: error.code.rawValue)
            return .badRequest(.init(body: .applicationProblemJson(problem(error))))
        }
    }

    // MARK: - Questions

    func askKinship(_ input: Operations.AskKinship.Input) async throws -> Operations.AskKinship.Output {
        do { return try await answerKinship(input) } catch { throw HandlerFailure(underlying: error) }
    }

    private func answerKinship(_ input: Operations.AskKinship.Input) async throws -> Operations.AskKinship.Output {
        let subject = input.query.subject
        let relative = input.query.relative
        let subjects = [subject, relative].filter { CitizenID.problem(with: $0) == nil }
        let access: Authorizer.Access
        switch await admit("kinship", scope: .kinship, purpose: input.headers.tongbanPurpose, subjects: subjects) {
        case .success(let granted): access = granted
        case .failure(let refusal): return .refused(refusal)
        }
        func refuse(_ code: String, _ title: String, _ detail: String) async -> Operations.AskKinship.Output {
            .refused(await self.refuse(access, "kinship", subjects, code, title, detail))
        }
        for (name, id) in [("subject", subject), ("relative", relative)] {
            if let why = CitizenID.problem(with: id) {
                return await refuse("invalid-citizen-id", "Invalid citizen ID", "\(name): \(Problems.plain(why))")
            }
        }
        let today = self.today()
        let day: CivilDate
        if let text = input.query.asOf {
            guard let parsed = CivilDate(text) else {
                return await refuse("invalid-date", "Invalid date", "asOf must be a day, YYYY-MM-DD")
            }
            guard parsed <= today else {
                return await refuse(
                    "date-in-future", "Date in the future", "asOf \(parsed) is after today (\(today), Beijing time)")
            }
            day = parsed
        } else {
            day = today
        }
        let answer = try await kinship.ask(subject: subject, relative: relative, asOf: day.description, on: database)
        guard answer.ready else { return .refused(await notReady(access, "kinship", subjects)) }
        let summary =
            answer.relations.isEmpty
            ? "no relation"
            : answer.relations.map { "\($0.relation.rawValue)/\($0.basis.rawValue)" }.joined(separator: ",")
        await record(
            client: access.client.id, purpose: access.purpose, subjects: subjects, question: "kinship", status: 200,
            outcome: .answered, summary: summary)
        return .ok(
            .init(
                body: .json(
                    .init(
                        subject: subject, relative: relative, asOf: day.description, found: !answer.relations.isEmpty,
                        relations: answer.relations, evidence: answer.evidence, streamPosition: answer.streamPosition)))
        )
    }

    func askContributions(
        _ input: Operations.AskContributions.Input
    ) async throws -> Operations.AskContributions.Output {
        do { return try await answerContributions(input) } catch { throw HandlerFailure(underlying: error) }
    }

    private func answerContributions(
        _ input: Operations.AskContributions.Input
    ) async throws -> Operations.AskContributions.Output {
        let subject = input.query.subject
        let subjects = CitizenID.problem(with: subject) == nil ? [subject] : []
        let question = "social-insurance"
        let access: Authorizer.Access
        switch await admit(question, scope: .socialInsurance, purpose: input.headers.tongbanPurpose, subjects: subjects)
        {
        case .success(let granted): access = granted
        case .failure(let refusal): return .refused(refusal)
        }
        func refuse(_ code: String, _ title: String, _ detail: String) async -> Operations.AskContributions.Output {
            .refused(await self.refuse(access, question, subjects, code, title, detail))
        }
        if let why = CitizenID.problem(with: subject) {
            return await refuse("invalid-citizen-id", "Invalid citizen ID", "subject: \(Problems.plain(why))")
        }
        guard let from = CivilMonth(input.query.from), let to = CivilMonth(input.query.to) else {
            return await refuse("invalid-month", "Invalid month", "from and to must be months, YYYY-MM")
        }
        guard from <= to else {
            return await refuse("invalid-period", "Invalid period", "from \(from) is after to \(to)")
        }
        let thisMonth = CivilMonth(today())
        guard to <= thisMonth else {
            return await refuse(
                "date-in-future", "Month in the future", "to \(to) is after this month (\(thisMonth), Beijing time)")
        }
        let answer = try await contributions.ask(
            subject: subject, from: from.description, to: to.description, on: database)
        guard answer.ready else { return .refused(await notReady(access, question, subjects)) }
        let summary =
            answer.insurance.isEmpty
            ? "nothing paid"
            : answer.insurance.map { "\($0.insuranceType.rawValue)=\($0.monthsPaid)" }.joined(separator: ",")
        await record(
            client: access.client.id, purpose: access.purpose, subjects: subjects, question: question, status: 200,
            outcome: .answered, summary: summary)
        return .ok(
            .init(
                body: .json(
                    .init(
                        subject: subject, from: from.description, to: to.description, insurance: answer.insurance,
                        enrollments: answer.enrollments, evidence: answer.evidence,
                        streamPosition: answer.streamPosition))))
    }

    // MARK: - The checks every question starts with

    /// A request refused: its status, problem, and how long to wait when that helps.
    struct Refusal: Error {
        var status: Int
        var problem: Components.Schemas.Problem
        var retryAfter: Int?
    }

    /// Checks the token, the client, the scope, the purpose and the rate; a refusal is audited.
    private func admit(
        _ question: String, scope: APIScope, purpose: String, subjects: [String]
    ) async -> Result<Authorizer.Access, Refusal> {
        let access: Authorizer.Access
        do {
            access = try await authorizer.authorize(
                authorization: RequestHeaders.current.authorization, scope: scope, purpose: purpose)
        } catch let error as AccessError {
            await record(
                client: "-", purpose: Self.printable(purpose), subjects: subjects, question: question,
                status: error.status, outcome: .refused, summary: error.code.rawValue)
            return .failure(Refusal(status: error.status, problem: problem(error)))
        } catch {
            // The registry could not be read: the server's failure, answered by the middleware.
            await record(
                client: "-", purpose: Self.printable(purpose), subjects: subjects, question: question, status: 503,
                outcome: .error, summary: "client registry unavailable")
            return .failure(
                Refusal(
                    status: 503,
                    problem: Problems.problem(
                        status: 503, code: "database-unavailable", title: "Database unavailable",
                        detail: "the clients cannot be read right now; try again shortly"), retryAfter: 5))
        }
        if let wait = limiter.check(clientID: access.client.id, requestsPerSecond: access.client.requestsPerSecond)
            .retryAfterSeconds
        {
            await record(
                client: access.client.id, purpose: access.purpose, subjects: subjects, question: question,
                status: 429, outcome: .rateLimited, summary: "rate")
            return .failure(Refusal(status: 429, problem: rateLimited(wait), retryAfter: wait))
        }
        return .success(access)
    }

    /// A question refused for its parameters (400), audited.
    private func refuse(
        _ access: Authorizer.Access, _ question: String, _ subjects: [String], _ code: String, _ title: String,
        _ detail: String
    ) async -> Refusal {
        await record(
            client: access.client.id, purpose: access.purpose, subjects: subjects, question: question, status: 400,
            outcome: .refused, summary: code)
        return Refusal(status: 400, problem: Problems.problem(status: 400, code: code, title: title, detail: detail))
    }

    /// The views are being rebuilt (or nothing is projected yet): 503, audited.
    private func notReady(_ access: Authorizer.Access, _ question: String, _ subjects: [String]) async -> Refusal {
        await record(
            client: access.client.id, purpose: access.purpose, subjects: subjects, question: question, status: 503,
            outcome: .refused, summary: "views not ready")
        return Refusal(
            status: 503,
            problem: Problems.problem(
                status: 503, code: "views-not-ready", title: "Views not ready",
                detail: "the views are being rebuilt (or nothing is projected yet): no answer is certain until they are"
            ), retryAfter: notReadyRetryAfter)
    }

    // MARK: - Helpers

    /// A failure of the server's side while answering (the database, say): a 500 or 503, never the client's 400.
    struct HandlerFailure: Error, CustomStringConvertible {
        let underlying: any Error
        var description: String { "\(underlying)" }
    }

    /// Appends a request to the audit log. A failure is logged and rethrown as a 500 by the middleware: a request
    /// that cannot be recorded is not answered.
    private func record(
        client: String, purpose: String, subjects: [String] = [], question: String, status: Int,
        outcome: AuditOutcome, summary: String
    ) async {
        do {
            _ = try await audit.append(
                AuditEntry(
                    clientID: client, purpose: purpose, subjects: subjects, question: question, answerSummary: summary,
                    outcome: outcome, status: status))
        } catch {
            logger.error("the audit log did not take a request: \(error)")
        }
    }

    private func problem(_ error: AccessError) -> Components.Schemas.Problem {
        Problems.problem(status: error.status, code: error.code.rawValue, title: error.title, detail: error.detail)
    }

    private func malformed(_ detail: String) -> Components.Schemas.Problem {
        Problems.problem(status: 400, code: "malformed-request", title: "Malformed request", detail: detail)
    }

    private func rateLimited(_ wait: Int) -> Components.Schemas.Problem {
        Problems.problem(
            status: 429, code: "rate-limited", title: "Too many requests",
            detail: "this client asked more than its rate allows; try again in \(wait) s")
    }

    /// `Basic base64(id:secret)`, or `nil`.
    static func basicCredentials(_ authorization: String?) -> (id: String, secret: String)? {
        guard let authorization, authorization.count > 6, authorization.prefix(6).lowercased() == "basic " else {
            return nil
        }
        guard let data = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// A sender's text as the audit log may keep it: printable, at most 64 characters.
    static func printable(_ text: String) -> String {
        let kept = String(
            text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7f }.prefix(64).map(Character.init))
        return kept.isEmpty ? "-" : kept
    }

    /// Today's date in Beijing (UTC+8, no daylight saving).
    static func beijingToday() -> CivilDate {
        CivilDate(daysSinceEpoch: Int((Date().timeIntervalSince1970 + 8 * 3600) / 86_400))
    }
}

/// The responses every question can refuse with (the generated enum cases witness these requirements).
protocol QuestionOutput {
    static func badRequest(_ response: Components.Responses.Problem) -> Self
    static func unauthorized(_ response: Components.Responses.Problem) -> Self
    static func forbidden(_ response: Components.Responses.Problem) -> Self
    static func tooManyRequests(_ response: Components.Responses.RateLimited) -> Self
    static func serviceUnavailable(_ response: Components.Responses.NotReady) -> Self
}

extension QuestionOutput {
    /// A refusal as this operation's response.
    static func refused(_ refusal: CertificateServicesAPI.Refusal) -> Self {
        let body = Components.Responses.Problem.Body.applicationProblemJson(refusal.problem)
        switch refusal.status {
        case 400: return .badRequest(.init(body: body))
        case 403: return .forbidden(.init(body: body))
        case 429:
            return .tooManyRequests(
                .init(headers: .init(retryAfter: refusal.retryAfter), body: .applicationProblemJson(refusal.problem)))
        case 503:
            return .serviceUnavailable(
                .init(headers: .init(retryAfter: refusal.retryAfter), body: .applicationProblemJson(refusal.problem)))
        default: return .unauthorized(.init(body: body))
        }
    }
}

extension Operations.AskKinship.Output: QuestionOutput {}
extension Operations.AskContributions.Output: QuestionOutput {}
