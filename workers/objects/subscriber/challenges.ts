/**
 * Push challenges: a pending session pushed to the number's devices gets one challenge id (all
 * the push carries); each device lists the open challenges, and a signed answer from any of
 * them is matched back to the session. The challenge ids live on the pending entries
 * (admission.ts), or for a session this object hosts in hosted-pending.ts; a challenge whose
 * session ended is remembered briefly (`answered`), so the other devices' late answers reach
 * the session and hear "already answered".
 */
import { AnswerClaimsSchema, type AnswerClaims } from "../../../core/contracts/app-api";
import type { UvCredential } from "../../../core/device-activation";
import { verifyCompactJws } from "../../../core/jws";
import { randomToken } from "../../../core/tokens";
import { approvalChallenge } from "../../../core/user-verification";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { log } from "../../lib/log";
import { verifyApproval } from "../../lib/webauthn";
import { loadPending, type PendingEntries } from "./admission";
import type { AnswerCheck, AnsweringDevice, DevicePending, PushTarget, UvExpectation, UvProof } from "./contract";
import { deviceList, deviceName, findDevice, loadDevices, saveDevices } from "./devices";
import type { DeviceRecord, SubscriberKeys, SubscriberStore } from "./store";
import type { HostedPending } from "./hosted-pending";

/** How long an ended session's challenge is remembered (at most a tombstone's default life). */
export const ANSWERED_MEMORY_MS = 10 * 60_000;
/** Ended challenges remembered per number at most (the newest). */
const MAX_ANSWERED = 32;

/** The session whose entry carries `challengeId`, or null. */
export function sessionOfChallenge(entries: PendingEntries, challengeId: string): string | null {
  for (const [session, entry] of Object.entries(entries)) {
    if (entry.challengeId === challengeId) return session;
  }
  return null;
}

/** The ended challenges still remembered at `now`, with `add` (newest kept within MAX_ANSWERED). */
export function rememberAnswered(
  answered: SubscriberKeys["answered"],
  now: number,
  add?: { challengeId: string; session: string },
): SubscriberKeys["answered"] {
  const live = Object.entries(answered).filter(([, a]) => a.until > now);
  if (add) live.push([add.challengeId, { session: add.session, until: now + ANSWERED_MEMORY_MS }]);
  return Object.fromEntries(live.sort((a, b) => b[1].until - a[1].until).slice(0, MAX_ANSWERED));
}

/** A signed answer whose device and challenge are the number's. */
export interface SignedAnswer {
  ok: true;
  session: string;
  claims: AnswerClaims;
  device: DeviceRecord;
}

/** The device as a session sees it: id, name, and whether it can verify its user. */
export function answeringDevice(device: DeviceRecord): AnsweringDevice {
  return { id: device.id, name: deviceName(device), uv: !!device.uv };
}

/** The challenge ids open on the entries. */
export function openChallenges(entries: PendingEntries): string[] {
  return Object.values(entries)
    .map((entry) => entry.challengeId)
    .filter((id): id is string => id !== undefined);
}

/**
 * Opening, listing, closing and answering challenges. Writing methods run inside #serial. A
 * session this object hosts keeps its challenge in `hosted` (hosted-pending.ts: in memory, and
 * in the session's own state) instead of on a stored entry.
 */
export class Challenges {
  readonly #store: SubscriberStore;
  readonly #hosted: () => Promise<HostedPending>;

  constructor(store: SubscriberStore, hosted: () => Promise<HostedPending>) {
    this.#store = store;
    this.#hosted = hosted;
  }

