-- The counter rows' unique index (0003) covers only the rows that have a bucket. Every ordinary
-- audit row left a NULL entry in it, and D1 bills each index entry as a row written: one of the
-- ~4 rows written per authentication's audit row, for an index no query of those rows uses.
DROP INDEX audit_log_bucket;
CREATE UNIQUE INDEX audit_log_bucket ON audit_log(bucket) WHERE bucket IS NOT NULL;
