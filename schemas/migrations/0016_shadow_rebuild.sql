-- Tongban views, part 16: the version of the code that built the views, for rebuilds into a shadow copy.
--
-- Why: `tongban rebuild` now builds the views' tables into a shadow copy (schema tongban_shadow) while the live views
-- keep serving, and swaps it in once it has caught up (see "Rebuilds" in README.md). The views' projectors carry a
-- version (`ViewStore.version` in Sources/Projections): raised whenever what a projector writes for an event changes,
-- so that views built by earlier code are known to need a rebuild. This row records the version that built the views
-- in this database, and how; a projector that finds an older one says so (and what to run), and `tongban status`
-- shows it. Views built before this migration were built by version 1.
--
-- Neither the shadow nor the copy a swap keeps (schema tongban_previous) is created here: `tongban rebuild` creates
-- them, with the same columns, keys and indexes as the tables they copy, and drops them again.

CREATE TABLE tongban.views_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    -- The views' version of the code that built them (0: older than any recorded version; only written by hand).
    version int NOT NULL CHECK (version >= 0),
    -- When that build started (the projection from empty tables, or the shadow rebuild that was swapped in).
    built_at timestamptz NOT NULL DEFAULT now(),
    -- How: 'migration', 'in-place rebuild', 'full shadow rebuild', 'shadow rebuild keeping the ledger', 'swapped
    -- back: ...'.
    built_by text NOT NULL
);
INSERT INTO tongban.views_version (version, built_by) VALUES (1, 'migration');

COMMENT ON TABLE tongban.views_version IS
    'The views'' version of the code that built the views (ViewStore.version), and how; one row';
