import Foundation
import Postgres

/// "What does a form about `subject` fill in, as of `asOf`?", answered in one statement from `tongban.v_identity`,
/// `tongban.v_identity_conflict`, `tongban.household_of()`, `tongban.v_household` and `tongban.marriages_of()`, so that
/// the attributes, the conflicts, their evidence, the checkpoints and `view_state()` come from one snapshot.
///
/// Every attribute is as of the end of `asOf` (the rule of the views): the register's records count from the day
/// they hold from (a registration from its registration day, a name change from its effective date), a household
/// membership and a marriage while they last, a death from its date. What each field answers, and from which event,
/// is described in schemas/openapi.yaml (`askPrefill`).
struct PrefillQuestion: Sendable {
    /// What the views said.
    struct Answer: Sendable {
        /// Whether the views can be certified from (`view_state().ready`).
        var ready: Bool
        /// Whether any department had recorded the person by `asOf`.
        var known: Bool
        /// The date of death, `YYYY-MM-DD`, if a death is registered on or before `asOf`.
        var dateOfDeath: String?
        var attributes: [Components.Schemas.PrefillAttribute]
        var conflicts: [Components.Schemas.AttributeConflict]
        var evidence: [Components.Schemas.Evidence]
        var streamPosition: [Components.Schemas.StreamPosition]
    }

    /// Every field, in the order answered when the client names none.
    static let allFields = Components.Schemas.PrefillField.allCases

    /// The view group whose checkpoints say what the answer reflects.
    var viewGroup = "tongban.views"

    /// The fields a `fields` parameter asks for: each once, in the order first named (all when it names none).
    /// - Parameter names: the parameter's values, as sent (`nil` when absent or empty).
    /// - Returns: the fields, or the first name that is not a field.
    static func fields(_ names: [String]?) -> Result<[Components.Schemas.PrefillField], UnknownField> {
        guard let names, !names.isEmpty else { return .success(allFields) }
        var fields: [Components.Schemas.PrefillField] = []
        for name in names {
            guard let field = Components.Schemas.PrefillField(rawValue: name) else {
                return .failure(UnknownField(name: name))
            }
            if !fields.contains(field) { fields.append(field) }
        }
        return .success(fields)
    }

    /// A name in `fields` that is not a field.
    struct UnknownField: Error {
        /// The name as sent.
        var name: String
    }

