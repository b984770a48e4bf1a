-- Operator-managed configuration and the audit log (D1).

-- Named Magic Link endpoints; `settings` is JSON validated by the zod EndpointSettings schema.
CREATE TABLE endpoints (
  name        TEXT PRIMARY KEY,
  settings    TEXT NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

-- API tokens: only the SHA-256 of the secret is stored; the secret is shown once.
CREATE TABLE api_tokens (
  id          TEXT PRIMARY KEY,
  endpoint    TEXT NOT NULL REFERENCES endpoints(name) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  sha256      TEXT NOT NULL UNIQUE,
  expires     TEXT,             -- last valid day (UTC), YYYY-MM-DD, or NULL for no expiry
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
CREATE INDEX api_tokens_endpoint ON api_tokens(endpoint);

-- Every authentication and every admin action. MSISDNs are stored masked.
CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,  -- ms since epoch
  kind        TEXT NOT NULL CHECK (kind IN ('auth', 'admin')),
  endpoint    TEXT,
  msisdn      TEXT,
  channel     TEXT,
  result      TEXT,
  latency_ms  INTEGER,
  actor       TEXT,
  action      TEXT,
  detail      TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_kind_at ON audit_log(kind, at);