  /**
   * If the number has devices that can get pushes, opens a challenge for a pending session and
   * returns where to push it: all of them get the same challenge id, all the push carries.
   */
  async pushTarget(session: string): Promise<PushTarget | null> {
    const devices = await this.pushableDevices();
    if (devices.length === 0) return null;
    const challengeId = randomToken();
    // Hosted: the session stores the id in its state as it pushes (nothing to write here).
    if ((await this.#hosted()).open(session, challengeId)) return { challengeId, devices };
    const entries = await loadPending(this.#store, Date.now());
    const entry = entries[session];
    if (!entry) return null;
    entry.challengeId = challengeId;
    await this.#store.put("pending", entries);
    return { challengeId, devices };
  }

  /**
   * Assisted Login: this number was picked to approve someone else's sign-in. If it has
   * devices that can get pushes, opens a challenge for that session (an approver entry, which
   * lapses at `until` should the session never release it) and returns where to push it.
   */
  async approverTarget(session: string, until: number): Promise<PushTarget | null> {
    const devices = await this.pushableDevices();
    if (devices.length === 0) return null;
    const entries = await loadPending(this.#store, Date.now());
    const challengeId = randomToken();
    entries[session] = { until, challengeId, approver: true };
    await this.#store.put("pending", entries);
    return { challengeId, devices };
  }

  /** The session's challenge is answered for good: it is no longer offered to the apps. */
  async close(session: string): Promise<void> {
    const hosted = await this.#hosted();
    if (hosted.holds(session)) {
      const challengeId = hosted.close(session);
      if (challengeId !== undefined) await this.remember(challengeId, session);
      // Made again from its state: a stored entry of an earlier release may carry it too.
      if (!hosted.mayBeStored(session)) return;
    }
    const entries = await loadPending(this.#store, Date.now());
    const entry = entries[session];
    if (entry?.challengeId === undefined) return;
    await this.remember(entry.challengeId, session);
    delete entry.challengeId;
    await this.#store.put("pending", entries);
  }

  /** Remembers an ended session's challenge for a while (see ANSWERED_MEMORY_MS). */
  async remember(challengeId: string, session: string): Promise<void> {
    const now = Date.now();
    await this.#store.put("answered", rememberAnswered((await this.#store.get("answered")) ?? {}, now, { challengeId, session }));
  }

  /** The session behind a challenge (open, or ended lately), if the asking device is one of the number's. A read. */
  async sessionOf(deviceId: string, challengeId: string): Promise<{ session: string; device: AnsweringDevice } | null> {
    const device = await findDevice(await loadDevices(this.#store), deviceId);
    if (!device) return null;
    const session = await this.#sessionOf(challengeId);
    return session ? { session, device: answeringDevice(device) } : null;
  }

  /** Challenge ids still pending for the device's number, a join waiting, and the number's devices. A read. */
  async pending(deviceId: string): Promise<DevicePending | null> {
    const devices = await loadDevices(this.#store);
    const self = await findDevice(devices, deviceId);
    if (!self) return null;
    const now = Date.now();
    // A session made again from its state may be in both: each challenge is listed once.
    const challenges = [...new Set([...(await this.#hosted()).challenges(now), ...openChallenges(await loadPending(this.#store, now))])];
    // Another device asked to join: the app shows it with a Refuse button.
    const join = await this.#store.get("replacement");
    return {
      challenges,
      replacement: join ? { name: join.name ?? "A new device", requestedAt: join.requestedAt, effectiveAt: join.effectiveAt } : null,
      devices: deviceList(devices).map((d) => ({
        name: deviceName(d),
        self: d.id === self.id,
        push: d.subscription !== null,
        userVerification: !!d.uv,
        activatedAt: d.activatedAt,
      })),
    };
  }

  /**
   * Checks a signed answer: one of the number's devices, a valid ES256 signature, a challenge
   * of ours (open, or ended lately). A read; an assertion is checked by checkUv.
   */
  async checkAnswer(deviceId: string, jws: string): Promise<SignedAnswer | Extract<AnswerCheck, { ok: false }>> {
    const device = await findDevice(await loadDevices(this.#store), deviceId);
    if (!device) return { ok: false, reason: "unknown_device" };
    const claims = AnswerClaimsSchema.safeParse(await verifyCompactJws(device.publicKey, jws));
    if (!claims.success) return { ok: false, reason: "bad_signature" };
    const session = await this.#sessionOf(claims.data.c);
    if (!session) return { ok: false, reason: "unknown_challenge" };
    return { ok: true, session, claims: claims.data, device };
  }

  /**
   * The user-verification assertion of an Accept: the device's credential, user verified, the
   * challenge bound to this answer (approvalChallenge), the edge's origin and host. Its
   * signature counter and backup state are stored (inside #serial). Without an assertion, or
   * for a Reject (which never needs one): "missing".
   */
  async checkUv(
    deviceId: string,
    claims: AnswerClaims,
    assertion: AuthenticationResponseJSON | undefined,
    rp: UvExpectation,
  ): Promise<UvProof> {
    if (!assertion || claims.d !== "accept") return "missing";
    const devices = await loadDevices(this.#store);
    const device = await findDevice(devices, deviceId);
    const credential: UvCredential | null | undefined = device?.uv;
    if (!device || !credential) return "invalid";
    const challenge = await approvalChallenge(claims.c, claims.n, claims.d);
    const r = await verifyApproval(assertion, credential, challenge, rp);
    if (!r.ok) {
      log.warn("uv_assertion_refused", { reason: r.reason });
      return "invalid";
    }
    devices[device.id] = { ...device, uv: { ...credential, counter: r.counter, backedUp: r.backedUp } };
    await saveDevices(this.#store, devices);
    return "verified";
  }

  /** The devices with a push subscription. A read. */
  async pushableDevices(): Promise<PushTarget["devices"]> {
    return deviceList(await loadDevices(this.#store)).flatMap((d) =>
      d.subscription ? [{ deviceId: d.id, subscription: d.subscription, userVerifying: Boolean(d.uv) }] : [],
    );
  }

  async #sessionOf(challengeId: string): Promise<string | null> {
    const now = Date.now();
    const open = (await this.#hosted()).sessionOf(challengeId, now) ?? sessionOfChallenge(await loadPending(this.#store, now), challengeId);
    if (open) return open;
    const answered = (await this.#store.get("answered")) ?? {};
    const ended = Object.hasOwn(answered, challengeId) ? answered[challengeId] : undefined;
    return ended && ended.until > Date.now() ? ended.session : null;
  }
}
