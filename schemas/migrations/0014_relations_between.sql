-- Tongban, part 14: the relation between two given people, with the people it runs through, read through the
-- indexes.
--
-- Why: a kinship question names both people. tongban.relations() lists every relative of a person and says how
-- each is related, but not through whom a second-degree relation runs (the parent a sibling shares, the parent
-- between a grandparent and a grandchild); and it reads v_parentage, v_adoption and v_marriage whole, because a
-- filter on a person cannot pass their DISTINCT ON (which picks one record per record number): about 10 ms a
-- question on a population of 3,000, most of it planning. relations_between() answers for one pair, with the
-- same rows tongban.relations() gives for that relative (relation, basis, evidence) and `via`. It finds the
-- records through the indexes first (parentage_by_child, parentage_by_parent, marriages_of: the rows of the views
-- for one person, the views' own rules applied to those records only), and it is PL/pgSQL with a generic plan,
-- so a connection plans it once: well under a millisecond a question.
--
-- A sibling, grandparent or grandchild is found from both ends: the parents and children of `person` met with
-- those of `relative` (a sibling shares a parent; a grandparent's child is the person's parent; a grandchild's
-- parent is the person's child), which is the same v_parentage row relations() reaches from one end.

-- The rows of tongban.v_parentage whose child is `child`, found through the indexes. A filter on a view's DISTINCT ON
-- key reaches inside the view only as a plain expression: hence `= ANY (ARRAY(SELECT …))`, not `IN (SELECT …)`.
CREATE FUNCTION tongban.parentage_by_child(child text)
    RETURNS SETOF tongban.v_parentage
    LANGUAGE sql STABLE
AS $$
    WITH birth AS (
        SELECT DISTINCT ON (r.person_id) r.person_id, r.mother_id, r.father_id, r.birth_date, r.event_id
        FROM tongban.person_registration r
        WHERE r.kind = 'birth' AND r.person_id = child
        ORDER BY r.person_id, r.registered_on, r.effective_time, r.event_id
    ), adopted AS (
        SELECT a.* FROM tongban.v_adoption a
        WHERE a.adoption_record_number = ANY (ARRAY(
                SELECT x.adoption_record_number FROM tongban.adoption x WHERE x.child_id = child))
            AND a.child_id = child
    )
    SELECT b.person_id, b.mother_id, 'mother', 'birth', b.birth_date, NULL::date, NULL::text, b.event_id, NULL::uuid
    FROM birth b WHERE b.mother_id IS NOT NULL
    UNION ALL
    SELECT b.person_id, b.father_id, 'father', 'birth', b.birth_date, NULL, NULL, b.event_id, NULL
    FROM birth b WHERE b.father_id IS NOT NULL
    UNION ALL
    SELECT a.child_id, p.parent_id, 'adoptive-parent', 'adoption', a.valid_from, a.valid_until,
        a.adoption_record_number, a.event_id, a.end_event_id
    FROM adopted a CROSS JOIN LATERAL unnest(a.adoptive_parent_ids) AS p(parent_id)
$$;

-- The rows of tongban.v_parentage whose parent is `parent`, found through the indexes.
CREATE FUNCTION tongban.parentage_by_parent(parent text)
    RETURNS SETOF tongban.v_parentage
    LANGUAGE sql STABLE
AS $$
    WITH birth AS (
        SELECT DISTINCT ON (r.person_id) r.person_id, r.mother_id, r.father_id, r.birth_date, r.event_id
        FROM tongban.person_registration r
        WHERE r.kind = 'birth' AND r.person_id IN (
            SELECT c.person_id FROM tongban.person_registration c
            WHERE c.kind = 'birth' AND (c.mother_id = parent OR c.father_id = parent))
        ORDER BY r.person_id, r.registered_on, r.effective_time, r.event_id
    ), adopted AS (
        SELECT a.* FROM tongban.v_adoption a
        WHERE a.adoption_record_number = ANY (ARRAY(
            SELECT x.adoption_record_number FROM tongban.adoption x WHERE x.adoptive_parent_ids @> ARRAY[parent]))
    )
    SELECT b.person_id, b.mother_id, 'mother', 'birth', b.birth_date, NULL::date, NULL::text, b.event_id, NULL::uuid
    FROM birth b WHERE b.mother_id = parent
    UNION ALL
    SELECT b.person_id, b.father_id, 'father', 'birth', b.birth_date, NULL, NULL, b.event_id, NULL
    FROM birth b WHERE b.father_id = parent
    UNION ALL
    SELECT a.child_id, p.parent_id, 'adoptive-parent', 'adoption', a.valid_from, a.valid_until,
        a.adoption_record_number, a.event_id, a.end_event_id
    FROM adopted a CROSS JOIN LATERAL unnest(a.adoptive_parent_ids) AS p(parent_id)
    WHERE p.parent_id = parent
$$;

-- The rows of tongban.v_marriage in which `person` is a spouse, found through the indexes.
CREATE FUNCTION tongban.marriages_of(person text)
    RETURNS SETOF tongban.v_marriage
    LANGUAGE sql STABLE
AS $$
    SELECT m.* FROM tongban.v_marriage m
    WHERE m.marriage_record_number = ANY (ARRAY(
            SELECT x.marriage_record_number FROM tongban.marriage x
            WHERE x.spouse_a_id = person OR x.spouse_b_id = person))
        AND (m.spouse_a_id = person OR m.spouse_b_id = person)
$$;

CREATE FUNCTION tongban.relations_between(person text, relative text, as_of date)
    RETURNS TABLE (relation text, basis text, via text[], evidence uuid[])
    LANGUAGE plpgsql STABLE
AS $$
#variable_conflict use_variable
BEGIN
    IF relative = person THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH parentage AS MATERIALIZED (
        SELECT 'parent-of-person' AS side, p.parent_id AS other, p.basis AS link_basis, p.event_id AS event
        FROM tongban.parentage_by_child(person) p
        WHERE p.valid_from <= as_of AND (p.valid_until IS NULL OR as_of < p.valid_until)
        UNION ALL
        SELECT 'child-of-person', c.child_id, c.basis, c.event_id
        FROM tongban.parentage_by_parent(person) c
        WHERE c.valid_from <= as_of AND (c.valid_until IS NULL OR as_of < c.valid_until)
        UNION ALL
        SELECT 'parent-of-relative', p.parent_id, p.basis, p.event_id
        FROM tongban.parentage_by_child(relative) p
        WHERE p.valid_from <= as_of AND (p.valid_until IS NULL OR as_of < p.valid_until)
        UNION ALL
        SELECT 'child-of-relative', c.child_id, c.basis, c.event_id
        FROM tongban.parentage_by_parent(relative) c
        WHERE c.valid_from <= as_of AND (c.valid_until IS NULL OR as_of < c.valid_until)
    ), link AS (
        SELECT 'parent' AS kind, p.link_basis AS how, NULL::text AS through, ARRAY[p.event] AS events
        FROM parentage p WHERE p.side = 'parent-of-person' AND p.other = relative
        UNION ALL
        SELECT 'child', c.link_basis, NULL, ARRAY[c.event]
        FROM parentage c WHERE c.side = 'child-of-person' AND c.other = relative
        UNION ALL
        SELECT 'spouse', 'marriage', NULL, ARRAY[m.event_id]
        FROM tongban.marriages_of(person) m
        WHERE relative IN (m.spouse_a_id, m.spouse_b_id) AND m.married_on <= as_of
            AND (m.ended_on IS NULL OR as_of < m.ended_on)
        UNION ALL
        SELECT 'sibling', CASE WHEN p.link_basis = 'birth' AND r.link_basis = 'birth' THEN 'birth' ELSE 'adoption' END,
            p.other, ARRAY[p.event, r.event]
        FROM parentage p JOIN parentage r ON r.side = 'parent-of-relative' AND r.other = p.other
        WHERE p.side = 'parent-of-person'
        UNION ALL
        SELECT 'grandparent', CASE WHEN p.link_basis = 'birth' AND g.link_basis = 'birth' THEN 'birth' ELSE 'adoption' END,
            p.other, ARRAY[p.event, g.event]
        FROM parentage p JOIN parentage g ON g.side = 'child-of-relative' AND g.other = p.other
        WHERE p.side = 'parent-of-person'
        UNION ALL
        SELECT 'grandchild', CASE WHEN c.link_basis = 'birth' AND g.link_basis = 'birth' THEN 'birth' ELSE 'adoption' END,
            c.other, ARRAY[c.event, g.event]
        FROM parentage c JOIN parentage g ON g.side = 'parent-of-relative' AND g.other = c.other
        WHERE c.side = 'child-of-person'
    )
    SELECT l.kind, l.how,
        coalesce(array_agg(DISTINCT l.through ORDER BY l.through) FILTER (WHERE l.through IS NOT NULL), '{}'),
        array_agg(DISTINCT e ORDER BY e)
    FROM link l CROSS JOIN LATERAL unnest(l.events) AS e
    GROUP BY l.kind, l.how;
END
$$;

ALTER FUNCTION tongban.relations_between(text, text, date) SET plan_cache_mode = force_generic_plan;

COMMENT ON FUNCTION tongban.relations_between(text, text, date) IS
    'How `relative` is related to `person` at the end of a day: the rows tongban.relations(person, as_of) gives for '
    'that relative, each with via, the people the relation runs through (empty for a parent, child or spouse).';
COMMENT ON FUNCTION tongban.parentage_by_child(text) IS 'The rows of tongban.v_parentage whose child_id is `child`.';
COMMENT ON FUNCTION tongban.parentage_by_parent(text) IS
    'The rows of tongban.v_parentage whose parent_id is `parent`.';
COMMENT ON FUNCTION tongban.marriages_of(text) IS 'The rows of tongban.v_marriage in which `person` is a spouse.';
