-- Tongban views, part 8: a rebuild may keep the ledger and rebuild only the facts.
--
-- Why: a rebuild that only needs the facts again (a view projector fixed or added) need not decide every event again.
-- The ledger (tongban.event) already records, for every applied event, where it was read and whether it established
-- its facts; `ViewStore.resetForRebuild(keepingLedger: true)` empties only the fact tables and records here, per
-- partition, the offset the checkpoint had reached. Below it the projector reads the decision and the fact hash from
-- the ledger (one indexed probe by event id per batch) and writes the facts alone: no hashing, no ledger rows, no
-- unique index to check. In live operation the ledger holds no event at or above a partition's next_offset, so the
-- column matters only while next_offset < ledger_through.

ALTER TABLE tongban.checkpoint ADD COLUMN ledger_through bigint NOT NULL DEFAULT 0;

COMMENT ON COLUMN tongban.checkpoint.ledger_through IS
    'During a rebuild that kept the ledger: every event this partition applied below this offset is in tongban.event; '
    'its facts are written again from the ledger''s decision. 0 when the ledger was rebuilt too';
