-- Tongban views, part 3: state derived from the facts. The v_* views and the functions below are the
-- read-only contract certificate services query (documented in README.md). "As of date D" means at the
-- end of day D: a fact effective on D holds on D; a period that ends on D (divorce, transfer, release,
-- cancellation from D, death) no longer holds on D. Periods are half-open: [from, until).

-- The Beijing calendar date of an instant (envelope times carry +08:00; fixed offset, no DST in China).
CREATE FUNCTION tongban.beijing_date(t timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((t AT TIME ZONE 'UTC') + interval '8 hours')::date;

-- ---------------------------------------------------------------------------------------------------
-- Identity
-- ---------------------------------------------------------------------------------------------------

-- The household registration of each person: if the register holds several (conflicting) ones, the
-- earliest by (registered_on, effective_time, event_id).
CREATE VIEW tongban.v_registration AS
SELECT DISTINCT ON (person_id)
    person_id, name, sex, birth_date, registered_on, kind, household_id, relationship_to_head, birth_place,
    mother_id, father_id, previous_region, event_id
FROM tongban.person_registration
ORDER BY person_id, registered_on, effective_time, event_id;

-- Names other departments asserted that differ from the household register's name in force on the day
-- they recorded it (a name recorded before a registered name change is compared with the old name).
CREATE VIEW tongban.v_identity_conflict AS
SELECT a.person_id, a.attribute, a.value AS asserted_value, r.value AS registered_value, a.department,
    a.event_type, a.asserted_at, a.event_id, r.event_id AS registered_event_id
FROM tongban.identity_assertion a
JOIN LATERAL (
    SELECT h.value, h.event_id
    FROM tongban.identity_assertion h
    WHERE h.person_id = a.person_id AND h.attribute = a.attribute AND h.department = 'household'
    -- The value in force on that day (latest from on or before it); if the assertion predates the
    -- registration, the first registered value.
    ORDER BY (h.asserted_on <= a.asserted_on) DESC,
        CASE WHEN h.asserted_on <= a.asserted_on THEN h.asserted_on END DESC,
        CASE WHEN h.asserted_on <= a.asserted_on THEN h.asserted_at END DESC,
        h.asserted_on, h.asserted_at, h.event_id DESC
    LIMIT 1
) r ON true
WHERE a.department <> 'household' AND a.value <> r.value;

-- One row per citizen ID asserted by any department (or with a registered death).
CREATE VIEW tongban.v_identity AS
WITH person AS (
    SELECT person_id FROM tongban.identity_assertion
    UNION
    SELECT person_id FROM tongban.death
)
SELECT p.person_id,
    coalesce(nc.new_name, r.name, other.value) AS name,
    coalesce((
        SELECT array_agg(c.previous_name ORDER BY c.effective_on, c.effective_time, c.event_id)
        FROM tongban.name_change c WHERE c.person_id = p.person_id), '{}') AS former_names,
    -- Unregistered people: sex and birth date as encoded in the citizen ID (GB 11643).
    coalesce(r.sex, CASE WHEN substr(p.person_id, 17, 1)::int % 2 = 1 THEN 'male' ELSE 'female' END) AS sex,
    coalesce(r.birth_date, to_date(substr(p.person_id, 7, 8), 'YYYYMMDD')) AS birth_date,
    r.registered_on,
    d.date_of_death,
    CASE
        WHEN r.person_id IS NULL AND d.person_id IS NULL THEN 'unverified'
        WHEN d.person_id IS NOT NULL THEN 'deceased'
        WHEN EXISTS (SELECT 1 FROM tongban.v_identity_conflict c WHERE c.person_id = p.person_id) THEN 'conflict'
        ELSE 'verified'
    END AS status,
    r.event_id AS registration_event_id,
    coalesce(nc.event_id, r.event_id, other.event_id) AS name_event_id,
    d.event_id AS death_event_id
FROM person p
LEFT JOIN tongban.v_registration r ON r.person_id = p.person_id
LEFT JOIN LATERAL (
    SELECT c.new_name, c.event_id FROM tongban.name_change c WHERE c.person_id = p.person_id
    ORDER BY c.effective_on DESC, c.effective_time DESC, c.event_id DESC LIMIT 1
) nc ON true
LEFT JOIN LATERAL (
    SELECT x.date_of_death, x.person_id, x.event_id FROM tongban.death x WHERE x.person_id = p.person_id
    ORDER BY x.date_of_death, x.effective_time, x.event_id LIMIT 1
) d ON true
LEFT JOIN LATERAL (
    -- For people the register does not know: the latest name another department recorded.
    SELECT a.value, a.event_id FROM tongban.identity_assertion a
    WHERE a.person_id = p.person_id AND a.attribute = 'name'
    ORDER BY a.asserted_at DESC, a.event_id DESC LIMIT 1
) other ON r.person_id IS NULL;

-- ---------------------------------------------------------------------------------------------------
-- Household
-- ---------------------------------------------------------------------------------------------------

CREATE VIEW tongban.v_household AS
SELECT DISTINCT ON (household_id)
    household_id, address_region_code, address, head_id, established_on, event_id
FROM tongban.household
ORDER BY household_id, established_on, effective_time, event_id;

-- Membership periods: each joining fact, ended by the earliest of a move out of that household, joining
-- another household later, or death.
CREATE VIEW tongban.v_household_membership AS
SELECT i.person_id, i.household_id, i.relationship_to_head, i.cause AS joined_by, i.effective_on AS member_from,
    e.until AS member_until, e.ended_by, i.event_id, e.event_id AS end_event_id
FROM tongban.membership_change i
LEFT JOIN LATERAL (
    SELECT c.until, c.ended_by, c.event_id
    FROM (
        SELECT o.effective_on AS until, 'moved-out' AS ended_by, o.event_id, 1 AS priority
        FROM tongban.membership_change o
        WHERE o.person_id = i.person_id AND o.household_id = i.household_id AND o.direction = 'out'
            AND o.effective_on >= i.effective_on
        UNION ALL
        SELECT n.effective_on, 'moved-in-elsewhere', n.event_id, 2
        FROM tongban.membership_change n
        WHERE n.person_id = i.person_id AND n.direction = 'in' AND n.effective_on > i.effective_on
        UNION ALL
        SELECT x.date_of_death, 'death', x.event_id, 0
        FROM tongban.death x
        WHERE x.person_id = i.person_id AND x.date_of_death >= i.effective_on
    ) c
    ORDER BY c.until, c.priority, c.event_id
    LIMIT 1
) e ON true
WHERE i.direction = 'in';

-- The household a person belongs to at the end of a day (none before registration or after death).
CREATE FUNCTION tongban.household_of(person text, as_of date)
    RETURNS TABLE (household_id text, relationship_to_head text, member_from date, event_id uuid)
    LANGUAGE sql STABLE
AS $$
    SELECT m.household_id, m.relationship_to_head, m.member_from, m.event_id
    FROM tongban.v_household_membership m
    WHERE m.person_id = person AND m.member_from <= as_of AND (m.member_until IS NULL OR as_of < m.member_until)
    ORDER BY m.member_from DESC, m.event_id DESC
    LIMIT 1
$$;

-- ---------------------------------------------------------------------------------------------------
-- Kinship
-- ---------------------------------------------------------------------------------------------------

-- Adoptions with their period: from the registration to the earliest dissolution.
CREATE VIEW tongban.v_adoption AS
SELECT a.adoption_record_number, a.child_id, a.adoptive_parent_ids, a.birth_parent_ids, a.effective_on AS valid_from,
    x.dissolved_on AS valid_until, x.kind AS dissolution_kind, a.registry_region, a.event_id,
    x.event_id AS end_event_id
FROM (
    SELECT DISTINCT ON (adoption_record_number) *
    FROM tongban.adoption
    ORDER BY adoption_record_number, effective_on, effective_time, event_id
) a
LEFT JOIN LATERAL (
    SELECT d.dissolved_on, d.kind, d.event_id FROM tongban.adoption_dissolution d
    WHERE d.adoption_record_number = a.adoption_record_number AND d.child_id = a.child_id
        AND d.dissolved_on >= a.effective_on
    ORDER BY d.dissolved_on, d.effective_time, d.event_id LIMIT 1
) x ON true;

-- Parentage: by birth (mother/father from the birth registration, from the birth date) and by adoption
-- (each adoptive parent for the adoption's period).
CREATE VIEW tongban.v_parentage AS
WITH birth AS (
    SELECT DISTINCT ON (person_id) person_id, mother_id, father_id, birth_date, event_id
    FROM tongban.person_registration
    WHERE kind = 'birth'
    ORDER BY person_id, registered_on, effective_time, event_id
)
SELECT b.person_id AS child_id, b.mother_id AS parent_id, 'mother' AS role, 'birth' AS basis,
    b.birth_date AS valid_from, NULL::date AS valid_until, NULL::text AS adoption_record_number, b.event_id,
    NULL::uuid AS end_event_id
FROM birth b WHERE b.mother_id IS NOT NULL
UNION ALL
SELECT b.person_id, b.father_id, 'father', 'birth', b.birth_date, NULL, NULL, b.event_id, NULL
FROM birth b WHERE b.father_id IS NOT NULL
UNION ALL
SELECT a.child_id, p.parent_id, 'adoptive-parent', 'adoption', a.valid_from, a.valid_until,
    a.adoption_record_number, a.event_id, a.end_event_id
FROM tongban.v_adoption a CROSS JOIN LATERAL unnest(a.adoptive_parent_ids) AS p(parent_id);

-- Marriages with their period and how they ended: the earliest divorce of the record, or the death of
-- either spouse, whichever comes first (a divorce on the day of a death counts as the divorce).
CREATE VIEW tongban.v_marriage AS
SELECT m.marriage_record_number, m.spouse_a_id, m.spouse_b_id, m.registered_on AS married_on,
    CASE WHEN dv.divorced_on IS NOT NULL AND (dt.date_of_death IS NULL OR dv.divorced_on <= dt.date_of_death)
        THEN dv.divorced_on ELSE dt.date_of_death END AS ended_on,
    CASE WHEN dv.divorced_on IS NOT NULL AND (dt.date_of_death IS NULL OR dv.divorced_on <= dt.date_of_death)
        THEN 'divorce' WHEN dt.date_of_death IS NOT NULL THEN 'death' END AS ended_by,
    CASE WHEN dv.divorced_on IS NOT NULL AND (dt.date_of_death IS NULL OR dv.divorced_on <= dt.date_of_death)
        THEN dv.kind END AS divorce_kind,
    m.registry_region, m.event_id,
    CASE WHEN dv.divorced_on IS NOT NULL AND (dt.date_of_death IS NULL OR dv.divorced_on <= dt.date_of_death)
        THEN dv.event_id ELSE dt.event_id END AS end_event_id
FROM (
    SELECT DISTINCT ON (marriage_record_number) *
    FROM tongban.marriage
    ORDER BY marriage_record_number, registered_on, effective_time, event_id
) m
LEFT JOIN LATERAL (
    SELECT d.divorced_on, d.kind, d.event_id FROM tongban.divorce d
    WHERE d.marriage_record_number = m.marriage_record_number AND d.divorced_on >= m.registered_on
    ORDER BY d.divorced_on, d.effective_time, d.event_id LIMIT 1
) dv ON true
LEFT JOIN LATERAL (
    SELECT x.date_of_death, x.event_id FROM tongban.death x
    WHERE x.person_id IN (m.spouse_a_id, m.spouse_b_id) AND x.date_of_death >= m.registered_on
    ORDER BY x.date_of_death, x.effective_time, x.event_id LIMIT 1
) dt ON true;

-- The parents of a person at the end of a day, by birth (once born) and by adoption (while in force).
CREATE FUNCTION tongban.parents_of(person text, as_of date)
    RETURNS TABLE (parent_id text, basis text, evidence uuid[])
    LANGUAGE sql STABLE
AS $$
    SELECT p.parent_id, p.basis, array_remove(ARRAY[p.event_id], NULL)
    FROM tongban.v_parentage p
    WHERE p.child_id = person AND p.valid_from <= as_of AND (p.valid_until IS NULL OR as_of < p.valid_until)
$$;

-- The children of a person at the end of a day.
CREATE FUNCTION tongban.children_of(person text, as_of date)
    RETURNS TABLE (child_id text, basis text, evidence uuid[])
    LANGUAGE sql STABLE
AS $$
    SELECT p.child_id, p.basis, ARRAY[p.event_id]
    FROM tongban.v_parentage p
    WHERE p.parent_id = person AND p.valid_from <= as_of AND (p.valid_until IS NULL OR as_of < p.valid_until)
$$;

-- Relations of a person up to the second degree at the end of a day: parent, child, spouse, sibling
-- (sharing at least one parent), grandparent, grandchild. basis is 'birth' when every link is by birth,
-- 'adoption' when a link is an adoption in force, 'marriage' for a spouse. evidence: the ids of the
-- events that establish every link, sorted. One row per (relative, relation, basis).
CREATE FUNCTION tongban.relations(person text, as_of date)
    RETURNS TABLE (relative_id text, relation text, basis text, evidence uuid[])
    LANGUAGE sql STABLE
AS $$
    WITH link AS (
        SELECT p.parent_id AS relative_id, 'parent' AS relation, p.basis, p.evidence
        FROM tongban.parents_of(person, as_of) p
        UNION ALL
        SELECT c.child_id, 'child', c.basis, c.evidence
        FROM tongban.children_of(person, as_of) c
        UNION ALL
        SELECT CASE WHEN m.spouse_a_id = person THEN m.spouse_b_id ELSE m.spouse_a_id END, 'spouse', 'marriage',
            ARRAY[m.event_id]
        FROM tongban.v_marriage m
        WHERE (m.spouse_a_id = person OR m.spouse_b_id = person) AND m.married_on <= as_of
            AND (m.ended_on IS NULL OR as_of < m.ended_on)
        UNION ALL
        SELECT s.child_id, 'sibling',
            CASE WHEN p.basis = 'birth' AND s.basis = 'birth' THEN 'birth' ELSE 'adoption' END,
            p.evidence || s.evidence
        FROM tongban.parents_of(person, as_of) p
        CROSS JOIN LATERAL tongban.children_of(p.parent_id, as_of) s
        UNION ALL
        SELECT g.parent_id, 'grandparent',
            CASE WHEN p.basis = 'birth' AND g.basis = 'birth' THEN 'birth' ELSE 'adoption' END,
            p.evidence || g.evidence
        FROM tongban.parents_of(person, as_of) p
        CROSS JOIN LATERAL tongban.parents_of(p.parent_id, as_of) g
        UNION ALL
        SELECT g.child_id, 'grandchild',
            CASE WHEN c.basis = 'birth' AND g.basis = 'birth' THEN 'birth' ELSE 'adoption' END,
            c.evidence || g.evidence
        FROM tongban.children_of(person, as_of) c
        CROSS JOIN LATERAL tongban.children_of(c.child_id, as_of) g
    )
    SELECT l.relative_id, l.relation, l.basis, array_agg(DISTINCT e ORDER BY e)
    FROM link l CROSS JOIN LATERAL unnest(l.evidence) AS e
    WHERE l.relative_id <> person
    GROUP BY l.relative_id, l.relation, l.basis
$$;

-- ---------------------------------------------------------------------------------------------------
-- Social insurance
-- ---------------------------------------------------------------------------------------------------

-- Enrollments, each ended by the earliest enrollment-ended of the same person, line and region whose
-- endMonth is not before its startMonth.
CREATE VIEW tongban.v_si_enrollment AS
SELECT e.person_id, e.insurance_type, e.region_code, e.employer_id, e.name, e.start_month, x.end_month,
    x.reason_code AS end_reason, e.event_id, x.event_id AS end_event_id
FROM tongban.si_enrollment e
LEFT JOIN LATERAL (
    SELECT n.end_month, n.reason_code, n.event_id FROM tongban.si_enrollment_end n
    WHERE n.person_id = e.person_id AND n.insurance_type = e.insurance_type AND n.region_code = e.region_code
        AND n.end_month >= e.start_month
    ORDER BY n.end_month, n.effective_time, n.event_id LIMIT 1
) x ON true;

-- Postings (one per posting id: the earliest by time, then event id) and whether they were reversed
-- (a reversal of the same posting id for the same person).
CREATE VIEW tongban.v_contribution_posting AS
SELECT c.posting_id, c.person_id, c.insurance_type, c.month, c.region_code, c.base, c.employer_amount,
    c.employee_amount, c.employer_id, (r.event_id IS NOT NULL) AS reversed, r.reason_code AS reversal_reason,
    c.event_id, r.event_id AS reversal_event_id
FROM (
    SELECT DISTINCT ON (posting_id) *
    FROM tongban.contribution
    ORDER BY posting_id, effective_time, event_id
) c
LEFT JOIN LATERAL (
    SELECT x.reason_code, x.event_id FROM tongban.contribution_reversal x
    WHERE x.posting_id = c.posting_id AND x.person_id = c.person_id
    ORDER BY x.effective_time, x.event_id LIMIT 1
) r ON true;

-- Months paid: one row per (person, insurance type, month) with at least one posting not reversed.
CREATE VIEW tongban.v_contribution_month AS
SELECT person_id, insurance_type, month, count(*)::int AS postings,
    sum(employer_amount + employee_amount) AS amount, array_agg(event_id ORDER BY event_id) AS evidence
FROM tongban.v_contribution_posting
WHERE NOT reversed
GROUP BY person_id, insurance_type, month;

-- Months paid per insurance type from from_month to to_month (first days of months, inclusive), with
-- continuity: the unpaid months between the first and the last paid month, and the longest run of
-- consecutive paid months.
CREATE FUNCTION tongban.contribution_summary(person text, from_month date, to_month date)
    RETURNS TABLE (
        insurance_type text, months_paid int, first_month date, last_month date, unpaid_months date[],
        longest_run int, continuous boolean, evidence uuid[])
    LANGUAGE sql STABLE
AS $$
    WITH paid AS (
        SELECT m.insurance_type, m.month, m.evidence,
            -- Gaps and islands: consecutive months share (month index - row number).
            (extract(year FROM m.month) * 12 + extract(month FROM m.month))::int
                - row_number() OVER (PARTITION BY m.insurance_type ORDER BY m.month)::int AS island
        FROM tongban.v_contribution_month m
        WHERE m.person_id = person AND m.month BETWEEN from_month AND to_month
    ),
    summary AS (
        SELECT p.insurance_type, count(*)::int AS months_paid, min(p.month) AS first_month, max(p.month) AS last_month
        FROM paid p GROUP BY p.insurance_type
    )
    SELECT s.insurance_type, s.months_paid, s.first_month, s.last_month,
        coalesce((
            SELECT array_agg(g::date ORDER BY g)
            FROM generate_series(s.first_month, s.last_month, interval '1 month') g
            WHERE NOT EXISTS (SELECT 1 FROM paid p WHERE p.insurance_type = s.insurance_type AND p.month = g::date)
        ), '{}'),
        (SELECT max(n)::int FROM (
            SELECT count(*) AS n FROM paid p WHERE p.insurance_type = s.insurance_type GROUP BY p.island) runs),
        s.months_paid = ((extract(year FROM s.last_month) - extract(year FROM s.first_month)) * 12
            + extract(month FROM s.last_month) - extract(month FROM s.first_month) + 1)::int,
        (SELECT array_agg(DISTINCT e ORDER BY e) FROM paid p CROSS JOIN LATERAL unnest(p.evidence) e
            WHERE p.insurance_type = s.insurance_type)
    FROM summary s
$$;

-- ---------------------------------------------------------------------------------------------------
-- Medical insurance
-- ---------------------------------------------------------------------------------------------------

CREATE VIEW tongban.v_mi_enrollment AS
SELECT person_id, scheme, region_code, start_date, employer_id, name, effective_time AS recorded_at, event_id
FROM tongban.mi_enrollment;

CREATE VIEW tongban.v_mi_voucher AS
SELECT DISTINCT ON (voucher_id) voucher_id, person_id, activated_at, event_id
FROM tongban.mi_voucher
ORDER BY voucher_id, activated_at, effective_time, event_id;

-- Cross-region care filings (one per filing id) with the earliest cancellation of the same person.
CREATE VIEW tongban.v_mi_filing AS
SELECT f.filing_id, f.person_id, f.from_region, f.to_region, f.category, f.valid_from, f.valid_to,
    c.cancelled_from, f.event_id, c.event_id AS cancel_event_id
FROM (
    SELECT DISTINCT ON (filing_id) *
    FROM tongban.mi_filing
    ORDER BY filing_id, effective_time, event_id
) f
LEFT JOIN LATERAL (
    SELECT x.cancelled_from, x.event_id FROM tongban.mi_filing_cancellation x
    WHERE x.filing_id = f.filing_id AND x.person_id = f.person_id
    ORDER BY x.cancelled_from, x.effective_time, x.event_id LIMIT 1
) c ON true;

-- The medical-insurance enrollment in force at the end of a day: the latest whose start date has come.
CREATE FUNCTION tongban.medical_enrollment_as_of(person text, as_of date)
    RETURNS TABLE (scheme text, region_code text, start_date date, employer_id text, event_id uuid)
    LANGUAGE sql STABLE
AS $$
    SELECT e.scheme, e.region_code, e.start_date, e.employer_id, e.event_id
    FROM tongban.v_mi_enrollment e
    WHERE e.person_id = person AND e.start_date <= as_of
    ORDER BY e.start_date DESC, e.recorded_at DESC, e.event_id DESC
    LIMIT 1
$$;

-- Filings in force at the end of a day: valid_from <= day <= valid_to, and not cancelled from that day or earlier.
CREATE FUNCTION tongban.active_filings(person text, as_of date)
    RETURNS SETOF tongban.v_mi_filing
    LANGUAGE sql STABLE
AS $$
    SELECT f.* FROM tongban.v_mi_filing f
    WHERE f.person_id = person AND f.valid_from <= as_of AND (f.valid_to IS NULL OR as_of <= f.valid_to)
        AND (f.cancelled_from IS NULL OR as_of < f.cancelled_from)
$$;

-- ---------------------------------------------------------------------------------------------------
-- Property
-- ---------------------------------------------------------------------------------------------------

CREATE VIEW tongban.v_title AS
SELECT DISTINCT ON (title_number)
    title_number, property_region, address, area_square_meters, use, registered_on, event_id
FROM tongban.title
ORDER BY title_number, registered_on, effective_time, event_id;

-- Owners with their shares and ownership periods: an owner set holds from its date until the next owner
-- set of the same title (by date, effective time, event id).
CREATE VIEW tongban.v_title_owner AS
SELECT s.title_number, o.person_id, o.name, o.share, o.share_numerator, o.share_denominator, s.co_ownership,
    s.certificate_number, s.kind AS acquired_by, s.effective_on AS owned_from, nx.effective_on AS owned_until,
    s.event_id, nx.event_id AS end_event_id
FROM tongban.title_ownership s
JOIN tongban.title_owner o ON o.fact_hash = s.fact_hash
LEFT JOIN LATERAL (
    SELECT n.effective_on, n.event_id FROM tongban.title_ownership n
    WHERE n.title_number = s.title_number
        AND (n.effective_on, n.effective_time, n.event_id) > (s.effective_on, s.effective_time, s.event_id)
    ORDER BY n.effective_on, n.effective_time, n.event_id LIMIT 1
) nx ON true;

-- Mortgages and seizures with their period: registration to release/lifting (and a seizure's valid_to).
CREATE VIEW tongban.v_encumbrance AS
SELECT m.title_number, 'mortgage' AS kind, m.mortgage_record_number AS record_number, m.owner_ids,
    m.creditor_name AS holder, m.amount, NULL::text AS case_number, m.registered_on, NULL::date AS valid_to,
    r.released_on AS ended_on, m.event_id, r.event_id AS end_event_id
FROM (
    SELECT DISTINCT ON (mortgage_record_number) *
    FROM tongban.mortgage
    ORDER BY mortgage_record_number, registered_on, effective_time, event_id
) m
LEFT JOIN LATERAL (
    SELECT x.released_on, x.event_id FROM tongban.mortgage_release x
    WHERE x.mortgage_record_number = m.mortgage_record_number AND x.title_number = m.title_number
        AND x.released_on >= m.registered_on
    ORDER BY x.released_on, x.effective_time, x.event_id LIMIT 1
) r ON true
UNION ALL
SELECT s.title_number, 'seizure', s.seizure_record_number, s.owner_ids, s.court, NULL::numeric, s.case_number,
    s.registered_on, s.valid_to, l.lifted_on, s.event_id, l.event_id
FROM (
    SELECT DISTINCT ON (seizure_record_number) *
    FROM tongban.seizure
    ORDER BY seizure_record_number, registered_on, effective_time, event_id
) s
LEFT JOIN LATERAL (
    SELECT x.lifted_on, x.event_id FROM tongban.seizure_lift x
    WHERE x.seizure_record_number = s.seizure_record_number AND x.title_number = s.title_number
        AND x.lifted_on >= s.registered_on
    ORDER BY x.lifted_on, x.effective_time, x.event_id LIMIT 1
) l ON true;

-- Titles a person holds at the end of a day.
CREATE FUNCTION tongban.titles_as_of(person text, as_of date)
    RETURNS SETOF tongban.v_title_owner
    LANGUAGE sql STABLE
AS $$
    SELECT t.* FROM tongban.v_title_owner t
    WHERE t.person_id = person AND t.owned_from <= as_of AND (t.owned_until IS NULL OR as_of < t.owned_until)
$$;

-- Encumbrances in force at the end of a day on the titles a person holds that day.
CREATE FUNCTION tongban.encumbrances_as_of(person text, as_of date)
    RETURNS SETOF tongban.v_encumbrance
    LANGUAGE sql STABLE
AS $$
    SELECT e.* FROM tongban.v_encumbrance e
    WHERE e.title_number IN (SELECT t.title_number FROM tongban.titles_as_of(person, as_of) t)
        AND e.registered_on <= as_of AND (e.ended_on IS NULL OR as_of < e.ended_on)
        AND (e.valid_to IS NULL OR as_of <= e.valid_to)
$$;
