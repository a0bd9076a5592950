import API
import Events

extension CertificateServicesAPI {
    /// `GET /v1/medical-insurance`: the enrollment, e-vouchers and cross-region care filings in force on a day, and
    /// whether a filing covers `region` when it is given.
    /// - Parameter input: the query and headers.
    /// - Returns: the answer, or a refusal (audited either way).
    /// - Throws: ``HandlerFailure`` when the database or the audit log fails.
    func askMedicalInsurance(
        _ input: Operations.AskMedicalInsurance.Input
    ) async throws -> Operations.AskMedicalInsurance.Output {
        do { return try await answerMedicalInsurance(input) } catch { throw HandlerFailure(underlying: error) }
    }

    /// Checks the caller and the parameters, asks the views, and audits the answer.
    private func answerMedicalInsurance(
        _ input: Operations.AskMedicalInsurance.Input
    ) async throws -> Operations.AskMedicalInsurance.Output {
        let question = "medical-insurance"
        let subject = input.query.subject
        let subjects = CitizenID.problem(with: subject) == nil ? [subject] : []
        let access: Authorizer.Access
        switch try await admit(
            question, scope: .medicalInsurance, purpose: input.headers.tongbanPurpose, subjects: subjects)
        {
        case .success(let granted): access = granted
        case .failure(let refusal): return .refused(refusal)
        }
        if let why = CitizenID.problem(with: subject) {
            return .refused(
                try await refuse(
                    access, question, subjects, "invalid-citizen-id", "Invalid citizen ID",
                    "subject: \(Problems.plain(why))"))
        }
        let day: CivilDate
        do { day = try self.day(asOf: input.query.asOf) } catch {
            return .refused(try await refuse(access, question, subjects, error))
        }
        // The generated server does not enforce the schema's pattern: six ASCII digits, checked here.
        if let region = input.query.region, !Self.isRegionCode(region) {
            return .refused(
                try await refuse(
                    access, question, subjects, "invalid-region-code", "Invalid region code",
                    "region must be a region code of six digits (GB/T 2260), e.g. 110101"))
        }
        let requestedBy: String?
        switch try await requester(
            input.headers.tongbanRequestedBy, for: subject, on: day, access: access, question: question,
            subjects: subjects)
        {
        case .success(let who): requestedBy = who
        case .failure(let refusal): return .refused(refusal)
        }
        let answer = try await MedicalInsuranceQuestion().ask(
            subject: subject, asOf: day.description, region: input.query.region, on: database)
        guard answer.ready else {
            return .refused(try await notReady(access, question, subjects, onBehalfOf: requestedBy))
        }
        var summary = answer.enrollment.map { "enrolled \($0.scheme.rawValue)" } ?? "not enrolled"
        summary += ", \(answer.vouchers.count) voucher(s), \(answer.filings.count) filing(s)"
        if let coverage = answer.coverage { summary += coverage.covered ? ", region covered" : ", region not covered" }
        try await answered(access, question, subjects, summary: summary, onBehalfOf: requestedBy)
        return .ok(
            .init(
                body: .json(
                    .init(
                        subject: subject, asOf: day.description, enrolled: answer.enrollment != nil,
                        enrollment: answer.enrollment, vouchers: answer.vouchers, filings: answer.filings,
                        coverage: answer.coverage, evidence: answer.evidence, streamPosition: answer.streamPosition))))
    }

    /// Whether `text` is a region code: exactly six ASCII digits.
    /// - Parameter text: the parameter as sent.
    /// - Returns: whether it is well-formed.
    static func isRegionCode(_ text: String) -> Bool {
        text.utf8.count == 6 && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}

extension Operations.AskMedicalInsurance.Output: QuestionOutput {}