    /// Asks the views.
    /// - Parameters:
    ///   - subject: the citizen the question is about (checked).
    ///   - asOf: the day, `YYYY-MM-DD` (checked).
    ///   - fields: the fields to answer, each once, in the order to answer them.
    ///   - database: the pool.
    /// - Returns: the answer.
    /// - Throws: `PostgresError`, or a `DecodingError` if the views answered something unexpected.
    func ask(
        subject: String, asOf: String, fields: [Components.Schemas.PrefillField], on database: PostgresClient
    ) async throws -> Answer {
        let names = fields.map(\.rawValue)
        let rows = try await database.query(
            """
            WITH asked AS MATERIALIZED (
                SELECT f.field, f.n FROM unnest(\(names)::text[]) WITH ORDINALITY AS f(field, n)
            ), who AS MATERIALIZED (
                -- The person, if a department had recorded them by the day; a death after the day is not one yet.
                SELECT i.person_id, i.sex, i.birth_date, i.registration_event_id,
                    coalesce(i.registered_on <= \(asOf)::date, false) AS registered,
                    CASE WHEN i.date_of_death <= \(asOf)::date THEN i.date_of_death END AS date_of_death,
                    CASE WHEN i.date_of_death <= \(asOf)::date THEN i.death_event_id END AS death_event_id,
                    -- The day marital status is read on: the day asked, or the last day alive.
                    CASE WHEN i.date_of_death <= \(asOf)::date THEN i.date_of_death - 1 ELSE \(asOf)::date END
                        AS marital_day
                FROM tongban.v_identity i
                WHERE i.person_id = \(subject)
                    AND (i.date_of_death <= \(asOf)::date OR EXISTS (
                        SELECT 1 FROM tongban.identity_assertion a
                        WHERE a.person_id = i.person_id AND a.asserted_on <= \(asOf)::date))
            ), home AS MATERIALIZED (
                SELECT h.household_id, h.event_id
                FROM who CROSS JOIN LATERAL tongban.household_of(who.person_id, \(asOf)::date) h
            ), marital AS MATERIALIZED (
                -- The marriage in force (the latest), else the one that ended last and how it ended.
                SELECT CASE WHEN m.in_force THEN 'married' WHEN m.ended_by = 'divorce' THEN 'divorced'
                        ELSE 'widowed' END AS value,
                    CASE WHEN m.in_force THEN m.event_id ELSE m.end_event_id END AS event_id,
                    m.event_id AS marriage_event_id
                FROM who CROSS JOIN LATERAL (
                    SELECT v.event_id, v.end_event_id, v.ended_by, v.married_on, v.ended_on,
                        (v.ended_on IS NULL OR who.marital_day < v.ended_on) AS in_force
                    FROM tongban.marriages_of(\(subject)) v
                    WHERE v.married_on <= who.marital_day
                ) m
                ORDER BY m.in_force DESC, CASE WHEN m.in_force THEN m.married_on ELSE m.ended_on END DESC,
                    m.event_id DESC
                LIMIT 1
            ), attribute(field, value, event_id) AS (
                SELECT 'name', n.value, n.event_id
                FROM who CROSS JOIN LATERAL (
                    -- The registered name in force (the latest name change, else the registration), else for
                    -- someone the register does not know yet the name another department recorded last.
                    SELECT x.value, x.event_id FROM (
                        (SELECT c.new_name AS value, c.event_id, 1 AS rank FROM tongban.name_change c
                            WHERE c.person_id = who.person_id AND c.effective_on <= \(asOf)::date
                            ORDER BY c.effective_on DESC, c.effective_time DESC, c.event_id DESC LIMIT 1)
                        UNION ALL
                        SELECT r.name, r.event_id, 2 FROM tongban.v_registration r
                            WHERE r.person_id = who.person_id AND r.registered_on <= \(asOf)::date
                        UNION ALL
                        (SELECT a.value, a.event_id, 3 FROM tongban.identity_assertion a
                            WHERE a.person_id = who.person_id AND a.attribute = 'name'
                                AND a.asserted_on <= \(asOf)::date
                            ORDER BY a.asserted_at DESC, a.event_id DESC LIMIT 1)
                    ) x
                    ORDER BY x.rank LIMIT 1
                ) n
                UNION ALL
                SELECT 'formerNames',
                    coalesce(string_agg(c.previous_name, '、' ORDER BY c.effective_on, c.effective_time, c.event_id),
                        ''),
                    coalesce((array_agg(c.event_id ORDER BY c.effective_on DESC, c.effective_time DESC,
                        c.event_id DESC))[1], who.registration_event_id)
                FROM who
                LEFT JOIN tongban.name_change c ON c.person_id = who.person_id AND c.effective_on <= \(asOf)::date
                WHERE who.registered
                GROUP BY who.person_id, who.registration_event_id
                UNION ALL
                SELECT 'sex', who.sex, who.registration_event_id FROM who WHERE who.registered
                UNION ALL
                SELECT 'birthDate', to_char(who.birth_date, 'YYYY-MM-DD'), who.registration_event_id
                FROM who WHERE who.registered
                UNION ALL
                SELECT 'household', home.household_id, home.event_id FROM home
                UNION ALL
                SELECT 'address', h.address, h.event_id
                -- A value, not a join, so that the filter reaches inside the view (one household read, not all).
                FROM tongban.v_household h WHERE h.household_id = (SELECT home.household_id FROM home)
                UNION ALL
                SELECT 'maritalStatus', marital.value, marital.event_id FROM marital
                UNION ALL
                SELECT 'maritalStatus', 'unmarried', who.registration_event_id
                FROM who WHERE who.registered AND NOT EXISTS (SELECT 1 FROM marital)
                UNION ALL
                SELECT 'deceased', to_char(who.date_of_death, 'YYYY-MM-DD'), who.death_event_id
                FROM who WHERE who.date_of_death IS NOT NULL
            ), answered AS MATERIALIZED (
                SELECT a.field, a.value, a.event_id, asked.n
                FROM attribute a JOIN asked ON asked.field = a.field
            ), conflict AS MATERIALIZED (
                -- What other departments had recorded by the day, on the fields asked.
                SELECT c.*, asked.field, asked.n
                FROM tongban.v_identity_conflict c
                JOIN asked ON asked.field = CASE c.attribute WHEN 'birth_date' THEN 'birthDate' ELSE c.attribute END
                WHERE c.person_id = \(subject) AND EXISTS (SELECT 1 FROM who)
                    AND tongban.beijing_date(c.asserted_at) <= \(asOf)::date
            ), cited AS (
                SELECT event_id AS id FROM answered
                UNION SELECT event_id FROM conflict
                UNION SELECT registered_event_id FROM conflict
                UNION SELECT marriage_event_id FROM marital WHERE EXISTS (
                    SELECT 1 FROM asked WHERE field = 'maritalStatus')
                UNION SELECT death_event_id FROM who
            ), view_group(name) AS (
                SELECT \(viewGroup)::text
            )
            SELECT s.ready, EXISTS (SELECT 1 FROM who),
                (SELECT to_char(who.date_of_death, 'YYYY-MM-DD') FROM who),
                coalesce((SELECT json_agg(json_build_object('field', a.field, 'value', a.value,
                    'department', split_part(e.type, '.', 1), 'eventId', a.event_id,
                    'effectiveTime', to_char(e.effective_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                    ORDER BY a.n) FROM answered a JOIN tongban.event e ON e.event_id = a.event_id), '[]')::text,
                coalesce((SELECT json_agg(json_build_object('field', c.field, 'registeredValue', c.registered_value,
                    'assertedValue', c.asserted_value, 'department', c.department, 'eventType', c.event_type,
                    'eventId', c.event_id,
                    'assertedAt', to_char(c.asserted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                    ORDER BY c.n, c.asserted_at, c.event_id) FROM conflict c), '[]')::text,
                \(unescaped: ViewsJSON.citedEvidenceAndPositions)
            FROM tongban.view_state() s
            """)
        let row = rows[0]
        let json = ViewsJSON()
        return Answer(
            ready: try row.decode(Bool.self, at: 0), known: try row.decode(Bool.self, at: 1),
            dateOfDeath: try row.decode(String?.self, at: 2),
            attributes: try json.decode(try row.decode(String.self, at: 3)),
            conflicts: try json.decode(try row.decode(String.self, at: 4)),
            evidence: try json.decode(try row.decode(String.self, at: 5)),
            streamPosition: try json.decode(try row.decode(String.self, at: 6)))
    }
}
