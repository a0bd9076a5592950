-- Tongban views, part 6: projectors write the facts themselves (replaces prepare_stage() and apply_stage()).
--
-- REBUILD: this migration empties the ledger and the fact tables and moves every checkpoint back to offset 0, so
-- the next projector run rebuilds the views from the start of the streams. The verified watermarks, the rejected
-- offsets and the dead letters are positions in the streams and stay: the rebuild verifies nothing again.
--
-- Why: the apply moves out of PL/pgSQL into the projector (`ViewStore` in Sources/Projections), measured with
-- `tongban bench ingest`. The projector
-- - computes the hashes from the canonical bytes it already has for the signature (content_hash: SHA-256 of the
--   envelope without tbsig and tbkid; fact_hash: SHA-256 of the current type, a line feed and the upcast data; each
--   the first 16 bytes, as a uuid) instead of md5 over jsonb text: the stored hashes change, hence the rebuild;
-- - decides from the ledger which events are duplicates, reused ids or facts already established (one indexed probe
--   per batch), and writes each table's rows with one binary COPY: no staging table, no jsonb, no ON CONFLICT;
-- - keeps the envelope as received, byte for byte, as text (jsonb cost a parse per event and kept no bytes).
-- Idempotency by fact moves from a unique fact_hash per fact table to the ledger: the one event of each fact_hash
-- that "establishes" it owns the fact rows; others (the same fact re-sent under a new id) are recorded in the ledger
-- only. Among events of the same fact the earliest position (topic, partition, offset) establishes it, in any
-- batching: the same fact has the same record key, so its copies share a partition and arrive in offset order.

DROP FUNCTION tongban.apply_stage();
DROP FUNCTION tongban.prepare_stage();

TRUNCATE tongban.event, tongban.identity_assertion, tongban.title_owner, tongban.title_ownership,
    tongban.person_registration, tongban.household, tongban.membership_change, tongban.name_change,
    tongban.death, tongban.marriage, tongban.divorce, tongban.adoption, tongban.adoption_dissolution,
    tongban.si_enrollment, tongban.si_enrollment_end, tongban.contribution, tongban.contribution_reversal,
    tongban.mi_enrollment, tongban.mi_voucher, tongban.mi_filing, tongban.mi_filing_cancellation, tongban.title,
    tongban.mortgage, tongban.mortgage_release, tongban.seizure, tongban.seizure_lift;
UPDATE tongban.checkpoint SET next_offset = 0, updated_at = now();

-- The ledger: positions and subject lookups had no reader; the envelope is kept as received; fact_hash and
-- establishes make it the idempotency check for facts too.
DROP INDEX tongban.event_subject;
DROP INDEX tongban.event_position;
ALTER TABLE tongban.event
    ALTER COLUMN envelope TYPE text USING envelope::text,
    ADD COLUMN fact_hash uuid NOT NULL,
    ADD COLUMN establishes boolean NOT NULL;
CREATE UNIQUE INDEX event_fact ON tongban.event (fact_hash) WHERE establishes;

COMMENT ON COLUMN tongban.event.content_hash IS
    'SHA-256 (first 16 bytes) of the RFC 8785 canonical envelope without tbsig and tbkid';
COMMENT ON COLUMN tongban.event.envelope IS
    'The envelope exactly as received (signature included): its canonical bytes can be rebuilt and verified';
COMMENT ON COLUMN tongban.event.fact_hash IS
    'SHA-256 (first 16 bytes) of the current type, a line feed and the canonical upcast data';
COMMENT ON COLUMN tongban.event.establishes IS
    'Whether this event established its facts (the first of its fact_hash); false for the same fact re-sent';

-- Facts: one event establishes each fact_hash (unique in the ledger), so the fact tables need no unique index of
-- their own. title_ownership keeps its one: title_owner refers to it.
ALTER TABLE tongban.person_registration DROP CONSTRAINT person_registration_fact_hash_key;
ALTER TABLE tongban.household DROP CONSTRAINT household_fact_hash_key;
ALTER TABLE tongban.membership_change DROP CONSTRAINT membership_change_fact_hash_key;
ALTER TABLE tongban.name_change DROP CONSTRAINT name_change_fact_hash_key;
ALTER TABLE tongban.death DROP CONSTRAINT death_fact_hash_key;
ALTER TABLE tongban.marriage DROP CONSTRAINT marriage_fact_hash_key;
ALTER TABLE tongban.divorce DROP CONSTRAINT divorce_fact_hash_key;
ALTER TABLE tongban.adoption DROP CONSTRAINT adoption_fact_hash_key;
ALTER TABLE tongban.adoption_dissolution DROP CONSTRAINT adoption_dissolution_fact_hash_key;
ALTER TABLE tongban.si_enrollment DROP CONSTRAINT si_enrollment_fact_hash_key;
ALTER TABLE tongban.si_enrollment_end DROP CONSTRAINT si_enrollment_end_fact_hash_key;
ALTER TABLE tongban.contribution DROP CONSTRAINT contribution_fact_hash_key;
ALTER TABLE tongban.contribution_reversal DROP CONSTRAINT contribution_reversal_fact_hash_key;
ALTER TABLE tongban.mi_enrollment DROP CONSTRAINT mi_enrollment_fact_hash_key;
ALTER TABLE tongban.mi_voucher DROP CONSTRAINT mi_voucher_fact_hash_key;
ALTER TABLE tongban.mi_filing DROP CONSTRAINT mi_filing_fact_hash_key;
ALTER TABLE tongban.mi_filing_cancellation DROP CONSTRAINT mi_filing_cancellation_fact_hash_key;
ALTER TABLE tongban.title DROP CONSTRAINT title_fact_hash_key;
ALTER TABLE tongban.mortgage DROP CONSTRAINT mortgage_fact_hash_key;
ALTER TABLE tongban.mortgage_release DROP CONSTRAINT mortgage_release_fact_hash_key;
ALTER TABLE tongban.seizure DROP CONSTRAINT seizure_fact_hash_key;
ALTER TABLE tongban.seizure_lift DROP CONSTRAINT seizure_lift_fact_hash_key;
