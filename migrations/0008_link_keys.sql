-- The key that encrypts the number's route inside link tokens (core/link-route.ts). One row,
-- made by the first Worker that needs it (workers/store/link-key.ts) and read once per isolate.
CREATE TABLE link_keys (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  key TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
