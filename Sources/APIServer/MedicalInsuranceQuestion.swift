import Foundation
import Postgres

/// "Is `subject` enrolled in medical insurance on `asOf`, with which e-vouchers and cross-region care filings, and does
/// a filing cover `region`?", answered from `tongban.medical_enrollment_as_of()`, `tongban.v_mi_voucher` and
/// `tongban.active_filings()` in one statement (one snapshot, with the checkpoints and `view_state()`).
struct MedicalInsuranceQuestion: Sendable {
    /// What the views said.
    struct Answer: Sendable {
        /// Whether the views can be certified from (`view_state().ready`).
        var ready: Bool
        /// The enrollment in force, if any.
        var enrollment: Components.Schemas.MedicalEnrollment?
        /// The e-vouchers activated on or before the day (Beijing time).
        var vouchers: [Components.Schemas.Voucher]
        /// The filings in force that day.
        var filings: [Components.Schemas.Filing]
        /// Whether a filing covers the region asked about (absent when none was asked about).
        var coverage: Components.Schemas.Coverage?
        var evidence: [Components.Schemas.Evidence]
        var streamPosition: [Components.Schemas.StreamPosition]
    }

    /// The view group whose checkpoints say what the answer reflects.
    var viewGroup = "tongban.views"

    /// Asks the views.
    /// - Parameters:
    ///   - subject: the citizen (checked).
    ///   - asOf: the day, `YYYY-MM-DD` (checked).
    ///   - region: a six-digit region code (checked) to check coverage for, or `nil`.
    ///   - database: the pool.
    /// - Returns: the answer.
    /// - Throws: `PostgresError`, or a `DecodingError` if the views answered something unexpected.
    func ask(subject: String, asOf: String, region: String?, on database: PostgresClient) async throws -> Answer {
        let rows = try await database.query(
            """
            WITH en AS MATERIALIZED (
                SELECT e.scheme, e.region_code, e.start_date, e.employer_id, e.event_id
                FROM tongban.medical_enrollment_as_of(\(subject), \(asOf)::date) e
            ), vo AS MATERIALIZED (
                SELECT v.voucher_id, v.activated_at, v.event_id
                FROM tongban.v_mi_voucher v
                WHERE v.person_id = \(subject) AND tongban.beijing_date(v.activated_at) <= \(asOf)::date
            ), fi AS MATERIALIZED (
                SELECT f.filing_id, f.from_region, f.to_region, f.category, f.valid_from, f.valid_to, f.event_id
                FROM tongban.active_filings(\(subject), \(asOf)::date) f
            ), asked AS MATERIALIZED (
                SELECT r AS region FROM (SELECT \(region)::text AS r) x WHERE r IS NOT NULL
            ), cover AS MATERIALIZED (
                -- A filing covers its own region, a prefecture's (code ending 00) its districts, a province's
                -- (code ending 0000) all of it.
                SELECT f.filing_id FROM fi f, asked a
                WHERE f.to_region = a.region
                    OR (f.to_region LIKE '%00' AND left(f.to_region, 4) = left(a.region, 4))
                    OR (f.to_region LIKE '%0000' AND left(f.to_region, 2) = left(a.region, 2))
            ), cited AS (
                SELECT DISTINCT id FROM (
                    SELECT event_id AS id FROM en
                    UNION ALL SELECT event_id FROM vo
                    UNION ALL SELECT event_id FROM fi) x
            ), view_group(name) AS (
                SELECT \(viewGroup)::text
            )
            SELECT s.ready,
                (SELECT json_strip_nulls(json_build_object('scheme', en.scheme, 'regionCode', en.region_code,
                    'startDate', to_char(en.start_date, 'YYYY-MM-DD'), 'employerId', en.employer_id,
                    'eventId', en.event_id)) FROM en LIMIT 1)::text,
                coalesce((SELECT json_agg(json_build_object('voucherId', vo.voucher_id,
                    'activatedAt', to_char(vo.activated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                    'eventId', vo.event_id) ORDER BY vo.activated_at, vo.voucher_id) FROM vo), '[]')::text,
                coalesce((SELECT json_agg(json_strip_nulls(json_build_object('filingId', fi.filing_id,
                    'fromRegion', fi.from_region, 'toRegion', fi.to_region, 'category', fi.category,
                    'validFrom', to_char(fi.valid_from, 'YYYY-MM-DD'), 'validTo', to_char(fi.valid_to, 'YYYY-MM-DD'),
                    'eventId', fi.event_id)) ORDER BY fi.filing_id) FROM fi), '[]')::text,
                (SELECT json_build_object('region', a.region, 'covered', EXISTS (SELECT 1 FROM cover),
                    'filingIds', coalesce((SELECT json_agg(c.filing_id ORDER BY c.filing_id) FROM cover c), '[]'))
                    FROM asked a)::text,
                \(unescaped: ViewsJSON.citedEvidenceAndPositions)
            FROM tongban.view_state() s
            """)
        let row = rows[0]
        let json = ViewsJSON()
        return Answer(
            ready: try row.decode(Bool.self, at: 0),
            enrollment: try row.decode(String?.self, at: 1).map { try json.decode($0) },
            vouchers: try json.decode(try row.decode(String.self, at: 2)),
            filings: try json.decode(try row.decode(String.self, at: 3)),
            coverage: try row.decode(String?.self, at: 4).map { try json.decode($0) },
            evidence: try json.decode(try row.decode(String.self, at: 5)),
            streamPosition: try json.decode(try row.decode(String.self, at: 6)))
    }
}
