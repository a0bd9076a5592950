-- Tongban views, part 7: a rebuild builds the readers' indexes once, when it has caught up.
--
-- Why: measured with `tongban bench apply` (200k events, one connection, autovacuum off), PostgreSQL spends about
-- 19 µs per event with every index in place, 12 µs without the fact tables' secondary indexes and 6 µs with no
-- index at all. The secondary indexes serve only the readers of the views, never the apply (its ledger probe uses
-- the unique indexes of tongban.event). A rebuild empties the views anyway, so `ViewStore.resetForRebuild` now
-- drops those indexes and turns autovacuum off on the emptied tables, recording here how to restore both; the
-- projector restores them all in one transaction as soon as every checkpoint of the view group is back at its
-- verified watermark (`ViewStore.finishRebuild`); autovacuum, on again, then refreshes the statistics. A crash in between leaves this table as it
-- was: the next projector finishes the work.
--
-- Unique indexes and the indexes behind constraints stay: they decide duplicates and reused ids during the rebuild.

CREATE TABLE tongban.rebuild_deferred (
    view_group text NOT NULL,
    -- 'index': `definition` recreates the index (pg_get_indexdef); 'autovacuum': the table's autovacuum is to be
    -- turned back on.
    kind text NOT NULL CHECK (kind IN ('index', 'autovacuum')),
    table_name text NOT NULL,
    object_name text NOT NULL,
    definition text,
    deferred_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, object_name)
);

COMMENT ON TABLE tongban.rebuild_deferred IS
    'What a rebuild in progress has taken off the view tables (secondary indexes, autovacuum), restored when it ends';
