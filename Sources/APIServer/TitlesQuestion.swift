import Foundation
import Postgres

/// "Which titles does `subject` (or their family) hold on `asOf`?", answered from `tongban.titles_as_of()`,
/// `tongban.encumbrances_as_of()` and `tongban.v_title` in one statement, so that the family, the titles, their
/// evidence, the checkpoints and `view_state()` come from one snapshot of the database.
///
/// The family on `asOf` is the subject, their spouse that day (`tongban.marriages_of()`) and their children by birth
/// or by an adoption in force (`tongban.parentage_by_parent()`, as `tongban.children_of()` has them) who are born,
/// under 18 and living that day (`tongban.v_identity`).
struct TitlesQuestion: Sendable {
    /// What the views said.
    struct Answer: Sendable {
        /// Whether the views can be certified from (`view_state().ready`).
        var ready: Bool
        /// The people whose titles were looked up: the subject first, then the spouse, then the children.
        var members: [Components.Schemas.FamilyMember]
        /// The titles they hold, by title number and holder.
        var titles: [Components.Schemas.HeldTitle]
        var evidence: [Components.Schemas.Evidence]
        var streamPosition: [Components.Schemas.StreamPosition]
    }

    /// The view group whose checkpoints say what the answer reflects.
    var viewGroup = "tongban.views"

