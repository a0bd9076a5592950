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
    /// Verifies citizens' ID tokens for their access log; `nil` when citizen sign-in is not configured (503).
    var citizens: CitizenTokenVerifier? = nil
    /// Issues and checks certificates; `nil` when the server has no hub key (the certificate endpoints answer 503).
    var certificates: CertificateServices? = nil
    /// How a question carrying `Tongban-Min-Position` waits for the views (read-your-writes).
    var positionWait = PositionWait()
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
            try await record(
                client: "-", purpose: "-", question: "token", status: 401, outcome: .refused, summary: "no credentials")
            return .unauthorized(.init(body: .applicationProblemJson(problem)))
        }
        let client: APIClient
        do {
            client = try await clients.authenticate(clientID: clientID, secret: secret)
        } catch let error as AccessError {
            try await record(
                client: Self.printable(clientID), purpose: "-", question: "token", status: error.status,
                outcome: .refused,
                summary: error.code.rawValue)
            return .unauthorized(.init(body: .applicationProblemJson(problem(error))))
        }
        if let wait = limiter.check(clientID: client.id, requestsPerSecond: client.requestsPerSecond).retryAfterSeconds
        {
            try await record(
                client: client.id, purpose: "-", question: "token", status: 429, outcome: .rateLimited, summary: "rate")
            return .tooManyRequests(
                .init(headers: .init(retryAfter: wait), body: .applicationProblemJson(rateLimited(wait))))
        }
        let scopes: [APIScope]?
        do {
            scopes = try form.scope.map { try APIScope.parseList($0) }
        } catch {
            try await record(
                client: client.id, purpose: "-", question: "token", status: 400, outcome: .refused, summary: "scope")
            return .badRequest(
                .init(
                    body: .applicationProblemJson(
                        Problems.problem(status: 400, code: "invalid-scope", title: "Unknown scope", detail: "\(error)")
                    )))
        }
        do {
            let token = try await issuer.issue(for: client, scopes: scopes)
            try await record(
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
            try await record(
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
        let relative = input.query.relative
        let asking: Asking
        switch try await begin(
            "kinship", scope: .kinship, purpose: input.headers.tongbanPurpose, subject: input.query.subject,
            others: ["relative": relative], asOf: input.query.asOf, requestedBy: input.headers.tongbanRequestedBy,
            minPosition: input.headers.tongbanMinPosition)
        {
        case .success(let admitted): asking = admitted
        case .failure(let refusal): return .refused(refusal)
        }
        let answer = try await kinship.ask(
            subject: asking.subject, relative: relative, asOf: asking.day.description, on: database)
        guard answer.ready else { return .refused(try await notReady(asking)) }
        let summary =
            answer.relations.isEmpty
            ? "no relation"
            : answer.relations.map { "\($0.relation.rawValue)/\($0.basis.rawValue)" }.joined(separator: ",")
        try await answered(asking, summary: summary)
        return .ok(
            .init(
                body: .json(
                    .init(
                        subject: asking.subject, relative: relative, asOf: asking.day.description,
                        found: !answer.relations.isEmpty, relations: answer.relations, evidence: answer.evidence,
                        streamPosition: answer.streamPosition))))
    }

    func askContributions(
        _ input: Operations.AskContributions.Input
    ) async throws -> Operations.AskContributions.Output {
        do { return try await answerContributions(input) } catch { throw HandlerFailure(underlying: error) }
    }

    private func answerContributions(
        _ input: Operations.AskContributions.Input
    ) async throws -> Operations.AskContributions.Output {
        let thisMonth = CivilMonth(today())
        let asking: Asking
        let from: CivilMonth
        let to: CivilMonth
        switch try await begin(
            "social-insurance", scope: .socialInsurance, purpose: input.headers.tongbanPurpose,
            subject: input.query.subject, asOf: nil, requestedBy: input.headers.tongbanRequestedBy,
            minPosition: input.headers.tongbanMinPosition,
            parse: { () -> Result<(CivilMonth, CivilMonth), ParameterProblem> in
                guard let from = CivilMonth(input.query.from), let to = CivilMonth(input.query.to) else {
                    return .failure(
                        ParameterProblem(
                            code: "invalid-month", title: "Invalid month", detail: "from and to must be months, YYYY-MM"
                        ))
                }
                guard from <= to else {
                    return .failure(
                        ParameterProblem(
                            code: "invalid-period", title: "Invalid period", detail: "from \(from) is after to \(to)"))
                }
                guard to <= thisMonth else {
                    return .failure(
                        ParameterProblem(
                            code: "date-in-future", title: "Month in the future",
                            detail: "to \(to) is after this month (\(thisMonth), Beijing time)"))
                }
                return .success((from, to))
            })
        {
        case .success(let admitted): (asking, (from, to)) = admitted
        case .failure(let refusal): return .refused(refusal)
        }
        let answer = try await contributions.ask(
            subject: asking.subject, from: from.description, to: to.description, on: database)
        guard answer.ready else { return .refused(try await notReady(asking)) }
        let summary =
            answer.insurance.isEmpty
            ? "nothing paid"
            : answer.insurance.map { "\($0.insuranceType.rawValue)=\($0.monthsPaid)" }.joined(separator: ",")
        try await answered(asking, summary: summary)
        return .ok(
            .init(
                body: .json(
                    .init(
                        subject: asking.subject, from: from.description, to: to.description,
                        insurance: answer.insurance, enrollments: answer.enrollments, evidence: answer.evidence,
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
    /// - Throws: what the audit log throws (the request is then not answered).
    func admit(
        _ question: String, scope: APIScope, purpose: String, subjects: [String]
    ) async throws -> Result<Authorizer.Access, Refusal> {
        let access: Authorizer.Access
        do {
            access = try await authorizer.authorize(
                authorization: RequestHeaders.current.authorization, scope: scope, purpose: purpose)
        } catch let error as AccessError {
            try await record(
                client: error.clientID ?? "-", purpose: Self.printable(purpose), subjects: subjects,
                question: question, status: error.status, outcome: .refused, summary: error.code.rawValue)
            return .failure(Refusal(status: error.status, problem: problem(error)))
        } catch {
            // The registry could not be read: the server's failure.
            try await record(
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
            try await record(
                client: access.client.id, purpose: access.purpose, subjects: subjects, question: question,
                status: 429, outcome: .rateLimited, summary: "rate")
            return .failure(Refusal(status: 429, problem: rateLimited(wait), retryAfter: wait))
        }
        return .success(access)
    }

    /// A parameter the question cannot be answered with: its problem's code, title and plain words.
    struct ParameterProblem: Error {
        var code: String
        var title: String
        var detail: String
    }

    /// The day a question is for: `asOf` (`YYYY-MM-DD`, not after today in Beijing), or today when it is absent.
    /// - Throws: ``ParameterProblem`` `invalid-date` or `date-in-future`.
    func day(asOf text: String?) throws(ParameterProblem) -> CivilDate {
        let today = self.today()
        guard let text else { return today }
        guard let day = CivilDate(text) else {
            throw ParameterProblem(
                code: "invalid-date", title: "Invalid date", detail: "asOf must be a day, YYYY-MM-DD")
        }
        guard day <= today else {
            throw ParameterProblem(
                code: "date-in-future", title: "Date in the future",
                detail: "asOf \(day) is after today (\(today), Beijing time)")
        }
        return day
    }

    /// Checks the `Tongban-Requested-By` header: who makes the request for `subject` on `day`, if anyone.
    ///
    /// A relative may act for the subject only where the kinship views show them, on that day, as the subject's
    /// child, spouse or grandchild. A malformed ID or the subject themself is refused with 400, anyone else with 403
    /// (`not-a-relative`); every refusal is audited, naming the requester.
    /// - Returns: the requester (`nil` when nobody acts for the subject), or the refusal.
    /// - Throws: what the database or the audit log throws.
    func requester(
        _ header: String?, for subject: String, on day: CivilDate, access: Authorizer.Access, question: String,
        subjects: [String]
    ) async throws -> Result<String?, Refusal> {
        guard let header else { return .success(nil) }
        if let why = CitizenID.problem(with: header) {
            return .failure(
                try await refuse(
                    access, question, subjects, "invalid-citizen-id", "Invalid citizen ID",
                    "Tongban-Requested-By: \(Problems.plain(why))"))
        }
        guard header != subject else {
            return .failure(
                try await refuse(
                    access, question, subjects, "invalid-requested-by", "Requester is the subject",
                    "Tongban-Requested-By names the subject; leave it out when the subject asks for themself",
                    onBehalfOf: header))
        }
        let rows = try await database.query(
            """
            SELECT s.ready, EXISTS (
                SELECT 1 FROM tongban.relations(\(subject), \(day.description)::date)
                WHERE relative_id = \(header) AND relation IN ('child', 'spouse', 'grandchild'))
            FROM tongban.view_state() s
            """)
        guard try rows[0].decode(Bool.self, at: 0) else {
            return .failure(try await notReady(access, question, subjects, onBehalfOf: header))
        }
        guard try rows[0].decode(Bool.self, at: 1) else {
            return .failure(
                try await refuse(
                    access, question, subjects, "not-a-relative", "Not allowed to act for the subject",
                    "on \(day) the registers do not show the requester as the subject's child, spouse or grandchild",
                    onBehalfOf: header, status: 403))
        }
        return .success(header)
    }

    /// A question refused for its parameters (400 unless `status` says otherwise), audited.
    func refuse(
        _ access: Authorizer.Access, _ question: String, _ subjects: [String], _ code: String, _ title: String,
        _ detail: String, onBehalfOf: String? = nil, status: Int = 400
    ) async throws -> Refusal {
        try await record(
            client: access.client.id, purpose: access.purpose, onBehalfOf: onBehalfOf, subjects: subjects,
            question: question, status: status, outcome: .refused, summary: code)
        return Refusal(
            status: status, problem: Problems.problem(status: status, code: code, title: title, detail: detail))
    }

    /// A question refused for a parameter, audited.
    func refuse(
        _ access: Authorizer.Access, _ question: String, _ subjects: [String], _ problem: ParameterProblem,
        onBehalfOf: String? = nil
    ) async throws -> Refusal {
        try await refuse(
            access, question, subjects, problem.code, problem.title, problem.detail, onBehalfOf: onBehalfOf)
    }

    /// The views are being rebuilt (or nothing is projected yet): 503, audited.
    func notReady(
        _ access: Authorizer.Access, _ question: String, _ subjects: [String], onBehalfOf: String? = nil
    ) async throws -> Refusal {
        try await record(
            client: access.client.id, purpose: access.purpose, onBehalfOf: onBehalfOf, subjects: subjects,
            question: question, status: 503, outcome: .refused, summary: "views not ready")
        return Refusal(
            status: 503,
            problem: Problems.problem(
                status: 503, code: "views-not-ready", title: "Views not ready",
                detail: "the views are being rebuilt (or nothing is projected yet): no answer is certain until they are"
            ), retryAfter: notReadyRetryAfter)
    }

    /// An answered question, audited with a short summary of the answer.
    func answered(
        _ access: Authorizer.Access, _ question: String, _ subjects: [String], summary: String,
        onBehalfOf: String? = nil
    ) async throws {
        try await record(
            client: access.client.id, purpose: access.purpose, onBehalfOf: onBehalfOf, subjects: subjects,
            question: question, status: 200, outcome: .answered, summary: summary)
    }

    // MARK: - Helpers

    /// A failure of the server's side while answering (the database, say): a 500 or 503, never the client's 400.
    struct HandlerFailure: Error, CustomStringConvertible {
        let underlying: any Error
        var description: String { "\(underlying)" }
    }

    /// Appends a request to the audit log.
    /// - Throws: what the audit log throws: the handler then fails (503 from the problem middleware), because a
    ///   request that cannot be recorded is not answered.
    func record(
        client: String, purpose: String, onBehalfOf: String? = nil, subjects: [String] = [], question: String,
        status: Int, outcome: AuditOutcome, summary: String
    ) async throws {
        _ = try await audit.append(
            AuditEntry(
                clientID: client, purpose: purpose, onBehalfOf: onBehalfOf, subjects: subjects, question: question,
                answerSummary: summary, outcome: outcome, status: status))
    }

    func problem(_ error: AccessError) -> Components.Schemas.Problem {
        Problems.problem(status: error.status, code: error.code.rawValue, title: error.title, detail: error.detail)
    }

    func malformed(_ detail: String) -> Components.Schemas.Problem {
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
    static func beijingToday() -> CivilDate { RFC3339.beijingDate(Date()) }
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
