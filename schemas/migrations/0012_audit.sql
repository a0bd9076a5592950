-- Tongban, part 12: the audit log of the certificate services' requests (全程留痕).
--
-- Why: every request a certificate service makes about citizens (answered, refused, rate-limited, or failed) is
-- recorded, so that a citizen can see who looked at their data, when and why, and an operator can prove that nothing
-- recorded was altered, removed or reordered since. The rows form a hash chain: each row's hash covers the previous
-- row's hash and the row's own fields (the exact rule is in schemas/migrations/README.md, "The audit log"), so
-- changing any row breaks every hash from there on, and a verifier needs only the rows to tell.
--
-- Writers append in seq order without gaps: each transaction takes the advisory lock 0x746F6E6762616E41
-- ("tongbanA") with pg_advisory_xact_lock, reads the last row, and inserts the next rows. Rows are never updated or
-- deleted: a trigger refuses it (someone with the rights to disable the trigger can still do it, and the chain tells;
-- removing the last rows, or TRUNCATE, leaves a shorter chain that is intact: compare with a last hash recorded
-- elsewhere). A rebuild of the views (`tongban rebuild`) never touches this table.

CREATE TABLE tongban.audit_log (
    seq bigint PRIMARY KEY CHECK (seq >= 1),
    recorded_at timestamptz NOT NULL,
    client_id text NOT NULL,
    purpose text NOT NULL,
    on_behalf_of text CHECK (on_behalf_of <> ''),
    subjects text[] NOT NULL
        CHECK (array_position(subjects, NULL) IS NULL AND coalesce(array_ndims(subjects), 1) = 1),
    question text NOT NULL,
    answer_summary text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('answered', 'refused', 'rate-limited', 'error')),
    status int NOT NULL CHECK (status BETWEEN 100 AND 599),
    previous_hash bytea NOT NULL CHECK (octet_length(previous_hash) = 32),
    hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);

COMMENT ON TABLE tongban.audit_log IS
    'Every request of a certificate service, hash-chained: append-only, seq 1, 2, 3 … without gaps; '
    'hash = SHA-256(previous_hash || canonical encoding of the row), see schemas/migrations/README.md.';
COMMENT ON COLUMN tongban.audit_log.seq IS 'Position in the chain: 1, 2, 3 … without gaps.';
COMMENT ON COLUMN tongban.audit_log.recorded_at IS
    'When the row was written (the server clock, to the microsecond; never earlier than the row before).';
COMMENT ON COLUMN tongban.audit_log.client_id IS 'The registered client (certificate service) that asked.';
COMMENT ON COLUMN tongban.audit_log.purpose IS 'The purpose the client gave for the request.';
COMMENT ON COLUMN tongban.audit_log.on_behalf_of IS
    'The citizen ID of the person who acts for the subjects (a relative), or NULL when nobody does.';
COMMENT ON COLUMN tongban.audit_log.subjects IS 'The citizen IDs the request asked about, in the order asked.';
COMMENT ON COLUMN tongban.audit_log.question IS 'What was asked, e.g. ''kinship''.';
COMMENT ON COLUMN tongban.audit_log.answer_summary IS
    'A short summary of the answer or refusal, naming no personal data beyond what the row names already.';
COMMENT ON COLUMN tongban.audit_log.outcome IS 'answered, refused, rate-limited or error.';
COMMENT ON COLUMN tongban.audit_log.status IS 'The HTTP status the client was given.';
COMMENT ON COLUMN tongban.audit_log.previous_hash IS 'The hash of row seq - 1; 32 zero bytes for row 1.';
COMMENT ON COLUMN tongban.audit_log.hash IS
    'SHA-256 of previous_hash followed by the canonical encoding of this row''s fields.';

-- The citizen's view: who asked about a person (subjects @> ARRAY[person]).
CREATE INDEX audit_log_subjects ON tongban.audit_log USING gin (subjects);

CREATE FUNCTION tongban.audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'tongban.audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

COMMENT ON FUNCTION tongban.audit_log_append_only() IS 'Refuses UPDATE and DELETE on tongban.audit_log.';

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON tongban.audit_log
    FOR EACH ROW EXECUTE FUNCTION tongban.audit_log_append_only();