    /// Asks the views.
    /// - Parameters:
    ///   - subject: the citizen the question is about (checked).
    ///   - asOf: the day, `YYYY-MM-DD` (checked).
    ///   - family: whether to look up the spouse and minor children too.
    ///   - database: the pool.
    /// - Returns: the answer.
    /// - Throws: `PostgresError`, or a `DecodingError` if the views answered something unexpected.
    func ask(subject: String, asOf: String, family: Bool, on database: PostgresClient) async throws -> Answer {
        let rows = try await database.query(
            """
            WITH spouse AS MATERIALIZED (
                SELECT CASE WHEN m.spouse_a_id = \(subject) THEN m.spouse_b_id ELSE m.spouse_a_id END AS person_id,
                    array_agg(DISTINCT m.event_id ORDER BY m.event_id) AS evidence
                FROM tongban.marriages_of(\(subject)) m
                WHERE \(family) AND m.married_on <= \(asOf)::date AND (m.ended_on IS NULL OR \(asOf)::date < m.ended_on)
                GROUP BY 1
            ), child AS MATERIALIZED (
                SELECT c.child_id AS person_id,
                    CASE WHEN bool_or(c.basis = 'birth') THEN 'birth' ELSE 'adoption' END AS basis,
                    array_agg(DISTINCT e ORDER BY e) AS evidence
                FROM (
                    SELECT p.child_id, p.basis, ARRAY[p.event_id] AS evidence
                    FROM tongban.parentage_by_parent(\(subject)) p
                    WHERE p.valid_from <= \(asOf)::date AND (p.valid_until IS NULL OR \(asOf)::date < p.valid_until)
                ) c
                CROSS JOIN LATERAL unnest(c.evidence) e
                LEFT JOIN LATERAL (
                    SELECT i.birth_date, i.date_of_death FROM tongban.v_identity i WHERE i.person_id = c.child_id
                ) i ON true
                CROSS JOIN LATERAL (
                    SELECT coalesce(i.birth_date, to_date(substr(c.child_id, 7, 8), 'YYYYMMDD')) AS born
                ) b
                WHERE \(family) AND c.child_id <> \(subject)
                    AND b.born <= \(asOf)::date AND \(asOf)::date < b.born + interval '18 years'
                    AND (i.date_of_death IS NULL OR \(asOf)::date < i.date_of_death)
                GROUP BY c.child_id
            ), member AS MATERIALIZED (
                SELECT \(subject)::text AS person_id, 'self' AS role, NULL::text AS basis, '{}'::uuid[] AS evidence,
                    0 AS rank
                UNION ALL
                SELECT s.person_id, 'spouse', 'marriage', s.evidence, 1 FROM spouse s WHERE s.person_id <> \(subject)
                UNION ALL
                SELECT c.person_id, 'minor-child', c.basis, c.evidence, 2
                FROM child c WHERE c.person_id NOT IN (SELECT person_id FROM spouse)
            ), held AS MATERIALIZED (
                SELECT o.title_number, o.person_id, o.share, o.co_ownership, o.certificate_number, o.acquired_by,
                    o.owned_from, v.property_region, v.address, v.area_square_meters, v.use,
                    ARRAY(SELECT DISTINCT x FROM unnest(ARRAY[v.event_id, o.event_id]) x
                        WHERE x IS NOT NULL ORDER BY x) AS evidence
                FROM member mb
                CROSS JOIN LATERAL tongban.titles_as_of(mb.person_id, \(asOf)::date) o
                LEFT JOIN LATERAL (
                    SELECT * FROM tongban.v_title t WHERE t.title_number = o.title_number
                ) v ON true
            ), burden AS MATERIALIZED (
                SELECT DISTINCT ON (e.title_number, e.kind, e.record_number)
                    e.title_number, e.kind, e.record_number, e.holder, e.amount, e.case_number, e.registered_on,
                    e.valid_to, e.event_id
                FROM member mb
                CROSS JOIN LATERAL tongban.encumbrances_as_of(mb.person_id, \(asOf)::date) e
                ORDER BY e.title_number, e.kind, e.record_number
            ), cited AS (
                SELECT DISTINCT id FROM (
                    SELECT unnest(evidence) AS id FROM member
                    UNION ALL SELECT unnest(evidence) FROM held
                    UNION ALL SELECT event_id FROM burden) x
            ), view_group(name) AS (
                SELECT \(viewGroup)::text
            )
            SELECT s.ready,
                coalesce((SELECT json_agg(json_strip_nulls(json_build_object('personId', mb.person_id,
                    'role', mb.role, 'basis', mb.basis, 'evidence', mb.evidence)) ORDER BY mb.rank, mb.person_id)
                    FROM member mb), '[]')::text,
                coalesce((SELECT json_agg(json_strip_nulls(json_build_object('titleNumber', h.title_number,
                    'holderId', h.person_id, 'share', h.share, 'coOwnership', h.co_ownership,
                    'certificateNumber', h.certificate_number, 'acquiredBy', h.acquired_by,
                    'ownedFrom', to_char(h.owned_from, 'YYYY-MM-DD'), 'region', h.property_region,
                    'address', h.address, 'areaSquareMeters', h.area_square_meters::text, 'use', h.use,
                    'encumbrances', coalesce((SELECT json_agg(json_build_object('kind', b.kind,
                        'recordNumber', b.record_number, 'holder', b.holder, 'amount', b.amount::text,
                        'caseNumber', b.case_number, 'registeredOn', to_char(b.registered_on, 'YYYY-MM-DD'),
                        'validTo', to_char(b.valid_to, 'YYYY-MM-DD'), 'eventId', b.event_id)
                        ORDER BY b.registered_on, b.kind, b.record_number)
                        FROM burden b WHERE b.title_number = h.title_number), '[]'),
                    'evidence', h.evidence)) ORDER BY h.title_number, h.person_id) FROM held h), '[]')::text,
                \(unescaped: ViewsJSON.citedEvidenceAndPositions)
            FROM tongban.view_state() s
            """)
        let row = rows[0]
        let json = ViewsJSON()
        return Answer(
            ready: try row.decode(Bool.self, at: 0), members: try json.decode(try row.decode(String.self, at: 1)),
            titles: try json.decode(try row.decode(String.self, at: 2)),
            evidence: try json.decode(try row.decode(String.self, at: 3)),
            streamPosition: try json.decode(try row.decode(String.self, at: 4)))
    }
}
