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
        let asking: Asking
        let fields: [Components.Schemas.PrefillField]
        switch try await begin(
            "prefill", scope: .prefill, purpose: input.headers.tongbanPurpose, subject: input.query.subject,
            asOf: input.query.asOf, requestedBy: input.headers.tongbanRequestedBy,
            minPosition: input.headers.tongbanMinPosition,
            parse: {
                PrefillQuestion.fields(input.query.fields).mapError { unknown in
                    let known = PrefillQuestion.allFields.map(\.rawValue).joined(separator: ", ")
                    return ParameterProblem(
                        code: "unknown-field", title: "Unknown field",
                        detail: "fields: \"\(Problems.plain(String(unknown.name.prefix(40))))\" is not one of \(known)")
                }
            })
        {
        case .success(let admitted): (asking, fields) = admitted
        case .failure(let refusal): return .refused(refusal)
        }
        let subject = asking.subject
        let day = asking.day
        let answer = try await PrefillQuestion().ask(
            subject: subject, asOf: day.description, fields: fields,
            on: database)
        guard answer.ready else { return .refused(try await notReady(asking)) }
        // Field names and counts only: the values stay out of the audit log.
        let summary =
            answer.known
            ? "fields=\(answer.attributes.map(\.field.rawValue).joined(separator: ",")); "
                + "conflicts=\(answer.conflicts.count)"
            : "not known"
        try await answered(asking, summary: summary)
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
