-- Tongban, part 14: the relation between two given people, with the people it runs through.
--
-- Why: a kinship question names both people. tongban.relations() lists every relative of a person and says how
-- each is related, but not through whom a second-degree relation runs (the parent a sibling shares, the parent
-- between a grandparent and a grandchild), and it computes every relative to answer for one. This function answers
-- for one pair: the same rows tongban.relations() gives for that relative (relation, basis, evidence), each with
-- `via`, the people the relation runs through (empty for a parent, child or spouse).

CREATE FUNCTION tongban.relations_between(person text, relative text, as_of date)
    RETURNS TABLE (relation text, basis text, via text[], evidence uuid[])
    LANGUAGE sql STABLE
AS $$
    WITH link AS (
        SELECT 'parent' AS relation, p.basis, NULL::text AS via, p.evidence
        FROM tongban.parents_of(person, as_of) p
        WHERE p.parent_id = relative
        UNION ALL
        SELECT 'child', c.basis, NULL, c.evidence
        FROM tongban.children_of(person, as_of) c
        WHERE c.child_id = relative
        UNION ALL
        SELECT 'spouse', 'marriage', NULL, ARRAY[m.event_id]
        FROM tongban.v_marriage m
        WHERE ((m.spouse_a_id = person AND m.spouse_b_id = relative)
                OR (m.spouse_b_id = person AND m.spouse_a_id = relative))
            AND m.married_on <= as_of AND (m.ended_on IS NULL OR as_of < m.ended_on)
        UNION ALL
        SELECT 'sibling', CASE WHEN p.basis = 'birth' AND s.basis = 'birth' THEN 'birth' ELSE 'adoption' END,
            p.parent_id, p.evidence || s.evidence
        FROM tongban.parents_of(person, as_of) p
        CROSS JOIN LATERAL tongban.children_of(p.parent_id, as_of) s
        WHERE s.child_id = relative
        UNION ALL
        SELECT 'grandparent', CASE WHEN p.basis = 'birth' AND g.basis = 'birth' THEN 'birth' ELSE 'adoption' END,
            p.parent_id, p.evidence || g.evidence
        FROM tongban.parents_of(person, as_of) p
        CROSS JOIN LATERAL tongban.parents_of(p.parent_id, as_of) g
        WHERE g.parent_id = relative
        UNION ALL
        SELECT 'grandchild', CASE WHEN c.basis = 'birth' AND g.basis = 'birth' THEN 'birth' ELSE 'adoption' END,
            c.child_id, c.evidence || g.evidence
        FROM tongban.children_of(person, as_of) c
        CROSS JOIN LATERAL tongban.children_of(c.child_id, as_of) g
        WHERE g.child_id = relative
    )
    SELECT l.relation, l.basis,
        coalesce(array_agg(DISTINCT l.via ORDER BY l.via) FILTER (WHERE l.via IS NOT NULL), '{}'),
        array_agg(DISTINCT e ORDER BY e)
    FROM link l CROSS JOIN LATERAL unnest(l.evidence) AS e
    WHERE relative <> person
    GROUP BY l.relation, l.basis
$$;

COMMENT ON FUNCTION tongban.relations_between(text, text, date) IS
    'How `relative` is related to `person` at the end of a day: the rows tongban.relations(person, as_of) gives for '
    'that relative, each with via, the people the relation runs through (empty for a parent, child or spouse).';
