public import Postgres

/// The statements behind `GET /v1/kinship` and `GET /v1/prefill`, asked straight of the views: the same SQL on the
/// same kind of pool, decoded the same way, without HTTP, tokens or the audit log. `tongban bench serve` measures
/// them over as many connections as the server's pool has, to say how close the server comes to the database's own
/// limit.
public enum BareQuestions {
    /// Asks the kinship question as `GET /v1/kinship` does.
    /// - Parameters:
    ///   - subject: a citizen ID.
    ///   - relative: another citizen ID.
    ///   - asOf: the day, `YYYY-MM-DD`.
    ///   - database: the pool.
    /// - Returns: whether the views were ready (`view_state()`), as the answer says.
    /// - Throws: `PostgresError`, or a `DecodingError` when the views answer something unexpected.
    public static func kinship(
        subject: String, relative: String, asOf: String, on database: PostgresClient
    ) async throws -> Bool {
        try await KinshipQuestion().ask(subject: subject, relative: relative, asOf: asOf, on: database).ready
    }

    /// Asks the pre-fill question, every field, as `GET /v1/prefill` without `fields` does.
    /// - Parameters:
    ///   - subject: a citizen ID.
    ///   - asOf: the day, `YYYY-MM-DD`.
    ///   - database: the pool.
    /// - Returns: whether the views were ready (`view_state()`), as the answer says.
    /// - Throws: `PostgresError`, or a `DecodingError` when the views answer something unexpected.
    public static func prefill(subject: String, asOf: String, on database: PostgresClient) async throws -> Bool {
        try await PrefillQuestion().ask(subject: subject, asOf: asOf, fields: PrefillQuestion.allFields, on: database)
            .ready
    }
}
