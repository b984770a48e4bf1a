-- Admin console device cookies (OWASP "device cookies"): a browser that signed in as an
-- operator carries a random id; only its SHA-256 is stored, with the operator, the admin
-- token's fingerprint (as console_sessions.credential) and its wrong sign-ins in a row. A
-- device only chooses which rate-limit bucket counts a sign-in attempt, never authenticates
-- (workers/domain/console-device.ts). Rotating or removing the token makes its rows useless.
CREATE TABLE console_devices (
  id_sha256   TEXT PRIMARY KEY,
  operator    TEXT NOT NULL,
  credential  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,  -- ms since epoch
  failures    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX console_devices_created ON console_devices(created_at);
