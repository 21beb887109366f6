-- Not a schema change: the indexer now reads the date component of `code-value-date` (R4's
-- `value.as(DateTime)`, the System type, which matched no FHIR `dateTime`) as the FHIR type,
-- so an Observation with a `valueDateTime` gains a composite row. Observations stored before
-- have none: rebuild the index where there are any.
INSERT OR IGNORE INTO store_flags (name)
SELECT 'reindex' WHERE EXISTS (SELECT 1 FROM resources WHERE type = 'Observation');
