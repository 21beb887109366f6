-- Background jobs (Bulk Data `$export` first): their request and progress as JSON the engine
-- owns, so a job outlives the process that started it and a restarted server picks it up.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX jobs_kind_status ON jobs (kind, status);
