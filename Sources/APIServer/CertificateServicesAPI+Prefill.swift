import API
import Events
import Foundation
import Postgres

/// The pre-fill question (`askPrefill`): the verified attributes a form asks for, each with its source.
extension CertificateServicesAPI {
    /// Answers `GET /v1/prefill`.
    /// - Parameter input: the request, as the generated code read it.
    /// - Returns: the answer, or a refusal as an RFC 9457 problem.
    /// - Throws: ``HandlerFailure`` when the database or the audit log fails (a 500 or 503 from the middleware).
    func askPrefill(_ input: Operations.AskPrefill.Input) async throws -> Operations.AskPrefill.Output {
        do { return try await answerPrefill(input) } catch { throw HandlerFailure(underlying: error) }
    }

    /// Checks the request, asks the views in one statement, audits, answers.
    private func answerPrefill(_ input: Operations.AskPrefill.Input) async throws -> Operations.AskPrefill.Output {
        let question = "prefill"
        let subject = input.query.subject
        let subjects = CitizenID.problem(with: subject) == nil ? [subject] : []
        let access: Authorizer.Access
        switch try await admit(question, scope: .prefill, purpose: input.headers.tongbanPurpose, subjects: subjects) {
        case .success(let granted): access = granted
        case .failure(let refusal): return .refused(refusal)
        }
        if let why = CitizenID.problem(with: subject) {
            return .refused(
                try await refuse(
                    access, question, subjects, "invalid-citizen-id", "Invalid citizen ID",
                    "subject: \(Problems.plain(why))"))
        }
        let fields: [Components.Schemas.PrefillField]
        switch PrefillQuestion.fields(input.query.fields) {
        case .success(let asked): fields = asked
        case .failure(let unknown):
            let known = PrefillQuestion.allFields.map(\.rawValue).joined(separator: ", ")
            return .refused(
                try await refuse(
                    access, question, subjects, "unknown-field", "Unknown field",
                    "fields: \"\(Problems.plain(String(unknown.name.prefix(40))))\" is not one of \(known)"))
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
        let answer = try await PrefillQuestion().ask(
            subject: subject, asOf: day.description, fields: fields, on: database)
        guard answer.ready else {
            return .refused(try await notReady(access, question, subjects, onBehalfOf: requestedBy))
        }
        // Field names and counts only: the values stay out of the audit log.
        let summary =
            answer.known
            ? "fields=\(answer.attributes.map(\.field.rawValue).joined(separator: ",")); "
                + "conflicts=\(answer.conflicts.count)"
            : "not known"
        try await answered(access, question, subjects, summary: summary, onBehalfOf: requestedBy)
        return .ok(
            .init(
                body: .json(
                    .init(
                        subject: subject, asOf: day.description, known: answer.known,
                        deceased: answer.dateOfDeath != nil, dateOfDeath: answer.dateOfDeath,
                        attributes: answer.attributes, conflicts: answer.conflicts, evidence: answer.evidence,
                        streamPosition: answer.streamPosition))))
    }
}

extension Operations.AskPrefill.Output: QuestionOutput {}
