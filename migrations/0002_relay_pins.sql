-- Which phone number may prove a RADIUS user (issue 10, item 1). The first number used for a
-- user is pinned; a different one later is only recorded as pending until an operator
-- confirms it (or the endpoint's numberChange policy applies it after a notice period).
CREATE TABLE relay_pins (
  endpoint        TEXT NOT NULL,     -- the relay's endpoint: one per site, shared by its relays
  username        TEXT NOT NULL,     -- normalizeUsername(): trimmed, case-folded
  msisdn          TEXT NOT NULL,     -- the pinned number (E.164)
  pinned_at       INTEGER NOT NULL,  -- ms since epoch
  pending_msisdn  TEXT,              -- another number the directory reported, awaiting confirmation
  pending_at      INTEGER,           -- when that number was first seen
  notified_at     INTEGER,           -- last SMS notice to the pinned number (rate limit)
  PRIMARY KEY (endpoint, username)
);
CREATE INDEX relay_pins_pending ON relay_pins(endpoint, pending_at) WHERE pending_msisdn IS NOT NULL;
