-- Tongban views, part 5: a faster apply (replaces prepare_stage() and apply_stage() of 0004).
--
-- Same contract as 0004: a projector copies a batch into the connection's staging table and calls
-- tongban.apply_stage() once in the transaction that advances its checkpoints; the result lists the staged
-- events that were not applied. What changed is how the work is done, measured with `tongban bench ingest`:
-- - the hashes are generated columns, computed as COPY writes each row (0004 rewrote every staged row with an
--   UPDATE, twice);
-- - duplicates and reused ids are found in one statement into a small side table (pg_temp.tongban_skip) and
--   deleted from the stage, so the fact statements read the stage without a filter;
-- - the session's buffers for temporary tables are raised before the stage is first created (the default 8 MB
--   is less than one batch of 5,000 events, which then went through temporary files), the sorts of one apply
--   get enough memory, and JIT compilation is off for it (it cost more than half a second per batch: the
--   planner's estimates for an unanalyzed stage are far too high);
-- - the ledger is probed by index for each staged id, whatever the planner guesses about the stage.

DROP FUNCTION tongban.prepare_stage();
DROP FUNCTION tongban.apply_stage();

-- Creates this session's staging tables if they do not exist yet. Columns of pg_temp.tongban_stage (filled by
-- COPY): event_id, sent_type (the type as sent), type (the current type after upcasting), subject, source,
-- effective_time (envelope time), data (the upcast `data`), envelope (the envelope as received), topic,
-- partition, message_offset (where the message was read); generated: content_hash (md5 of the envelope without
-- the signature attributes, as jsonb text: identifies the message content for the id check) and fact_hash (md5
-- of the current type and upcast data: identifies the fact, whatever its id).
CREATE FUNCTION tongban.prepare_stage() RETURNS void
    LANGUAGE plpgsql
AS $$
BEGIN
    IF to_regclass('pg_temp.tongban_stage') IS NULL THEN
        -- Only possible before the session's first temporary table; a session that already used one keeps its
        -- setting (slower, not wrong).
        BEGIN
            PERFORM set_config('temp_buffers', '256MB', false);
        EXCEPTION WHEN invalid_parameter_value THEN
            NULL;
        END;
        CREATE TEMPORARY TABLE tongban_stage (
            event_id uuid NOT NULL,
            sent_type text NOT NULL,
            type text NOT NULL,
            subject text NOT NULL,
            source text NOT NULL,
            effective_time timestamptz NOT NULL,
            data jsonb NOT NULL,
            envelope jsonb NOT NULL,
            topic text NOT NULL,
            partition int NOT NULL,
            message_offset bigint NOT NULL,
            content_hash uuid GENERATED ALWAYS AS (md5((envelope - 'tbsig' - 'tbkid')::text)::uuid) STORED,
            fact_hash uuid GENERATED ALWAYS AS (md5(type || ' ' || data::text)::uuid) STORED
        ) ON COMMIT DELETE ROWS;
        -- The staged events apply_stage() does not apply: 'duplicate' (id already applied, or earlier in the
        -- batch, with the same content) or 'rejected' (with different content).
        CREATE TEMPORARY TABLE tongban_skip (
            topic text NOT NULL,
            partition int NOT NULL,
            message_offset bigint NOT NULL,
            event_id uuid NOT NULL,
            outcome text NOT NULL
        ) ON COMMIT DELETE ROWS;
    END IF;
END
$$;

-- Applies every staged event and empties the stage. Returns one row per staged event that was not applied:
-- outcome 'duplicate' (ignored) or 'rejected' (an id reused with different content; it is also recorded in
-- tongban.dead_letter and tongban.rejected_offset). Must run in the transaction that staged the rows (and that
-- advances the checkpoints).
CREATE FUNCTION tongban.apply_stage()
    RETURNS TABLE (topic text, partition int, message_offset bigint, event_id uuid, outcome text)
    LANGUAGE plpgsql
