import API
import Events

extension CertificateServicesAPI {
    /// `GET /v1/property/titles`: the titles the subject (or their family) holds on a day, with shares and
    /// encumbrances; `holdsProperty` false is the no-property answer.
    /// - Parameter input: the query and headers.
    /// - Returns: the answer, or a refusal (audited either way).
    /// - Throws: ``HandlerFailure`` when the database or the audit log fails.
    func askTitles(_ input: Operations.AskTitles.Input) async throws -> Operations.AskTitles.Output {
        do { return try await answerTitles(input) } catch { throw HandlerFailure(underlying: error) }
    }

    /// Checks the caller and the parameters, asks the views, and audits the answer with every person looked up.
    private func answerTitles(_ input: Operations.AskTitles.Input) async throws -> Operations.AskTitles.Output {
        let family = input.query.family ?? false
        let asking: Asking
        switch try await begin(
            "property", scope: .property, purpose: input.headers.tongbanPurpose, subject: input.query.subject,
            asOf: input.query.asOf, requestedBy: input.headers.tongbanRequestedBy,
            minPosition: input.headers.tongbanMinPosition)
        {
        case .success(let admitted): asking = admitted
        case .failure(let refusal): return .refused(refusal)
        }
        let subject = asking.subject
        let day = asking.day
        let answer = try await TitlesQuestion().ask(
            subject: subject, asOf: day.description, family: family, on: database)
        guard answer.ready else { return .refused(try await notReady(asking)) }
        // Everyone whose titles were read is a subject of the request (the family's spouse and children too).
        let looked = answer.members.map(\.personId)
        let summary =
            "\(family ? "family of \(looked.count)" : "person"): "
            + (answer.titles.isEmpty ? "no title" : "\(Set(answer.titles.map(\.titleNumber)).count) title(s)")
        try await answered(asking, summary: summary, subjects: [subject] + looked.filter { $0 != subject })
        return .ok(
            .init(
                body: .json(
                    .init(
                        subject: subject, asOf: day.description, family: family, members: answer.members,
                        holdsProperty: !answer.titles.isEmpty, titles: answer.titles, evidence: answer.evidence,
                        streamPosition: answer.streamPosition))))
    }
}

extension Operations.AskTitles.Output: QuestionOutput {}
