-- Cofre schema 7 (sqlite): the materials of imported keys (on-demand rotation of imported keys).
-- One row per material ever bound to or staged in a key. The material itself is a
-- key_versions row while imported; staged material (PENDING_ROTATION) waits, wrapped under
-- the root key, in pending_wrapped. Times are microseconds since the epoch.
CREATE TABLE imported_materials (
    key_id           TEXT NOT NULL REFERENCES keys(key_id) ON DELETE CASCADE,
    material_id      BLOB NOT NULL,
    description      TEXT,
    expiration_model TEXT NOT NULL,
    valid_to         INTEGER,
    imported_at      INTEGER NOT NULL,
    pending_wrapped  BLOB,
    rotated_at       INTEGER,
    rotation_type    TEXT,
    PRIMARY KEY (key_id, material_id)
);
-- Keys imported under schema 4 keep their one material.
INSERT INTO imported_materials (key_id, material_id, expiration_model, valid_to, imported_at)
SELECT key_id, imported_material_id, COALESCE(expiration_model, 'KEY_MATERIAL_DOES_NOT_EXPIRE'),
       material_valid_to, created_at
FROM keys WHERE imported_material_id IS NOT NULL;
