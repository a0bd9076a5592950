-- Tongban views, part 9: whether the views can be certified from, for the services that read them.
--
-- Why: a rebuild (`tongban rebuild`) empties the views and fills them again from offset 0. Until it has caught up, a
-- view answers from part of the streams: "no such parent", "no month paid", "no title" may only mean "not read yet".
-- A certificate service must not certify such an answer. `tongban.view_state()` tells it, in one small query,
-- whether the views are complete: it issues certificates only while `ready` is true.
--
-- The view tables are shared by every view group (a rebuild of one group empties them for all), so the state is the
-- database's: a rebuild of any group makes the views not ready.

CREATE FUNCTION tongban.view_state()
RETURNS TABLE (
    -- Something has been projected, and no rebuild is under way.
    ready boolean,
    -- A rebuild is under way: some checkpoint is below its verified watermark, or what a rebuild took off the view
    -- tables (tongban.rebuild_deferred) is not restored yet.
    rebuilding boolean,
    -- Checkpoints, one per (view group, topic, partition) (0: nothing projected yet).
    partitions int,
    -- Checkpoints below their verified watermark (being read again).
    partitions_behind int,
    -- Indexes and autovacuum settings a rebuild took off the view tables and has not restored.
    deferred_objects int,
    -- When a checkpoint last moved.
    last_applied_at timestamptz
)
LANGUAGE sql STABLE
AS $$
    WITH c AS (
        SELECT count(*)::int AS partitions,
               (count(*) FILTER (WHERE next_offset < coalesce(verified_through, 0)))::int AS behind,
               max(updated_at) AS last_applied_at
        FROM tongban.checkpoint
    ), d AS (
        SELECT count(*)::int AS deferred FROM tongban.rebuild_deferred
    )
    SELECT c.partitions > 0 AND c.behind = 0 AND d.deferred = 0,
           c.behind > 0 OR d.deferred > 0,
           c.partitions, c.behind, d.deferred, c.last_applied_at
    FROM c, d
$$;

COMMENT ON FUNCTION tongban.view_state() IS
    'Whether the views are complete (ready) or being rebuilt; certificate services issue certificates only while ready';
