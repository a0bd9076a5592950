-- Tongban views, part 11: which key set vouched for each verified watermark, and which message it ended on.
--
-- Why: below `verified_through` a rebuild applies events without checking their signatures again. That is only sound
-- while (1) the departments' key set is the one that verified them: a key revoked after a leak must not let the
-- forged events signed with it back in, and a view group running with another (weaker) key set must not raise a
-- watermark that others then trust; and (2) the topic still holds the very messages that were verified: a topic
-- deleted and recreated under the same name has other messages at the same offsets.
--
-- So each watermark now records the fingerprint of the key set that verified every message below it
-- (`verified_keys`, SHA-256 of the key set's JWK Set with statuses), and the SHA-256 of the message at
-- `verified_through - 1` (`verified_anchor`). A projector trusts a watermark only when the fingerprint is its own and
-- the message at that offset is still the same; otherwise it verifies every signature again from offset 0. Rows
-- written before this migration have neither, and are trusted by nobody: the next rebuild verifies everything.

ALTER TABLE tongban.checkpoint
    ADD COLUMN verified_keys text,
    ADD COLUMN verified_anchor text CHECK (verified_anchor ~ '^[0-9a-f]{64}$');

COMMENT ON COLUMN tongban.checkpoint.verified_keys IS
    'Fingerprint (SHA-256, hex) of the department key set that verified every message below verified_through; '
    'a projector with another key set does not trust the watermark. NULL: trusted by nobody.';
COMMENT ON COLUMN tongban.checkpoint.verified_anchor IS
    'SHA-256 (hex) of the message value at offset verified_through - 1, to recognise a recreated topic. '
    'NULL: trusted by nobody.';
