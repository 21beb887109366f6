-- The search index keyed by integers. Each index row belongs to one stored version, named by
-- its `resources.seq`, and to one search parameter of that version's type, named by a `pid`
-- from `search_params`: the repeated text (type, id, param) of 0002 made most of the index's
-- size and its per-resource b-tree most of the cost of every write.
--
-- Every table is clustered on (seq, pid, n), `n` numbering a version's rows of one parameter:
-- new versions have the largest seq, so writes append at the end of the table's b-tree, and
-- removing a version's rows, probing a resource for a parameter (a non-driving condition, a
-- sort key, an include) are one range of the primary key. One secondary index per value shape
-- serves the searches that drive; it carries the primary key, so it yields the seq.
--
-- The rows of 0002 cannot be converted in SQL (they name resources by type and id, and the
-- parameters by code): the tables are recreated empty and the engine reindexes the stored
-- versions when `store_flags` asks it to (only when resources exist).

DROP TABLE idx_string;
DROP TABLE idx_token;
DROP TABLE idx_date;
DROP TABLE idx_number;
DROP TABLE idx_quantity;
DROP TABLE idx_reference;
DROP TABLE idx_uri;
DROP TABLE idx_composite;

-- One row per (resource type, search parameter code) ever indexed; never deleted, so a pid
-- keeps its meaning for the life of the database.
CREATE TABLE search_params (
    pid  INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    code TEXT NOT NULL,
    UNIQUE (type, code)
);

-- Work the engine owes the database after an upgrade (`reindex`).
CREATE TABLE store_flags (
    name TEXT PRIMARY KEY
) WITHOUT ROWID;
INSERT INTO store_flags (name) SELECT 'reindex' WHERE EXISTS (SELECT 1 FROM resources);

CREATE TABLE idx_string (
    seq INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
    norm TEXT NOT NULL, exact TEXT NOT NULL,
    PRIMARY KEY (seq, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_string_value ON idx_string (pid, norm);

-- `system` and `code` are NULL when absent; `text` is the folded display or text, for `:text`.
CREATE TABLE idx_token (
    seq INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
    system TEXT, code TEXT, text TEXT,
    PRIMARY KEY (seq, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_token_code ON idx_token (pid, code, system);
CREATE INDEX idx_token_text ON idx_token (pid, text) WHERE text IS NOT NULL;

-- Inclusive millisecond ranges.
CREATE TABLE idx_date (
    seq INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
    low INTEGER NOT NULL, high INTEGER NOT NULL,
    PRIMARY KEY (seq, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_date_low ON idx_date (pid, low);
CREATE INDEX idx_date_high ON idx_date (pid, high);

CREATE TABLE idx_number (
    seq INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (seq, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_number_value ON idx_number (pid, value);

CREATE TABLE idx_quantity (
    seq INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
    value REAL NOT NULL, system TEXT, code TEXT, canon_value REAL, canon_code TEXT,
    PRIMARY KEY (seq, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_quantity_value ON idx_quantity (pid, value);
CREATE INDEX idx_quantity_canonical ON idx_quantity (pid, canon_code, canon_value) WHERE canon_code IS NOT NULL;

-- A local reference sets target_type and target_id; an absolute or canonical one sets url
-- (with its |version); an absolute URL naming a type and id sets both.
CREATE TABLE idx_reference (
    seq INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
    target_type TEXT, target_id TEXT, url TEXT, version TEXT,
    PRIMARY KEY (seq, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_reference_target ON idx_reference (pid, target_id, target_type) WHERE target_id IS NOT NULL;
CREATE INDEX idx_reference_url ON idx_reference (pid, url) WHERE url IS NOT NULL;

CREATE TABLE idx_uri (
    seq INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (seq, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_uri_value ON idx_uri (pid, value);

-- A composite's first component is a token; the second is one of token, string, date, number
-- or quantity, in the matching columns.
CREATE TABLE idx_composite (
    seq INTEGER NOT NULL, pid INTEGER NOT NULL, n INTEGER NOT NULL,
    system1 TEXT, code1 TEXT NOT NULL,
    system2 TEXT, code2 TEXT, text2 TEXT, num2 REAL, low2 INTEGER, high2 INTEGER,
    canon2 REAL, canon_code2 TEXT,
    PRIMARY KEY (seq, pid, n)
) WITHOUT ROWID;
CREATE INDEX idx_composite_code ON idx_composite (pid, code1);
