-- Every version of every resource. `seq` orders the system history; `current` marks the
-- latest version of each resource, found through the partial unique index below (never a scan).
CREATE TABLE resources (
    seq           INTEGER PRIMARY KEY,
    type          TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    patient_key   TEXT,
    last_updated  INTEGER NOT NULL,  -- milliseconds since the Unix epoch, UTC
    deleted       INTEGER NOT NULL DEFAULT 0,
    current       INTEGER NOT NULL DEFAULT 1,
    sha256        BLOB,
    body          BLOB,              -- the resource JSON with its meta; NULL for a deletion
    UNIQUE (type, id, version)
);
CREATE UNIQUE INDEX resources_current ON resources (type, id) WHERE current = 1;
CREATE INDEX resources_type_history ON resources (type, last_updated);
CREATE INDEX resources_history ON resources (last_updated);
CREATE INDEX resources_patient ON resources (patient_key, type) WHERE current = 1 AND patient_key IS NOT NULL;
