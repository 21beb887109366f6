-- A third composite component: the R4 MolecularSequence coordinates
-- (`chromosome-variant-coordinate`, `chromosome-window-coordinate`,
-- `referenceseqid-variant-coordinate`, `referenceseqid-window-coordinate`) are token, number,
-- number; the first two components use the columns of 0005, the third number is `num3`. The
-- only three-component composites R4 defines end in a number, so one column is enough.
--
-- Searches still drive from `idx_composite_code (pid, code1)`: a coordinate search always
-- names the chromosome or reference sequence, and `num3` is tested on those rows.
ALTER TABLE idx_composite ADD COLUMN num3 REAL;

-- Stored MolecularSequence versions were indexed without their coordinates (the indexer
-- skipped three-component composites): they need a reindex. No other index row changed, so
-- a database without MolecularSequence resources has nothing to rebuild.
INSERT OR IGNORE INTO store_flags (name)
SELECT 'reindex' WHERE EXISTS (SELECT 1 FROM resources WHERE type = 'MolecularSequence');
