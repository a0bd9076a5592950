import API
import Certificates
import Events
import Foundation
import OpenAPIRuntime
import Postgres

/// What the certificate endpoints share: the hub's configuration, the certificates' tables, the issuer, the status
/// lists and the verifier.
struct CertificateServices: Sendable {
    let hub: CertificateHub
    let store: CertificateStore
    let issuer: CertificateIssuer
    let lists: StatusListPublisher
    let verifier: CredentialVerifier

    init(hub: CertificateHub, database: PostgresClient) {
        self.hub = hub
        store = CertificateStore(database: database)
        issuer = CertificateIssuer(hub: hub, store: store, database: database)
        lists = StatusListPublisher(hub: hub, store: store)
        verifier = CredentialVerifier(hub: hub, store: store)
    }
}

extension CertificateServicesAPI {
    // MARK: - Issuing

    /// `POST /v1/certificates`.
    /// - Parameter input: the request.
    /// - Returns: the certificate, or a refusal (audited either way).
    /// - Throws: ``HandlerFailure`` when the database or the audit log fails.
    func issueCertificate(_ input: Operations.IssueCertificate.Input) async throws
        -> Operations.IssueCertificate.Output
    {
        do { return try await answerIssueCertificate(input) } catch { throw HandlerFailure(underlying: error) }
    }

    private func answerIssueCertificate(_ input: Operations.IssueCertificate.Input) async throws
        -> Operations.IssueCertificate.Output
    {
        // The body has one content type: the generated server decoded it (or refused it with a problem) already.
        let request: Components.Schemas.CertificateRequest
        switch input.body {
        case .json(let body): request = body
        }
        let kind = request.kind
        let name = "certificate:\(kind.rawValue)"
        let thisMonth = CivilMonth(today())
        let asking: Asking
        let question: CertificateQuestion
        let others: KeyValuePairs<String, String> = request.relative.map { ["relative": $0] } ?? [:]
        switch try await begin(
            name, scope: .certificates, purpose: input.headers.tongbanPurpose, subject: request.subject,
            others: others, asOf: request.asOf, requestedBy: input.headers.tongbanRequestedBy,
            minPosition: input.headers.tongbanMinPosition,
            parse: { () -> Result<CertificateQuestion, ParameterProblem> in
                Self.certificateQuestion(request, kind: kind, thisMonth: thisMonth)
            })
        {
        case .success(let admitted): (asking, question) = admitted
        case .failure(let refusal): return .refused(refusal)
        }
        // Certifying an answer discloses it: the client needs the question's own scope too.
        let needed = Self.scope(of: kind)
        guard asking.access.grant.scopes.contains(needed) else {
            return .refused(
                try await refuse(
                    asking.access, name, asking.subjects, AccessError.Code.scopeNotGranted.rawValue,
                    "Scope not granted",
                    "issuing a \(kind.rawValue) certificate needs the scope \(needed.rawValue) as well as certificates",
                    onBehalfOf: asking.requestedBy, status: 403))
        }
        guard let services = certificates else {
            return .refused(try await certificatesNotConfigured(asking))
        }
        let validDays = request.validDays ?? services.hub.defaultValidDays
        guard (1...366).contains(validDays) else {
            return .refused(
                try await refuse(
                    asking.access, name, asking.subjects, "invalid-validity", "Invalid validity",
                    "validDays must be between 1 and 366", onBehalfOf: asking.requestedBy))
        }
        let asOfCertificate = asking.day < today()
        let (outcome, answer) = try await services.issuer.issue(
            question, on: asking.day, asOfCertificate: asOfCertificate, validDays: validDays,
            clientID: asking.access.client.id)
        switch outcome {
        case .notReady:
            return .refused(try await notReady(asking))
        case .nothingToCertify:
            let refusal = try await refuse(
                asking.access, name, asking.subjects, "nothing-to-certify", "Nothing to certify",
                "the views show no relation between the two people on \(asking.day): there is no certificate to issue",
                onBehalfOf: asking.requestedBy, status: 422)
            return .unprocessableContent(.init(body: .applicationProblemJson(refusal.problem)))
        case .issued(let certificate):
            try await answered(
                asking, summary: "issued \(certificate.id.uuidString.lowercased())",
                subjects: answer.map { CertificateAsker.unique(asking.subjects + $0.people) })
            return .created(.init(body: .json(try issued(certificate, hub: services.hub))))
        }
    }

