-- Admin console sign-in sessions. Only the SHA-256 of the session id (the cookie's value) is
-- stored, so a copy of this table signs nobody in. Idle and absolute expiry are checked on
-- every request (workers/domain/console-session.ts); sign-out deletes the row.
CREATE TABLE console_sessions (
  id_sha256     TEXT PRIMARY KEY,
  operator      TEXT NOT NULL,
  created_at    INTEGER NOT NULL,  -- ms since epoch
  last_seen_at  INTEGER NOT NULL
);
CREATE INDEX console_sessions_last_seen ON console_sessions(last_seen_at);