AS $$
DECLARE
    skipped bigint;
BEGIN
    -- Statements over a few thousand staged rows: compiling them (JIT) costs more than running them.
    PERFORM set_config('jit', 'off', true);
    PERFORM set_config('work_mem', '64MB', true);

    -- 1. Idempotency by event id: within the batch the first occurrence (by topic, partition, offset) counts;
    --    an id already in the ledger is a duplicate when the content is the same, else rejected.
    DELETE FROM pg_temp.tongban_skip;
    INSERT INTO pg_temp.tongban_skip (topic, partition, message_offset, event_id, outcome)
    SELECT y.topic, y.partition, y.message_offset, y.event_id,
        CASE WHEN y.content_hash = coalesce(y.ledger_hash, y.first_hash) THEN 'duplicate' ELSE 'rejected' END
    FROM (
        -- The ledger is probed by index for each first occurrence (the planner knows nothing of the stage's size
        -- and would otherwise hash the whole ledger).
        SELECT x.*,
            CASE WHEN x.n = 1 THEN (SELECT e.content_hash FROM tongban.event e WHERE e.event_id = x.event_id) END
                AS ledger_hash
        FROM (
            SELECT s.topic, s.partition, s.message_offset, s.event_id, s.content_hash,
                row_number() OVER w AS n, first_value(s.content_hash) OVER w AS first_hash
            FROM pg_temp.tongban_stage s
            WINDOW w AS (PARTITION BY s.event_id ORDER BY s.topic, s.partition, s.message_offset)
        ) x
    ) y
    WHERE y.n > 1 OR y.ledger_hash IS NOT NULL;
    GET DIAGNOSTICS skipped = ROW_COUNT;

    IF skipped > 0 THEN
        -- 2. Ids reused with different content: dead letters (the value is the staged envelope as jsonb text;
        --    the original bytes were not kept) and rejected offsets.
        INSERT INTO tongban.dead_letter (topic, partition, message_offset, key, value, reason, event_id, event_type)
        SELECT s.topic, s.partition, s.message_offset, NULL, convert_to(s.envelope::text, 'UTF8'),
            'event id ' || s.event_id || ' was already applied with different content', s.event_id, s.sent_type
        FROM pg_temp.tongban_stage s
        JOIN pg_temp.tongban_skip k USING (topic, partition, message_offset)
        WHERE k.outcome = 'rejected'
        ON CONFLICT DO NOTHING;

        INSERT INTO tongban.rejected_offset (topic, partition, message_offset, reason)
        SELECT k.topic, k.partition, k.message_offset, 'event id reused with different content'
        FROM pg_temp.tongban_skip k
        WHERE k.outcome = 'rejected'
        ON CONFLICT DO NOTHING;

        DELETE FROM pg_temp.tongban_stage s
        USING pg_temp.tongban_skip k
        WHERE s.topic = k.topic AND s.partition = k.partition AND s.message_offset = k.message_offset;
    END IF;

    -- 3. The ledger.
    INSERT INTO tongban.event (event_id, type, subject, source, effective_time, topic, partition, message_offset,
        content_hash, envelope)
    SELECT s.event_id, s.sent_type, s.subject, s.source, s.effective_time, s.topic, s.partition, s.message_offset,
        s.content_hash, s.envelope
    FROM pg_temp.tongban_stage s;

    -- 4. Facts, one statement per event type. ORDER BY makes the provenance of identical facts staged in the
    --    same batch deterministic (the smallest event id wins the unique fact_hash).

    -- household.birth-registered.v1
    INSERT INTO tongban.person_registration (person_id, name, sex, birth_date, registered_on, kind, household_id,
        relationship_to_head, birth_place, mother_id, father_id, previous_region, effective_time, event_id, fact_hash)
    SELECT d->>'childId', d->>'childName', d->>'sex', (d->>'birthDate')::date, (d->>'birthDate')::date, 'birth',
        d->>'householdId', d->>'relationshipToHead', d->>'birthPlace', d->>'motherId', d->>'fatherId', NULL,
        s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'household.birth-registered.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- household.person-registered.v1
    INSERT INTO tongban.person_registration (person_id, name, sex, birth_date, registered_on, kind, household_id,
        relationship_to_head, birth_place, mother_id, father_id, previous_region, effective_time, event_id, fact_hash)
    SELECT d->>'personId', d->>'name', d->>'sex', (d->>'birthDate')::date, (d->>'effectiveDate')::date,
        'registration', d->>'householdId', d->>'relationshipToHead', NULL, NULL, NULL, d->>'previousRegion',
        s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'household.person-registered.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- Joining a household: births, registrations and moves in; moves out.
    INSERT INTO tongban.membership_change (person_id, household_id, direction, relationship_to_head, effective_on,
        cause, effective_time, event_id, fact_hash)
    SELECT
        CASE WHEN s.type = 'household.birth-registered.v1' THEN d->>'childId' ELSE d->>'personId' END,
        d->>'householdId',
        CASE WHEN s.type = 'household.member-moved-out.v1' THEN 'out' ELSE 'in' END,
        d->>'relationshipToHead',
        CASE WHEN s.type = 'household.birth-registered.v1' THEN (d->>'birthDate')::date
            ELSE (d->>'effectiveDate')::date END,
        CASE s.type WHEN 'household.birth-registered.v1' THEN 'birth'
            WHEN 'household.person-registered.v1' THEN 'registration' ELSE 'move' END,
        s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type IN ('household.birth-registered.v1', 'household.person-registered.v1',
        'household.member-moved-in.v1', 'household.member-moved-out.v1')
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- household.household-established.v1
    INSERT INTO tongban.household (household_id, address_region_code, address, head_id, established_on,
        effective_time, event_id, fact_hash)
    SELECT d->>'householdId', d->>'addressRegionCode', d->>'address', d->>'headId', (d->>'establishedDate')::date,
        s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'household.household-established.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- household.name-changed.v2 (v1 arrives upcast, with reasonCode 'unspecified')
    INSERT INTO tongban.name_change (person_id, previous_name, new_name, effective_on, reason_code, note,
        effective_time, event_id, fact_hash)
    SELECT d->>'personId', d->>'previousName', d->>'newName', (d->>'effectiveDate')::date,
        coalesce(d->>'reasonCode', 'unspecified'), d->>'note', s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'household.name-changed.v2'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- household.death-registered.v1
    INSERT INTO tongban.death (person_id, date_of_death, death_place, effective_time, event_id, fact_hash)
    SELECT d->>'personId', (d->>'dateOfDeath')::date, d->>'deathPlace', s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'household.death-registered.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- civil-affairs.marriage-registered.v1
    INSERT INTO tongban.marriage (marriage_record_number, spouse_a_id, spouse_a_name, spouse_b_id, spouse_b_name,
        registered_on, registry_region, effective_time, event_id, fact_hash)
    SELECT d->>'marriageRecordNumber', d#>>'{spouseA,id}', d#>>'{spouseA,name}', d#>>'{spouseB,id}',
        d#>>'{spouseB,name}', (d->>'registrationDate')::date, d->>'registryRegion', s.effective_time, s.event_id,
        s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'civil-affairs.marriage-registered.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- civil-affairs.divorce-registered.v1
    INSERT INTO tongban.divorce (marriage_record_number, spouse_a_id, spouse_b_id, divorced_on, kind, registry_region,
        court_case_number, effective_time, event_id, fact_hash)
    SELECT d->>'marriageRecordNumber', d#>>'{spouseA,id}', d#>>'{spouseB,id}', (d->>'divorceDate')::date,
        d->>'kind', d->>'registryRegion', d->>'courtCaseNumber', s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'civil-affairs.divorce-registered.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- civil-affairs.adoption-registered.v1
    INSERT INTO tongban.adoption (adoption_record_number, child_id, adoptive_parent_ids, birth_parent_ids,
        effective_on, registry_region, effective_time, event_id, fact_hash)
    SELECT d->>'adoptionRecordNumber', d->>'childId',
        ARRAY(SELECT jsonb_array_elements_text(d->'adoptiveParentIds')),
        ARRAY(SELECT jsonb_array_elements_text(coalesce(d->'birthParentIds', '[]'))),
        (d->>'effectiveDate')::date, d->>'registryRegion', s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'civil-affairs.adoption-registered.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- civil-affairs.adoption-dissolved.v1
    INSERT INTO tongban.adoption_dissolution (adoption_record_number, child_id, dissolved_on, kind, effective_time,
        event_id, fact_hash)
    SELECT d->>'adoptionRecordNumber', d->>'childId', (d->>'dissolvedDate')::date, d->>'kind', s.effective_time,
        s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'civil-affairs.adoption-dissolved.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- social-insurance.enrolled.v1
    INSERT INTO tongban.si_enrollment (person_id, name, insurance_type, employer_id, region_code, start_month,
        effective_time, event_id, fact_hash)
    SELECT d->>'personId', d->>'name', d->>'insuranceType', d->>'employerId', d->>'regionCode',
        ((d->>'startMonth') || '-01')::date, s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'social-insurance.enrolled.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- social-insurance.enrollment-ended.v1
    INSERT INTO tongban.si_enrollment_end (person_id, insurance_type, region_code, end_month, reason_code, note,
        effective_time, event_id, fact_hash)
    SELECT d->>'personId', d->>'insuranceType', d->>'regionCode', ((d->>'endMonth') || '-01')::date,
        d->>'reasonCode', d->>'note', s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'social-insurance.enrollment-ended.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- social-insurance.contribution-posted.v1
    INSERT INTO tongban.contribution (posting_id, person_id, month, insurance_type, region_code, base,
        employer_amount, employee_amount, employer_id, effective_time, event_id, fact_hash)
    SELECT d->>'postingId', d->>'personId', ((d->>'month') || '-01')::date, d->>'insuranceType', d->>'regionCode',
        (d->>'base')::numeric, (d->>'employerAmount')::numeric, (d->>'employeeAmount')::numeric, d->>'employerId',
        s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'social-insurance.contribution-posted.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- social-insurance.contribution-reversed.v1
    INSERT INTO tongban.contribution_reversal (posting_id, person_id, reason_code, note, effective_time, event_id,
        fact_hash)
    SELECT d->>'postingId', d->>'personId', d->>'reasonCode', d->>'note', s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'social-insurance.contribution-reversed.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- medical-insurance.enrolled.v1
    INSERT INTO tongban.mi_enrollment (person_id, name, scheme, region_code, start_date, employer_id, effective_time,
        event_id, fact_hash)
    SELECT d->>'personId', d->>'name', d->>'scheme', d->>'regionCode', (d->>'startDate')::date, d->>'employerId',
        s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'medical-insurance.enrolled.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- medical-insurance.e-voucher-activated.v1
    INSERT INTO tongban.mi_voucher (person_id, voucher_id, activated_at, effective_time, event_id, fact_hash)
    SELECT d->>'personId', d->>'voucherId', (d->>'activatedAt')::timestamptz, s.effective_time, s.event_id,
        s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'medical-insurance.e-voucher-activated.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- medical-insurance.cross-region-care-filed.v1
    INSERT INTO tongban.mi_filing (filing_id, person_id, from_region, to_region, category, valid_from, valid_to,
        effective_time, event_id, fact_hash)
    SELECT d->>'filingId', d->>'personId', d->>'fromRegion', d->>'toRegion', d->>'category',
        (d->>'validFrom')::date, (d->>'validTo')::date, s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'medical-insurance.cross-region-care-filed.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- medical-insurance.cross-region-care-cancelled.v1
    INSERT INTO tongban.mi_filing_cancellation (filing_id, person_id, cancelled_from, effective_time, event_id,
        fact_hash)
    SELECT d->>'filingId', d->>'personId', (d->>'cancelledDate')::date, s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'medical-insurance.cross-region-care-cancelled.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- property.title-registered.v1: the property, and its first owner set.
    INSERT INTO tongban.title (title_number, certificate_number, property_region, address, area_square_meters, use,
        registered_on, effective_time, event_id, fact_hash)
    SELECT d->>'titleNumber', d->>'certificateNumber', d->>'propertyRegion', d->>'address',
        (d->>'areaSquareMeters')::numeric, d->>'use', (d->>'registrationDate')::date, s.effective_time, s.event_id,
        s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'property.title-registered.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- Owner sets: property.title-registered.v1 and property.title-transferred.v1.
    INSERT INTO tongban.title_ownership (title_number, certificate_number, co_ownership, effective_on, kind,
        effective_time, event_id, fact_hash)
    SELECT d->>'titleNumber', d->>'certificateNumber', d->>'coOwnership',
        coalesce((d->>'registrationDate')::date, (d->>'transferDate')::date),
        CASE WHEN s.type = 'property.title-registered.v1' THEN 'registration' ELSE d->>'kind' END,
        s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type IN ('property.title-registered.v1', 'property.title-transferred.v1')
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- Only the owners of owner sets this batch inserted (an identical set already stored keeps its owners).
    INSERT INTO tongban.title_owner (fact_hash, title_number, position, person_id, name, share, share_numerator,
        share_denominator, event_id)
    SELECT s.fact_hash, s.data->>'titleNumber', (o.n - 1)::int, o.owner->>'personId', o.owner->>'name',
        o.owner->>'share', split_part(o.owner->>'share', '/', 1)::int, split_part(o.owner->>'share', '/', 2)::int,
        s.event_id
    FROM pg_temp.tongban_stage s
    JOIN tongban.title_ownership t ON t.fact_hash = s.fact_hash AND t.event_id = s.event_id
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(s.data->'owners', s.data->'newOwners'))
        WITH ORDINALITY AS o(owner, n)
    WHERE s.type IN ('property.title-registered.v1', 'property.title-transferred.v1')
    ON CONFLICT DO NOTHING;

    -- property.mortgage-registered.v1
    INSERT INTO tongban.mortgage (mortgage_record_number, title_number, owner_ids, creditor_name, creditor_code,
        amount, registered_on, effective_time, event_id, fact_hash)
    SELECT d->>'mortgageRecordNumber', d->>'titleNumber', ARRAY(SELECT jsonb_array_elements_text(d->'ownerIds')),
        d#>>'{creditor,name}', d#>>'{creditor,creditCode}', (d->>'amount')::numeric,
        (d->>'registrationDate')::date, s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'property.mortgage-registered.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- property.mortgage-released.v1
    INSERT INTO tongban.mortgage_release (mortgage_record_number, title_number, owner_ids, released_on,
        effective_time, event_id, fact_hash)
    SELECT d->>'mortgageRecordNumber', d->>'titleNumber', ARRAY(SELECT jsonb_array_elements_text(d->'ownerIds')),
        (d->>'releaseDate')::date, s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'property.mortgage-released.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- property.seizure-registered.v1
    INSERT INTO tongban.seizure (seizure_record_number, title_number, owner_ids, court, case_number, registered_on,
        valid_to, effective_time, event_id, fact_hash)
    SELECT d->>'seizureRecordNumber', d->>'titleNumber', ARRAY(SELECT jsonb_array_elements_text(d->'ownerIds')),
        d->>'court', d->>'caseNumber', (d->>'registrationDate')::date, (d->>'validTo')::date, s.effective_time,
        s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'property.seizure-registered.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- property.seizure-lifted.v1
    INSERT INTO tongban.seizure_lift (seizure_record_number, title_number, owner_ids, lifted_on, effective_time,
        event_id, fact_hash)
    SELECT d->>'seizureRecordNumber', d->>'titleNumber', ARRAY(SELECT jsonb_array_elements_text(d->'ownerIds')),
        (d->>'liftedDate')::date, s.effective_time, s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s CROSS JOIN LATERAL (SELECT s.data AS d) x
    WHERE s.type = 'property.seizure-lifted.v1'
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    -- 5. Identity assertions: every name (and the register's sex and birth date) any event states.
    INSERT INTO tongban.identity_assertion (person_id, attribute, value, department, event_type, asserted_at,
        asserted_on, event_id, fact_hash)
    SELECT a.person_id, a.attribute, a.value, split_part(s.type, '.', 1), s.type, s.effective_time,
        coalesce(a.asserted_on, tongban.beijing_date(s.effective_time)), s.event_id, s.fact_hash
    FROM pg_temp.tongban_stage s
    CROSS JOIN LATERAL (
        -- Household registry: the registration (from its effective date) and name changes.
        SELECT d.person_id, v.attribute, v.value, d.on_date AS asserted_on
        FROM (SELECT
                CASE WHEN s.type = 'household.birth-registered.v1' THEN s.data->>'childId' ELSE s.data->>'personId' END
                    AS person_id,
                CASE WHEN s.type = 'household.birth-registered.v1' THEN (s.data->>'birthDate')::date
                    ELSE (s.data->>'effectiveDate')::date END AS on_date) d
        CROSS JOIN LATERAL (VALUES
            ('name', coalesce(s.data->>'childName', s.data->>'name')),
            ('sex', s.data->>'sex'),
            ('birth_date', s.data->>'birthDate')) AS v(attribute, value)
        WHERE s.type IN ('household.birth-registered.v1', 'household.person-registered.v1')
        UNION ALL
        SELECT s.data->>'personId', 'name', s.data->>'newName', (s.data->>'effectiveDate')::date
        WHERE s.type = 'household.name-changed.v2'
        UNION ALL
        -- Civil affairs: the spouses' names on the marriage or divorce record.
        SELECT s.data#>>ARRAY[p, 'id'], 'name', s.data#>>ARRAY[p, 'name'],
            coalesce((s.data->>'registrationDate')::date, (s.data->>'divorceDate')::date)
        FROM unnest(ARRAY['spouseA', 'spouseB']) AS p
        WHERE s.type IN ('civil-affairs.marriage-registered.v1', 'civil-affairs.divorce-registered.v1')
        UNION ALL
        -- Social and medical insurance: the name as recorded by the agency, on the day it recorded it.
        SELECT s.data->>'personId', 'name', s.data->>'name', NULL::date
        WHERE s.type IN ('social-insurance.enrolled.v1', 'medical-insurance.enrolled.v1')
        UNION ALL
        -- Property: the owners' names on the title.
        SELECT o->>'personId', 'name', o->>'name',
            coalesce((s.data->>'registrationDate')::date, (s.data->>'transferDate')::date)
        FROM jsonb_array_elements(coalesce(s.data->'owners', s.data->'newOwners')) AS o
        WHERE s.type IN ('property.title-registered.v1', 'property.title-transferred.v1')
    ) a
    ORDER BY s.event_id
    ON CONFLICT DO NOTHING;

    RETURN QUERY
    SELECT k.topic, k.partition, k.message_offset, k.event_id, k.outcome
    FROM pg_temp.tongban_skip k
    ORDER BY k.topic, k.partition, k.message_offset;

    DELETE FROM pg_temp.tongban_stage;
    DELETE FROM pg_temp.tongban_skip;
END
$$;
