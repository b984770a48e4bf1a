import { base64url, fromBase64url } from "../../core/base64url";
import { type LinkKey, importLinkKey } from "../../core/link-route";

/**
 * The deployment's link key (migrations/0008_link_keys.sql): made by the first Worker that
 * needs one, then the same for every Worker, read once per isolate. Nothing to configure:
 * it keeps numbers out of links and lets no one else point a link at a number (core/link-route.ts);
 * the links' secrecy is their own random bits.
 */
const keys = new WeakMap<D1Database, Promise<LinkKey>>();

export function linkKey(db: D1Database): Promise<LinkKey> {
  let key = keys.get(db);
  if (!key) {
    key = load(db);
    keys.set(db, key);
    // A failed read is not kept: the next call asks D1 again.
    key.catch(() => keys.delete(db));
  }
  return key;
}

const SELECT = "SELECT key FROM link_keys WHERE id = 1";

async function load(db: D1Database): Promise<LinkKey> {
  let stored = await db.prepare(SELECT).first<string>("key");
  if (stored === null) {
    // Two Workers may both find none: the first insert wins and both read it back.
    const fresh = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const [, read] = await db.batch<{ key: string }>([
      db.prepare("INSERT INTO link_keys (id, key, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING").bind(fresh, Date.now()),
      db.prepare(SELECT),
    ]);
    stored = read?.results[0]?.key ?? null;
    if (stored === null) throw new Error("link key: none stored after insert");
  }
  return importLinkKey(fromBase64url(stored));
}

/**
 * The link key, or null when D1 cannot give one (a deployment whose migrations have not run,
 * D1 down): logged, and the callers fall back to sessions in objects of their own, which need
 * no key. A Magic Link call keeps working either way.
 */
export async function linkKeyOrNull(db: D1Database, onError: (e: unknown) => void): Promise<LinkKey | null> {
  try {
    return await linkKey(db);
  } catch (e) {
    onError(e);
    return null;
  }
}
