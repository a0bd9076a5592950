import Foundation
import Postgres

/// "How is `relative` related to `subject` on `asOf`?", answered from `tongban.relations_between()` in one statement, so that
/// the relations, their evidence, the checkpoints and `view_state()` come from one snapshot of the database.
struct KinshipQuestion: Sendable {
    /// What the views said.
    struct Answer: Sendable {
        /// Whether the views can be certified from (`view_state().ready`).
        var ready: Bool
        var relations: [Components.Schemas.Relation]
        var evidence: [Components.Schemas.Evidence]
        var streamPosition: [Components.Schemas.StreamPosition]
    }

    /// The view group whose checkpoints say what the answer reflects.
    var viewGroup = "tongban.views"

    /// Asks the views.
    /// - Parameters:
    ///   - subject: the citizen the question is about (checked).
    ///   - relative: the other citizen (checked).
    ///   - asOf: the day, `YYYY-MM-DD` (checked).
    ///   - database: the pool.
    /// - Returns: the answer.
    /// - Throws: `PostgresError`, or a `DecodingError` if the views answered something unexpected.
    func ask(subject: String, relative: String, asOf: String, on database: PostgresClient) async throws -> Answer {
        let rows = try await database.query(
            """
            WITH r AS MATERIALIZED (
                SELECT relation, basis, via, evidence
                FROM tongban.relations_between(\(subject), \(relative), \(asOf)::date)
            ), cited AS (
                SELECT DISTINCT unnest(evidence) AS id FROM r
            ), view_group(name) AS (
                SELECT \(viewGroup)::text
            )
            SELECT s.ready,
                coalesce((SELECT json_agg(json_build_object('relation', r.relation, 'basis', r.basis,
                    'via', r.via, 'evidence', r.evidence) ORDER BY r.relation, r.basis) FROM r), '[]')::text,
                \(unescaped: ViewsJSON.citedEvidenceAndPositions)
            FROM tongban.view_state() s
            """)
        let row = rows[0]
        let json = ViewsJSON()
        return Answer(
            ready: try row.decode(Bool.self, at: 0), relations: try json.decode(try row.decode(String.self, at: 1)),
            evidence: try json.decode(try row.decode(String.self, at: 2)),
            streamPosition: try json.decode(try row.decode(String.self, at: 3)))
    }
}
