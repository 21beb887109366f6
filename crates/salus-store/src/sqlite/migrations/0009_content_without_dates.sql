-- Not a schema change: `_content` no longer indexes date and time values (see
-- `salus_search::fulltext`), a third of the words of a typical record. Rebuild the index of a
-- database that has resources, so that stored and new versions are searched alike.
INSERT OR IGNORE INTO store_flags (name)
SELECT 'reindex' WHERE EXISTS (SELECT 1 FROM resources);
