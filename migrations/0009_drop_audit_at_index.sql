-- Every audit row wrote an entry into audit_log_at, and D1 bills each index entry as a row
-- written: one of the ~3 rows written per authentication's audit row, about $1 of the ~$14
-- per million authentications (docs/benchmarks.md, Cost). Its one use was the retention purge,
-- which now finds the same rows through audit_log_kind_at: kind is CHECKed to be 'auth' or
-- 'admin', so "kind IN ('auth', 'admin') AND at < ?" is "at < ?" (workers/store/audit.ts).
-- Either order of deploy and migration works: the purge's query is correct with or without it.
DROP INDEX IF EXISTS audit_log_at;
