-- Tongban views, part 15: the certificates the hub has issued, their status lists, and the re-checker's position.
--
-- Why: a certificate (a W3C Verifiable Credential signed by the hub) answers one question as of a point in the
-- streams. Whoever holds it learns whether it still holds from a Bitstring Status List: one bit per certificate in a
-- revocation list and one in a suspension list, at an index drawn at random (herd privacy: a list of 131,072 entries
-- says nothing about which certificate a verifier is checking). When a later event takes the basis of a certificate
-- away, the re-checker asks its question again and revokes it, naming that event.
--
-- A status list's bits are not stored: they are derived from the certificates' rows whenever the list is served.
-- Each revocation or suspension is an UPDATE of one certificate's row, so concurrent changes from several server
-- processes cannot overwrite each other's bits (a list kept as one stored bitstring, read, changed and written back,
-- loses a bit whenever two such writes cross).
--
-- None of these tables is emptied by a rebuild: they are the runtime's, like the audit log.

-- The lists, allocated in pairs: the revocation list and the suspension list of one pair share their indexes (a
-- certificate has the same index in both).
CREATE TABLE tongban.status_list (
    list_number int PRIMARY KEY CHECK (list_number > 0),
    purpose text NOT NULL CHECK (purpose IN ('revocation', 'suspension')),
    -- The number of entries (bits); the spec's minimum for herd privacy is 131,072.
    size int NOT NULL CHECK (size >= 131072 AND size % 8 = 0),
    -- The revocation list of the pair (itself for a revocation list).
    pair_number int NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tongban.certificate (
    certificate_id uuid PRIMARY KEY,
    -- 'kinship', 'social-insurance', 'property', 'medical-insurance'.
    kind text NOT NULL,
    -- The question's parameters, as asked (subject, relative, months, family, ...): the re-checker asks it again.
    question jsonb NOT NULL,
    -- The day of an as-of certificate ("what the registers said on that day"); NULL for one stating what holds now.
    as_of date,
    -- The answer as certified (the credential's claims, without evidence): a re-check compares the new answer to it.
    claims jsonb NOT NULL,
    -- The citizen IDs and record numbers (titles, filings) the certificate names: an event naming any of them
    -- triggers a re-check.
    watch text[] NOT NULL,
    -- The stream position the answer was read at ([{topic, partition, nextOffset}]); until the re-checker has looked
    -- at the events between there and its own position (caught_up), they may still revoke it.
    read_position jsonb NOT NULL,
    caught_up boolean NOT NULL DEFAULT false,
    -- The signed credential, byte for byte as issued.
    credential text NOT NULL,
    client_id text NOT NULL,
    issued_at timestamptz NOT NULL,
    valid_until timestamptz NOT NULL,
    revocation_list int NOT NULL REFERENCES tongban.status_list (list_number),
    suspension_list int NOT NULL REFERENCES tongban.status_list (list_number),
    status_index int NOT NULL CHECK (status_index >= 0),
    revoked_at timestamptz,
    revocation_reason text,
    -- 'stream', 'client:<id>' or 'operator'.
    revoked_by text,
    -- The event whose application took the basis away (a stream-driven revocation).
    revoked_by_event uuid,
    suspended_at timestamptz,
    suspension_reason text,
    suspended_by text,
    UNIQUE (revocation_list, status_index),
    CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL)),
    CHECK ((suspended_at IS NULL) = (suspension_reason IS NULL))
);
-- The re-checker's lookup: certificates still valid that name an ID.
CREATE INDEX certificate_watch ON tongban.certificate USING gin (watch) WHERE revoked_at IS NULL;
-- Serving a list: its set bits.
CREATE INDEX certificate_revoked ON tongban.certificate (revocation_list, status_index) WHERE revoked_at IS NOT NULL;
CREATE INDEX certificate_suspended ON tongban.certificate (suspension_list, status_index)
    WHERE suspended_at IS NOT NULL;
CREATE INDEX certificate_client ON tongban.certificate (client_id, issued_at);
CREATE INDEX certificate_fresh ON tongban.certificate (issued_at) WHERE NOT caught_up;

-- Every status change, for operators and for the measure of how fast the streams revoke.
CREATE TABLE tongban.certificate_status_change (
    seq bigserial PRIMARY KEY,
    certificate_id uuid NOT NULL REFERENCES tongban.certificate (certificate_id),
    action text NOT NULL CHECK (action IN ('revoke', 'suspend', 'reinstate')),
    reason text NOT NULL,
    changed_by text NOT NULL,
    caused_by_event uuid,
    -- When the causing event was applied (tongban.event.applied_at), so that the delay can be read off.
    event_applied_at timestamptz,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX certificate_status_change_certificate ON tongban.certificate_status_change (certificate_id, seq);

-- How far the re-checker has looked at the applied events, per partition (the next offset to look at).
CREATE TABLE tongban.recheck_position (
    topic text NOT NULL,
    partition int NOT NULL CHECK (partition >= 0),
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    PRIMARY KEY (topic, partition)
);

-- The views' generation: a rebuild adds one. The re-checker re-checks every valid certificate once the views are
-- ready at a generation it has not seen (what a rebuild changed is not known event by event).
CREATE TABLE tongban.views_generation (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation bigint NOT NULL,
    -- The generation whose re-check has been done.
    rechecked_generation bigint NOT NULL
);
INSERT INTO tongban.views_generation (generation, rechecked_generation) VALUES (0, 0);

-- The strings an applied event names (its subject and every string in its data: citizen IDs, title numbers, filing
-- ids...): the re-checker matches them against the certificates' `watch`.
CREATE FUNCTION tongban.event_keys(envelope text, subject text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT array_agg(DISTINCT k) FROM (
        SELECT subject AS k
        UNION ALL
        SELECT v #>> '{}' FROM jsonb_path_query(envelope::jsonb -> 'data', 'strict $.**') AS v
        WHERE jsonb_typeof(v) = 'string'
    ) keys WHERE k IS NOT NULL
$$;

COMMENT ON TABLE tongban.certificate IS
    'Certificates issued (W3C Verifiable Credentials), with the question to ask again and their status';
COMMENT ON TABLE tongban.status_list IS 'Bitstring status lists; their bits are derived from tongban.certificate';
