import Foundation
import Postgres

/// "Which months of social insurance did `subject` pay from `from` to `to`?", answered from
/// `tongban.contribution_summary()` and `tongban.v_si_enrollment` in one statement (one snapshot, with the
/// checkpoints and `view_state()`).
struct ContributionQuestion: Sendable {
    /// What the views said.
    struct Answer: Sendable {
        var ready: Bool
        var insurance: [Components.Schemas.ContributionSummary]
        var enrollments: [Components.Schemas.Enrollment]
        var evidence: [Components.Schemas.Evidence]
        var streamPosition: [Components.Schemas.StreamPosition]
    }

    /// The view group whose checkpoints say what the answer reflects.
    var viewGroup = "tongban.views"

    /// Asks the views.
    /// - Parameters:
    ///   - subject: the citizen (checked).
    ///   - from: the first month, `YYYY-MM` (checked).
    ///   - to: the last month, `YYYY-MM` (checked).
    ///   - database: the pool.
    /// - Returns: the answer.
    /// - Throws: `PostgresError`, or a `DecodingError` if the views answered something unexpected.
    func ask(subject: String, from: String, to: String, on database: PostgresClient) async throws -> Answer {
        let rows = try await database.query(
            """
            WITH s AS MATERIALIZED (
                SELECT * FROM tongban.contribution_summary(\(subject), (\(from) || '-01')::date, (\(to) || '-01')::date)
            ), en AS MATERIALIZED (
                SELECT insurance_type, region_code, start_month, end_month, event_id FROM tongban.v_si_enrollment
                WHERE person_id = \(subject) AND start_month <= (\(to) || '-01')::date
                    AND (end_month IS NULL OR end_month >= (\(to) || '-01')::date)
            ), cited AS (
                SELECT DISTINCT id FROM (SELECT unnest(evidence) AS id FROM s UNION ALL SELECT event_id FROM en) x
            ), view_group(name) AS (
                SELECT \(viewGroup)::text
            )
            SELECT v.ready,
                coalesce((SELECT json_agg(json_build_object('insuranceType', s.insurance_type,
                    'monthsPaid', s.months_paid, 'firstMonth', to_char(s.first_month, 'YYYY-MM'),
                    'lastMonth', to_char(s.last_month, 'YYYY-MM'),
                    'unpaidMonths', ARRAY(SELECT to_char(u, 'YYYY-MM') FROM unnest(s.unpaid_months) u ORDER BY u),
                    'longestRun', s.longest_run, 'continuous', s.continuous, 'evidence', s.evidence)
                    ORDER BY array_position(
                        ARRAY['pension', 'medical', 'unemployment', 'work-injury', 'maternity'], s.insurance_type))
                    FROM s), '[]')::text,
                coalesce((SELECT json_agg(json_strip_nulls(json_build_object('insuranceType', en.insurance_type,
                    'regionCode', en.region_code, 'startMonth', to_char(en.start_month, 'YYYY-MM'),
                    'endMonth', to_char(en.end_month, 'YYYY-MM'), 'eventId', en.event_id))
                    ORDER BY en.insurance_type, en.start_month) FROM en), '[]')::text,
                \(unescaped: ViewsJSON.citedEvidenceAndPositions)
            FROM tongban.view_state() v
            """)
        let row = rows[0]
        let json = ViewsJSON()
        return Answer(
            ready: try row.decode(Bool.self, at: 0),
            insurance: try json.decode(try row.decode(String.self, at: 1)),
            enrollments: try json.decode(try row.decode(String.self, at: 2)),
            evidence: try json.decode(try row.decode(String.self, at: 3)),
            streamPosition: try json.decode(try row.decode(String.self, at: 4)))
    }
}
