-- Cofre schema 4 (postgresql): imported key material (BYOK). Times are microseconds since the epoch.
-- imported_material_id names the material first imported into a key: a later import must
-- bring the same material (its id is a keyed hash of it), as AWS requires.
ALTER TABLE keys ADD COLUMN expiration_model TEXT;
ALTER TABLE keys ADD COLUMN material_valid_to BIGINT;
ALTER TABLE keys ADD COLUMN imported_material_id BYTEA;
CREATE INDEX keys_by_material_expiry ON keys (material_valid_to) WHERE material_valid_to IS NOT NULL;
