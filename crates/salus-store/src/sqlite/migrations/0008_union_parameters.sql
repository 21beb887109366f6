-- Not a schema change: the rows of Observation's `combo-*` parameters are no longer stored
-- (they are exactly the rows of `code` and `component-code`, and so on; a search reads the
-- parts, see `salus_search::unions`). Observations stored before still carry them: rebuild the
-- index where there are any, which drops them.
INSERT OR IGNORE INTO store_flags (name)
SELECT 'reindex' WHERE EXISTS (SELECT 1 FROM resources WHERE type = 'Observation');