    /// Reads a certificate request's own parameters.
    static func certificateQuestion(
        _ request: Components.Schemas.CertificateRequest, kind: CertificateKind, thisMonth: CivilMonth
    ) -> Result<CertificateQuestion, ParameterProblem> {
        var question = CertificateQuestion(kind: kind, subject: request.subject)
        switch kind {
        case .kinship:
            guard let relative = request.relative else {
                return .failure(
                    ParameterProblem(
                        code: "missing-relative", title: "Relative missing",
                        detail: "a kinship certificate needs relative, the other person's citizen ID"))
            }
            question.relative = relative
        case .socialInsurance:
            guard let fromText = request.from, let toText = request.to, let from = CivilMonth(fromText),
                let to = CivilMonth(toText)
            else {
                return .failure(
                    ParameterProblem(
                        code: "invalid-month", title: "Invalid month",
                        detail: "a social-insurance certificate needs from and to, months YYYY-MM"))
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
            question.from = from.description
            question.to = to.description
        case .property:
            question.family = request.family ?? false
        case .medicalInsurance:
            break
        }
        return .success(question)
    }

    /// The question scope a kind of certificate discloses.
    static func scope(of kind: CertificateKind) -> APIScope {
        switch kind {
        case .kinship: .kinship
        case .socialInsurance: .socialInsurance
        case .property: .property
        case .medicalInsurance: .medicalInsurance
        }
    }

    /// The server has no hub key: 503, audited.
    private func certificatesNotConfigured(_ asking: Asking) async throws -> Refusal {
        try await refuse(
            asking.access, asking.question, asking.subjects, "certificates-not-configured",
            "Certificates not configured", "this server has no hub key to sign certificates with",
            onBehalfOf: asking.requestedBy, status: 503)
    }

    /// The API's view of a stored certificate.
    func issued(_ certificate: StoredCertificate, hub: CertificateHub) throws -> Components.Schemas.IssuedCertificate {
        Components.Schemas.IssuedCertificate(
            id: certificate.id.uuidString.lowercased(),
            kind: certificate.kind,
            asOfCertificate: certificate.asOf != nil, verificationUrl: hub.pageURL(certificate.id),
            status: Self.status(certificate.id, certificate.status),
            credential: try JSONDecoder().decode(
                Components.Schemas.Credential.self, from: Data(certificate.credential.utf8)))
    }

    /// The API's view of a status.
    static func status(_ id: UUID, _ status: StoredStatus) -> Components.Schemas.CertificateStatus {
        Components.Schemas.CertificateStatus(
            id: id.uuidString.lowercased(),
            status: Components.Schemas.CertificateStatus.StatusPayload(rawValue: status.state.rawValue) ?? .valid,
            reason: status.reason, changedAt: status.changedAt,
            causedBy: status.causedBy?.uuidString.lowercased(), changedBy: status.changedBy)
    }

    // MARK: - The issuing client's certificates

    /// A certificate the calling client issued, after the checks every such request starts with (token, client, scope,
    /// purpose, rate; the server issues certificates; the certificate exists and is the caller's). Refusals are
    /// audited.
    private struct OwnCertificate {
        var access: Authorizer.Access
        var services: CertificateServices
        var certificate: StoredCertificate
    }

    private func ownCertificate(_ name: String, purpose: String, id text: String) async throws
        -> Result<OwnCertificate, Refusal>
    {
        let access: Authorizer.Access
        switch try await admit(name, scope: .certificates, purpose: purpose, subjects: []) {
        case .success(let granted): access = granted
        case .failure(let refusal): return .failure(refusal)
        }
        guard let services = certificates else {
            return .failure(
                try await refuse(
                    access, name, [], "certificates-not-configured", "Certificates not configured",
                    "this server has no hub key to sign certificates with", status: 503))
        }
        guard let id = UUID(uuidString: text), let certificate = try await services.store.certificate(id),
            certificate.clientID == access.client.id
        else {
            return .failure(
                try await refuse(
                    access, name, [], "certificate-not-found", "No such certificate",
                    "this client issued no certificate with this id", status: 404))
        }
        return .success(OwnCertificate(access: access, services: services, certificate: certificate))
    }

    /// `GET /v1/certificates/{id}`: a certificate this client issued.
    func getCertificate(_ input: Operations.GetCertificate.Input) async throws -> Operations.GetCertificate.Output {
        do {
            let name = "certificate"
            let own: OwnCertificate
            switch try await ownCertificate(name, purpose: input.headers.tongbanPurpose, id: input.path.id) {
            case .success(let found): own = found
            case .failure(let refusal): return .refused(refusal)
            }
            let certificate = own.certificate
            try await answered(
                own.access, name, [certificate.question.subject],
                summary: "read \(certificate.id.uuidString.lowercased())")
            return .ok(.init(body: .json(try issued(certificate, hub: own.services.hub))))
        } catch { throw HandlerFailure(underlying: error) }
    }

    /// `POST /v1/certificates/{id}/status`: the issuing client revokes, suspends or reinstates, with a reason.
    func changeCertificateStatus(_ input: Operations.ChangeCertificateStatus.Input) async throws
        -> Operations.ChangeCertificateStatus.Output
    {
        do {
            let name = "certificate-status"
            let request: Components.Schemas.StatusChangeRequest
            switch input.body {
            case .json(let body): request = body
            }
            let own: OwnCertificate
            switch try await ownCertificate(name, purpose: input.headers.tongbanPurpose, id: input.path.id) {
            case .success(let found): own = found
            case .failure(let refusal): return .refused(refusal)
            }
            let (access, certificate) = (own.access, own.certificate)
            let id = certificate.id
            let subjects = [certificate.question.subject]
            // The reason is shown on the public page and in the list: one line of plain text, up to 500 characters.
            let reason = request.reason.trimmingCharacters(in: .whitespaces)
            guard !reason.isEmpty, reason.count <= 500,
                !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else {
                return .refused(
                    try await refuse(
                        access, name, subjects, "invalid-reason", "Invalid reason",
                        "give a reason in plain words: one line, at most 500 characters"))
            }
            let change = CertificateStore.Change(rawValue: request.action.rawValue) ?? .revoke
            let changed = try await own.services.store.apply(
                change, to: id, reason: reason, by: "client:\(access.client.id)")
            guard changed else {
                let detail =
                    certificate.status.state == .revoked
                    ? "the certificate is revoked: that is final"
                    : "the certificate is already \(certificate.status.state.rawValue)"
                return .refused(
                    try await refuse(
                        access, name, subjects, "status-unchanged", "Status unchanged", detail, status: 409))
            }
            try await answered(access, name, subjects, summary: "\(change.rawValue) \(id.uuidString.lowercased())")
            let now = try await own.services.store.certificate(id)?.status ?? certificate.status
            return .ok(.init(body: .json(Self.status(id, now))))
        } catch { throw HandlerFailure(underlying: error) }
    }

    // MARK: - Public: status lists, keys, verification

    /// `GET /v1/status-lists/{n}`.
    func getStatusList(_ input: Operations.GetStatusList.Input) async throws -> Operations.GetStatusList.Output {
        do {
            guard let services = certificates else {
                return .notFound(
                    .init(
                        body: .applicationProblemJson(
                            Problems.problem(
                                status: 404, code: "status-list-not-found", title: "No such status list",
                                detail: "this server issues no certificates"))))
            }
            guard input.path.n > 0, let list = try await services.lists.list(input.path.n) else {
                return .notFound(
                    .init(
                        body: .applicationProblemJson(
                            Problems.problem(
                                status: 404, code: "status-list-not-found", title: "No such status list",
                                detail: "there is no status list \(input.path.n)"))))
            }
            let cacheControl = "public, max-age=\(services.hub.statusListMaxAge)"
            if let tags = input.headers.ifNoneMatch,
                tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == list.etag })
            {
                return .notModified(.init(headers: .init(eTag: list.etag, cacheControl: cacheControl)))
            }
            return .ok(
                .init(
                    headers: .init(eTag: list.etag, cacheControl: cacheControl),
                    body: .json(
                        try JSONDecoder().decode(Components.Schemas.Credential.self, from: Data(list.body.utf8)))))
        } catch { throw HandlerFailure(underlying: error) }
    }

    /// `GET /.well-known/did.json`.
    func getDIDDocument(_ input: Operations.GetDIDDocument.Input) async throws -> Operations.GetDIDDocument.Output {
        let document: JSONValue =
            certificates.map { $0.hub.didWeb.didDocument(for: $0.hub.keys) } ?? .object(JSONObject())
        return .ok(
            .init(
                headers: .init(cacheControl: "public, max-age=300"),
                body: .json(
                    try JSONDecoder().decode(Components.Schemas.Credential.self, from: Data(document.serialized)))
            ))
    }

    /// `GET /.well-known/jwks.json`.
    func getHubJWKS(_ input: Operations.GetHubJWKS.Input) async throws -> Operations.GetHubJWKS.Output {
        let keys: JSONValue =
            certificates.map { $0.hub.didWeb.jwks(for: $0.hub.keys) } ?? .members([("keys", .array([]))])
        return .ok(
            .init(
                headers: .init(cacheControl: "public, max-age=300"),
                body: .json(try JSONDecoder().decode(Components.Schemas.Credential.self, from: Data(keys.serialized)))))
    }

    /// `POST /v1/verify`: checks any certificate; audited (a verification reads a certificate's status).
    func verifyCertificate(_ input: Operations.VerifyCertificate.Input) async throws
        -> Operations.VerifyCertificate.Output
    {
        do {
            let name = "verify"
            let request: Components.Schemas.VerificationRequest
            switch input.body {
            case .json(let body): request = body
            }
            guard let services = certificates else {
                try await record(
                    client: "-", purpose: "-", question: name, status: 503, outcome: .refused,
                    summary: "certificates-not-configured")
                return .serviceUnavailable(
                    .init(
                        headers: .init(retryAfter: 60),
                        body: .applicationProblemJson(
                            Problems.problem(
                                status: 503, code: "certificates-not-configured", title: "Certificates not configured",
                                detail: "this server has no hub key"))))
            }
            let credential = try Self.jsonObject(request.credential)
            let lists = try (request.statusLists ?? []).map(Self.jsonObject)
            let verdict: CredentialVerifier.Verdict
            do {
                verdict = try await services.verifier.verify(credential, statusLists: lists)
            } catch let refusal as CredentialVerifier.Refusal {
                try await record(
                    client: "-", purpose: "-", question: name, status: 400, outcome: .refused, summary: refusal.code)
                return .badRequest(
                    .init(
                        body: .applicationProblemJson(
                            Problems.problem(
                                status: 400, code: refusal.code, title: refusal.title, detail: refusal.detail))))
            }
            try await record(
                client: "-", purpose: "-", subjects: verdict.subjects, question: name, status: 200, outcome: .answered,
                summary: verdict.verified ? "valid" : "not valid: \(verdict.failed.joined(separator: ","))")
            return .ok(
                .init(
                    body: .json(
                        Components.Schemas.VerificationResult(
                            verified: verdict.verified, id: verdict.id,
                            checks: verdict.checks.map {
                                .init(
                                    check: .init(rawValue: $0.check.rawValue) ?? .signature, passed: $0.passed,
                                    detail: $0.detail)
                            },
                            status: verdict.certificate.map { Self.status($0.id, $0.status) }))))
        } catch { throw HandlerFailure(underlying: error) }
    }

    /// The JSON of a request's free-form object, parsed by the project's own parser (numbers kept as written).
    static func jsonObject(_ credential: Components.Schemas.Credential) throws -> JSONObject {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let value = try JSONParser.parse(Array(try encoder.encode(credential)))
        return value.objectValue ?? JSONObject()
    }

    /// `GET /verify/{id}`: the public page; audited (it shows a certificate's people, masked).
    func verificationPage(_ input: Operations.VerificationPage.Input) async throws
        -> Operations.VerificationPage.Output
    {
        do {
            let name = "verify-page"
            guard let services = certificates, let id = UUID(uuidString: input.path.id),
                let certificate = try await services.store.certificate(id)
            else {
                try await record(
                    client: "-", purpose: "-", question: name, status: 404, outcome: .refused, summary: "not found")
                return .notFound(
                    .init(body: .html(HTTPBody(VerificationPage.notFoundHTML(certificateID: input.path.id)))))
            }
            try await record(
                client: "-", purpose: "-", subjects: [certificate.question.subject], question: name, status: 200,
                outcome: .answered, summary: "\(certificate.status.state.rawValue) \(id.uuidString.lowercased())")
            let html = VerificationPage.html(try CertificatePageModel.make(certificate, hub: services.hub))
            return .ok(.init(body: .html(HTTPBody(html))))
        } catch { throw HandlerFailure(underlying: error) }
    }
}

