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
        let question = "property"
        let subject = input.query.subject
        let family = input.query.family ?? false
        let subjects = CitizenID.problem(with: subject) == nil ? [subject] : []
        let access: Authorizer.Access
        switch try await admit(question, scope: .property, purpose: input.headers.tongbanPurpose, subjects: subjects) {
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
        let requestedBy: String?
        switch try await requester(
            input.headers.tongbanRequestedBy, for: subject, on: day, access: access, question: question,
            subjects: subjects)
        {
        case .success(let who): requestedBy = who
        case .failure(let refusal): return .refused(refusal)
        }
        let answer = try await TitlesQuestion().ask(
            subject: subject, asOf: day.description, family: family, on: database)
        guard answer.ready else {
            return .refused(try await notReady(access, question, subjects, onBehalfOf: requestedBy))
        }
        // Everyone whose titles were read is a subject of the request (the family's spouse and children too).
        let looked = answer.members.map(\.personId)
        let summary =
            "\(family ? "family of \(looked.count)" : "person"): "
            + (answer.titles.isEmpty ? "no title" : "\(Set(answer.titles.map(\.titleNumber)).count) title(s)")
        try await answered(
            access, question, [subject] + looked.filter { $0 != subject }, summary: summary, onBehalfOf: requestedBy)
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
