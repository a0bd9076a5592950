import API
import Events

/// A question about a subject on a day that passed every check: who asks and why, about whom, for which day, and
/// who acts for the subject. Whatever happens next (the views not ready, the answer) is audited with these.
struct Asking: Sendable {
    /// The client, its token and its stated purpose.
    let access: Authorizer.Access
    /// The question's name in the audit log, e.g. `kinship`.
    let question: String
    /// The citizen the question is about.
    let subject: String
    /// Every citizen the request names (the subject first), for the audit log.
    let subjects: [String]
    /// The day the answer is for.
    let day: CivilDate
    /// The relative who acts for the subject (`Tongban-Requested-By`), if any.
    let requestedBy: String?
}

extension CertificateServicesAPI {
    /// The checks every question about a subject starts with, in order: the caller (token, client, scope, purpose,
    /// rate), the citizen IDs, the day (`asOf`, default today in Beijing), the question's own parameters, and who
    /// acts for the subject. Each refusal is audited.
    /// - Parameters:
    ///   - question: the question's name in the audit log.
    ///   - scope: the scope it needs.
    ///   - purpose: the `Tongban-Purpose` header.
    ///   - subject: the `subject` parameter.
    ///   - others: other citizen IDs the request names, with their parameter's name (the kinship `relative`).
    ///   - asOf: the `asOf` parameter.
    ///   - requestedBy: the `Tongban-Requested-By` header.
    ///   - minPosition: the `Tongban-Min-Position` header: once the parameters hold, the question waits until the
    ///     views include it (``reachPosition(_:access:question:subjects:)``).
    /// - Returns: the admitted question, or the refusal to answer with.
    /// - Throws: what the database or the audit log throws.
    func begin(
        _ question: String, scope: APIScope, purpose: String, subject: String,
        others: KeyValuePairs<String, String> = [:], asOf: String?, requestedBy: String?, minPosition: String?
    ) async throws -> Result<Asking, Refusal> {
        try await begin(
            question, scope: scope, purpose: purpose, subject: subject, others: others, asOf: asOf,
            requestedBy: requestedBy, minPosition: minPosition, parse: { .success(()) }
        ).map(\.asking)
    }

    /// ``begin(_:scope:purpose:subject:others:asOf:requestedBy:minPosition:)`` for a question with parameters of its
    /// own: `parse` reads them once the IDs and the day hold, and the question gets them back read.
    func begin<Parameters>(
        _ question: String, scope: APIScope, purpose: String, subject: String,
        others: KeyValuePairs<String, String> = [:], asOf: String?, requestedBy: String?, minPosition: String?,
        parse: () -> Result<Parameters, ParameterProblem>
    ) async throws -> Result<(asking: Asking, parameters: Parameters), Refusal> {
        let named = [("subject", subject)] + others.map { ($0.key, $0.value) }
        let subjects = named.map(\.1).filter { CitizenID.problem(with: $0) == nil }
        let access: Authorizer.Access
        switch try await admit(question, scope: scope, purpose: purpose, subjects: subjects) {
        case .success(let granted): access = granted
        case .failure(let refusal): return .failure(refusal)
        }
        for (name, id) in named {
            if let why = CitizenID.problem(with: id) {
                return .failure(
                    try await refuse(
                        access, question, subjects, "invalid-citizen-id", "Invalid citizen ID",
                        "\(name): \(Problems.plain(why))"))
            }
        }
        let day: CivilDate
        do { day = try self.day(asOf: asOf) } catch {
            return .failure(try await refuse(access, question, subjects, error))
        }
        let parameters: Parameters
        switch parse() {
        case .success(let read): parameters = read
        case .failure(let problem): return .failure(try await refuse(access, question, subjects, problem))
        }
        // Read-your-writes: before anything reads the views (the requester's kinship too).
        if let refusal = try await reachPosition(minPosition, access: access, question: question, subjects: subjects) {
            return .failure(refusal)
        }
        switch try await requester(
            requestedBy, for: subject, on: day, access: access, question: question, subjects: subjects)
        {
        case .success(let who):
            let asking = Asking(
                access: access, question: question, subject: subject, subjects: subjects, day: day, requestedBy: who)
            return .success((asking, parameters))
        case .failure(let refusal): return .failure(refusal)
        }
    }

    /// The views are being rebuilt (or nothing is projected yet): 503, audited.
    func notReady(_ asking: Asking) async throws -> Refusal {
        try await notReady(asking.access, asking.question, asking.subjects, onBehalfOf: asking.requestedBy)
    }

    /// An answered question, audited with a short summary naming no personal data beyond the subjects.
    /// - Parameters:
    ///   - asking: the question.
    ///   - summary: what was answered, in a few words.
    ///   - subjects: every citizen whose data the answer read, when more than the request named.
    func answered(_ asking: Asking, summary: String, subjects: [String]? = nil) async throws {
        try await answered(
            asking.access, asking.question, subjects ?? asking.subjects, summary: summary,
            onBehalfOf: asking.requestedBy)
    }
}