extension Operations.IssueCertificate.Output: QuestionOutput {}

/// The responses of the operations on one certificate can refuse with (the generated enum cases witness these).
protocol CertificateOutput {
    static func badRequest(_ response: Components.Responses.Problem) -> Self
    static func unauthorized(_ response: Components.Responses.Problem) -> Self
    static func forbidden(_ response: Components.Responses.Problem) -> Self
    static func notFound(_ response: Components.Responses.Problem) -> Self
    static func tooManyRequests(_ response: Components.Responses.RateLimited) -> Self
    static func undocumented(statusCode: Int, _ payload: UndocumentedPayload) -> Self
    /// The response for a status only this operation documents (409 for a status change), if any.
    static func particular(_ refusal: CertificateServicesAPI.Refusal) -> Self?
}

extension CertificateOutput {
    /// A refusal as this operation's response.
    static func refused(_ refusal: CertificateServicesAPI.Refusal) -> Self {
        let body = Components.Responses.Problem(body: .applicationProblemJson(refusal.problem))
        switch refusal.status {
        case 400: return .badRequest(body)
        case 401: return .unauthorized(body)
        case 403: return .forbidden(body)
        case 404: return .notFound(body)
        case 429:
            return .tooManyRequests(
                .init(headers: .init(retryAfter: refusal.retryAfter), body: .applicationProblemJson(refusal.problem)))
        default: return particular(refusal) ?? .undocumented(statusCode: refusal.status, .init())
        }
    }
}

extension Operations.GetCertificate.Output: CertificateOutput {
    static func particular(_ refusal: CertificateServicesAPI.Refusal) -> Self? { nil }
}

extension Operations.ChangeCertificateStatus.Output: CertificateOutput {
    static func particular(_ refusal: CertificateServicesAPI.Refusal) -> Self? {
        refusal.status == 409 ? .conflict(.init(body: .applicationProblemJson(refusal.problem))) : nil
    }
}
