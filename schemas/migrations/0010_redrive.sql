-- Tongban views, part 10: where a redriven dead letter went.
--
-- Why: `tongban dead-letters redrive` sends a dead letter's original key and value again, unchanged, to the
-- partition it was read from, once the cause on the hub's side is fixed (a key registered late, a view that refused
-- a valid fact). The copy gets a new offset there and is verified and applied like any message; if it is rejected
-- again, it is a new dead letter at that offset. The old row stays as history: redriven_at (reserved since 0001)
-- says when, and redriven_offset says where the copy went, so an operator can follow it.

ALTER TABLE tongban.dead_letter ADD COLUMN redriven_offset bigint CHECK (redriven_offset >= 0);

COMMENT ON COLUMN tongban.dead_letter.redriven_offset IS
    'The offset of the redriven copy in the same topic and partition (NULL until redriven).';

-- For the list's "copy of …": the dead letter whose redriven copy is at a given offset.
CREATE INDEX dead_letter_redriven_copy ON tongban.dead_letter (topic, partition, redriven_offset)
    WHERE redriven_offset IS NOT NULL;
