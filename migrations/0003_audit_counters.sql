-- Unauthenticated failures (no key, wrong key, unknown endpoint, bad parameters before the key
-- check) are counted, not stored one row each: one row per hour, endpoint and reason, whose
-- `count` grows. `bucket` names that row; ordinary rows leave it NULL (NULLs never conflict).
ALTER TABLE audit_log ADD COLUMN count INTEGER;
ALTER TABLE audit_log ADD COLUMN bucket TEXT;
CREATE UNIQUE INDEX audit_log_bucket ON audit_log(bucket);
