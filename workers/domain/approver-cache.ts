import type { Approver } from "../objects/auth-session/contract";

/**
 * Directory approver lists reused for a while, per isolate: a Magic Link call on an LDAP or
 * Entra endpoint should not cost a directory round trip each time. Per isolate (not shared):
 * a changed group shows within the TTL plus however long an isolate lives with an old copy,
 * which is at most the TTL too (entries carry their own expiry).
 */
const entries = new Map<string, { approvers: Approver[]; until: number }>();
const MAX_ENTRIES = 128;

export async function cachedApprovers(key: string, ttlSeconds: number, load: () => Promise<Approver[]>): Promise<Approver[]> {
  const now = Date.now();
  const hit = entries.get(key);
  if (hit && hit.until > now) return hit.approvers;
  const approvers = await load();
  if (ttlSeconds > 0) {
    if (!entries.has(key) && entries.size >= MAX_ENTRIES) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
    entries.set(key, { approvers, until: now + ttlSeconds * 1000 });
  }
  return approvers;
}
