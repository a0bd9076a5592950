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
        let region = input.query.region
        let asking: Asking
        switch try await begin(
            "medical-insurance", scope: .medicalInsurance, purpose: input.headers.tongbanPurpose,
            subject: input.query.subject, asOf: input.query.asOf, requestedBy: input.headers.tongbanRequestedBy,
            minPosition: input.headers.tongbanMinPosition,
            parse: {
                // The generated server does not enforce the schema's pattern: six ASCII digits, checked here.
                guard let region, !Self.isRegionCode(region) else { return .success(()) }
                return .failure(
                    ParameterProblem(
                        code: "invalid-region-code", title: "Invalid region code",
                        detail: "region must be a region code of six digits (GB/T 2260), e.g. 110101"))
            })
        {
        case .success(let admitted): asking = admitted.asking
        case .failure(let refusal): return .refused(refusal)
        }
        let subject = asking.subject
        let day = asking.day
        let answer = try await MedicalInsuranceQuestion().ask(
            subject: subject, asOf: day.description, region: input.query.region, on: database)
        guard answer.ready else { return .refused(try await notReady(asking)) }
        var summary = answer.enrollment.map { "enrolled \($0.scheme.rawValue)" } ?? "not enrolled"
        summary += ", \(answer.vouchers.count) voucher(s), \(answer.filings.count) filing(s)"
        if let coverage = answer.coverage { summary += coverage.covered ? ", region covered" : ", region not covered" }
        try await answered(asking, summary: summary)
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
