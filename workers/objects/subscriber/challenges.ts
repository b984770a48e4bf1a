/**
 * Push challenges: a pending session pushed to the number's device gets a challenge id (all the
 * push carries); the device lists its open challenges, and its signed answer is matched back to
 * the session. The challenge ids live on the pending entries (admission.ts).
 */
import { AnswerClaimsSchema } from "../../../core/contracts/app-api";
import { verifyCompactJws } from "../../../core/jws";
import { randomToken } from "../../../core/tokens";
import { loadPending, type PendingEntries } from "./admission";
import type { AnswerCheck, PushTarget } from "./contract";
import { deviceById } from "./device";
import type { SubscriberStore } from "./store";

/** The session whose entry carries `challengeId`, or null. */
export function sessionOfChallenge(entries: PendingEntries, challengeId: string): string | null {
  for (const [session, entry] of Object.entries(entries)) {
    if (entry.challengeId === challengeId) return session;
  }
  return null;
}

/** The challenge ids open on the entries. */
export function openChallenges(entries: PendingEntries): string[] {
  return Object.values(entries)
    .map((entry) => entry.challengeId)
    .filter((id): id is string => id !== undefined);
}

/** Opening, listing, closing and answering challenges. Writing methods run inside #serial. */
export class Challenges {
  readonly #store: SubscriberStore;

  constructor(store: SubscriberStore) {
    this.#store = store;
  }

  /**
   * If the number has a device that can get pushes, opens a challenge for a pending session
   * and returns where to push it. The challenge id is all the push carries.
   */
  async pushTarget(session: string): Promise<PushTarget | null> {
    const device = await this.#store.get("device");
    if (!device?.subscription) return null;
    const entries = await loadPending(this.#store, Date.now());
    const entry = entries[session];
    if (!entry) return null;
    const challengeId = randomToken();
    entry.challengeId = challengeId;
    await this.#store.put("pending", entries);
    return { deviceId: device.id, challengeId, subscription: device.subscription };
  }

  /**
   * Assisted Login: this number was picked to approve someone else's sign-in. If it has a
   * device that can get pushes, opens a challenge for that session (an approver entry, which
   * lapses at `until` should the session never release it) and returns where to push it.
   */
  async approverTarget(session: string, until: number): Promise<PushTarget | null> {
    const device = await this.#store.get("device");
    if (!device?.subscription) return null;
    const entries = await loadPending(this.#store, Date.now());
    const challengeId = randomToken();
    entries[session] = { until, challengeId, approver: true };
    await this.#store.put("pending", entries);
    return { deviceId: device.id, challengeId, subscription: device.subscription };
  }

  /** The device answered the session's challenge for good: it is no longer offered to the app. */
  async close(session: string): Promise<void> {
    const entries = await loadPending(this.#store, Date.now());
    const entry = entries[session];
    if (entry?.challengeId === undefined) return;
    delete entry.challengeId;
    await this.#store.put("pending", entries);
  }

  /** The session behind a challenge, if the asking device is this number's device. A read. */
  async sessionOf(deviceId: string, challengeId: string): Promise<string | null> {
    if (!(await deviceById(this.#store, deviceId))) return null;
    return sessionOfChallenge(await loadPending(this.#store, Date.now()), challengeId);
  }

  /** Challenge ids still pending for the device (the app lists them when opened). A read. */
  async pending(
    deviceId: string,
  ): Promise<{ challenges: string[]; replacement: { requestedAt: number; effectiveAt: number } | null } | null> {
    if (!(await deviceById(this.#store, deviceId))) return null;
    const challenges = openChallenges(await loadPending(this.#store, Date.now()));
    // Another device asked to take over: the app shows it with a Refuse button.
    const replacement = await this.#store.get("replacement");
    return { challenges, replacement: replacement ? { requestedAt: replacement.requestedAt, effectiveAt: replacement.effectiveAt } : null };
  }

  /** Checks a signed answer: right device, valid ES256 signature, a challenge of ours. A read. */
  async checkAnswer(deviceId: string, jws: string): Promise<AnswerCheck> {
    const device = await deviceById(this.#store, deviceId);
    if (!device) return { ok: false, reason: "unknown_device" };
    const claims = AnswerClaimsSchema.safeParse(await verifyCompactJws(device.publicKey, jws));
    if (!claims.success) return { ok: false, reason: "bad_signature" };
    const session = sessionOfChallenge(await loadPending(this.#store, Date.now()), claims.data.c);
    if (!session) return { ok: false, reason: "unknown_challenge" };
    return { ok: true, session, claims: claims.data };
  }
}
