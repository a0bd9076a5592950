-- Tongban views, part 1: the schema and the projector runtime's own tables.
--
-- Positions live in PostgreSQL (STYLE §4): a batch's fact rows and its checkpoint rows commit in one
-- transaction, so after a restart the projector seeks to exactly what the views contain.

CREATE SCHEMA IF NOT EXISTS tongban;

COMMENT ON SCHEMA tongban IS
    'Tongban verified views: fact tables written by projectors, and read-only v_* views and functions '
    'derived from them (see schemas/migrations/README.md).';

-- One row per (view group, topic, partition): where the projector resumes, and how far every message
-- was verified. Advanced with a compare-and-set on next_offset.
CREATE TABLE tongban.checkpoint (
    view_group text NOT NULL,
    topic text NOT NULL,
    partition int NOT NULL CHECK (partition >= 0),
    -- The offset of the next message to read (the last applied offset + 1).
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    -- Every message below this offset had its signature verified (a rebuild re-verifies nothing below it);
    -- NULL when nothing has been verified.
    verified_through bigint CHECK (verified_through >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (view_group, topic, partition)
);

-- Messages that could not be applied, with the original bytes and the reason in plain words.
-- The runtime also produces them to the dead-letter topic; this table is what `redrive` reads.
CREATE TABLE tongban.dead_letter (
    topic text NOT NULL,
    partition int NOT NULL,
    message_offset bigint NOT NULL,
    -- The Kafka key and value exactly as received (the value may not even be JSON).
    key bytea,
    value bytea NOT NULL,
    reason text NOT NULL,
    -- The envelope id and type, when the message was readable enough to have them.
    event_id uuid,
    event_type text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- Set by an operator's redrive; the row stays as history.
    redriven_at timestamptz,
    PRIMARY KEY (topic, partition, message_offset)
);

CREATE INDEX dead_letter_recorded_at ON tongban.dead_letter (recorded_at);

-- Offsets the verifier rejected (per partition, independent of view group): a rebuild skips them
-- without verifying again. The dead letter holds the bytes; this is the compact list.
CREATE TABLE tongban.rejected_offset (
    topic text NOT NULL,
    partition int NOT NULL,
    message_offset bigint NOT NULL,
    reason text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition, message_offset)
);

-- The ledger of applied events: one row per envelope id, with where it was read and a hash of its
-- content. It is the idempotency check (an id already applied with the same content is ignored, with
-- different content rejected) and the provenance index: every fact row's event_id points here, and the
-- envelope (signature included) lets anyone verify that the department said it.
CREATE TABLE tongban.event (
    event_id uuid PRIMARY KEY,
    -- The type as sent (a superseded version keeps its own type here; facts use the upcast form).
    type text NOT NULL,
    subject text NOT NULL,
    source text NOT NULL,
    effective_time timestamptz NOT NULL,
    topic text NOT NULL,
    partition int NOT NULL,
    message_offset bigint NOT NULL,
    -- md5 of the envelope without tbsig/tbkid, as jsonb text (key order and whitespace do not matter).
    content_hash uuid NOT NULL,
    -- The envelope as received (jsonb keeps every string exactly, so the canonical bytes can be rebuilt).
    envelope jsonb NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX event_subject ON tongban.event (subject);
CREATE INDEX event_position ON tongban.event (topic, partition, message_offset);
