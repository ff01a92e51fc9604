-- Cofre schema 9 (sqlite): multi-Region keys (ADR 16). Times are microseconds since the epoch.
-- Related multi-Region keys share their key id (mrk-...), one key per Region: each has a
-- row of its own, whose key_id is its row id, "<mrk id>/<region>" (core.ids.key_row_id),
-- so versions, aliases, tags, grants and imported materials stay per key and per Region.
-- mrk_id is the shared key id (NULL for single-Region keys); primary_region is the Region
-- of the primary key, the same in every related row. settles_at is when the background
-- job ends a transient state (Creating, Updating). Existing keys are single-Region: NULLs.
ALTER TABLE keys ADD COLUMN mrk_id TEXT;
ALTER TABLE keys ADD COLUMN primary_region TEXT;
ALTER TABLE keys ADD COLUMN settles_at INTEGER;
CREATE INDEX keys_by_mrk ON keys (mrk_id) WHERE mrk_id IS NOT NULL;
CREATE INDEX keys_by_settling ON keys (settles_at) WHERE settles_at IS NOT NULL;
