-- Search index rows, one table per search-parameter type. Each row belongs to the current
-- version of (type, id); rows are rewritten with every version and removed on delete. Every
-- search predicate leads with (type, param, value...), and (type, id, param) serves rewrites,
-- chains, includes and sort keys. Dates are inclusive millisecond ranges; strings are stored
-- folded (`norm`) and as written (`exact`).
CREATE TABLE idx_string (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    norm TEXT NOT NULL, exact TEXT NOT NULL
);
CREATE INDEX idx_string_value ON idx_string (type, param, norm);
CREATE INDEX idx_string_resource ON idx_string (type, id, param);

CREATE TABLE idx_token (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    system TEXT, code TEXT, text TEXT
);
CREATE INDEX idx_token_code ON idx_token (type, param, code, system);
CREATE INDEX idx_token_system ON idx_token (type, param, system, code);
CREATE INDEX idx_token_text ON idx_token (type, param, text) WHERE text IS NOT NULL;
CREATE INDEX idx_token_resource ON idx_token (type, id, param);

CREATE TABLE idx_date (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    low INTEGER NOT NULL, high INTEGER NOT NULL
);
CREATE INDEX idx_date_low ON idx_date (type, param, low);
CREATE INDEX idx_date_high ON idx_date (type, param, high);
CREATE INDEX idx_date_resource ON idx_date (type, id, param);

CREATE TABLE idx_number (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    value REAL NOT NULL
);
CREATE INDEX idx_number_value ON idx_number (type, param, value);
CREATE INDEX idx_number_resource ON idx_number (type, id, param);

CREATE TABLE idx_quantity (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    value REAL NOT NULL, system TEXT, code TEXT, canon_value REAL, canon_code TEXT
);
CREATE INDEX idx_quantity_value ON idx_quantity (type, param, value);
CREATE INDEX idx_quantity_canonical ON idx_quantity (type, param, canon_code, canon_value);
CREATE INDEX idx_quantity_resource ON idx_quantity (type, id, param);

CREATE TABLE idx_reference (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    target_type TEXT, target_id TEXT, url TEXT, version TEXT
);
CREATE INDEX idx_reference_target ON idx_reference (type, param, target_id, target_type);
CREATE INDEX idx_reference_inbound ON idx_reference (target_type, target_id);
CREATE INDEX idx_reference_url ON idx_reference (type, param, url) WHERE url IS NOT NULL;
CREATE INDEX idx_reference_resource ON idx_reference (type, id, param);

CREATE TABLE idx_uri (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX idx_uri_value ON idx_uri (type, param, value);
CREATE INDEX idx_uri_resource ON idx_uri (type, id, param);

-- A composite's first component is a token (every R4 composite this server supports); the
-- second is one of token, string, date, number or quantity, in the matching columns.
CREATE TABLE idx_composite (
    type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL,
    system1 TEXT, code1 TEXT NOT NULL,
    system2 TEXT, code2 TEXT, text2 TEXT, num2 REAL, low2 INTEGER, high2 INTEGER,
    canon2 REAL, canon_code2 TEXT
);
CREATE INDEX idx_composite_code ON idx_composite (type, param, code1);
CREATE INDEX idx_composite_resource ON idx_composite (type, id, param);
