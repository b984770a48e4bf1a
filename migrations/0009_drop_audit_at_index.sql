-- Every audit row wrote an entry into audit_log_at, and D1 bills each index entry as a row
-- written: one of the ~3 rows written per authentication's audit row, about $1 of the ~$14
-- per million authentications (docs/benchmarks.md, Cost). The daily retention purge, which
-- used it, now finds the same rows through audit_log_kind_at: kind is CHECKed to be 'auth' or
-- 'admin', so "kind IN ('auth', 'admin') AND at < ?" is "at < ?" (workers/store/audit.ts).
-- The console's audit search by date alone reads by id from the newest row instead, which its
-- LIMIT ends early for recent dates. Either order of deploy and migration works.
DROP INDEX IF EXISTS audit_log_at;
