/**
 * The number's authenticator devices: activation grants (token + SMS code), activation, a new
 * device joining the number's devices after a grace window in which any of them can refuse it,
 * and each device's signed updates (new push subscription, new name, removal, refusing a join).
 */
import {
  DeviceReadClaimsSchema,
  DeviceUpdateClaimsSchema,
  type DevicePublicKey,
  type DeviceRead,
  type DeviceUpdateClaims,
} from "../../../core/contracts/app-api";
import {
  ACTIVATION_SEND_LIMITS,
  MAX_ACTIVATION_CODE_ATTEMPTS,
  isActivationGrant,
  replacementPhase,
  UNNAMED_DEVICE,
  type ActivationGrant,
  type PendingReplacement,
} from "../../../core/device-activation";
import { verifyCompactJws } from "../../../core/jws";
import { newSeed, seedToBase32 } from "../../../core/otp";
import { admit } from "../../../core/rate-limit";
import { openSeed, sealSeed } from "../../../core/seed-crypto";
import { randomToken, timingSafeEqualString } from "../../../core/tokens";
import { loadPending, withoutChallenges } from "./admission";
import type { ActivateResult, ClaimResult, DeviceInfo, DeviceUpdateResult, NewDevice } from "./contract";
import { deviceById, deviceInfo, deviceList, deviceName, findDevice, loadDevices, saveDevices, type Devices } from "./devices";
import type { DeviceRecord, SubscriberKeys, SubscriberStore } from "./store";

/** Activation tokens outstanding per number; older ones are dropped beyond this. */
export const MAX_GRANTS = 5;
/** A signed device update must be this fresh (clock skew included). */
export const UPDATE_WINDOW_MS = 5 * 60_000;

export type ActivationGrants = Record<string, ActivationGrant>;

/** The grants in a stored value (entries stored by an earlier version, a bare expiry, are dropped). */
export function activationGrants(stored: SubscriberKeys["grants"]): ActivationGrants {
  return Object.fromEntries(Object.entries(stored).filter((e): e is [string, ActivationGrant] => isActivationGrant(e[1])));
}

/**
 * `grants` with `grant` added under `tokenHash`: expired ones dropped, at most MAX_GRANTS kept
 * (those from a live link first, then the newest): asks made without a credential cannot push
 * out the grant the user is activating with.
 */
export function withGrant(grants: ActivationGrants, tokenHash: string, grant: ActivationGrant, now: number): ActivationGrants {
  const requested = (g: ActivationGrant) => (g.requested ? 1 : 0);
  const kept = Object.entries(grants)
    .filter(([, g]) => g.expiresAt > now)
    .sort((a, b) => requested(a[1]) - requested(b[1]) || b[1].expiresAt - a[1].expiresAt)
    .slice(0, MAX_GRANTS - 1);
  return Object.fromEntries([[tokenHash, grant], ...kept]);
}

/** At most this many taken update ids per number are remembered (the soonest forgotten go first). */
export const MAX_UPDATES_TAKEN = 200;

/**
 * `taken` with `jti` added, or null if it was taken already or is no longer fresh at `now`.
 * An id is remembered for as long as its update could pass the freshness check (up to and
 * including its `iat` plus the window), and freshness is checked again here, with the same
 * `now`: the check before the serialised section ran earlier, and a replay that passed it just
 * before the window closed must not find its id already forgotten.
 */
export function takeUpdateId(
  taken: SubscriberKeys["updatesTaken"],
  claims: Pick<DeviceUpdateClaims, "jti" | "iat">,
  now: number,
): SubscriberKeys["updatesTaken"] | null {
  if (!isFresh(claims.iat, now)) return null;
  const live = Object.entries(taken).filter(([, forgetAt]) => forgetAt >= now);
  if (live.some(([id]) => id === claims.jti)) return null;
  live.sort((a, b) => b[1] - a[1]);
  return Object.fromEntries([[claims.jti, claims.iat * 1000 + UPDATE_WINDOW_MS], ...live.slice(0, MAX_UPDATES_TAKEN - 1)]);
}

/** Whether a signed request's `iat` (seconds) is within UPDATE_WINDOW_MS of `now`. */
export function isFresh(iatSeconds: number, now: number): boolean {
  return Math.abs(iatSeconds * 1000 - now) <= UPDATE_WINDOW_MS;
}

/**
 * Whether `jws` is a fresh signed read of `read` (for a challenge, of `challengeId`) by the
 * device `deviceId` of this number. A read signed for another thing, or by another device, or
 * stale, reads nothing: the device id alone is no credential. "unknown_device" only when the
 * number has no such device (the app forgets itself on that answer, so a bad or stale
 * signature, say from a phone whose clock is off, must not be one).
 */
export async function checkSignedRead(
  store: SubscriberStore,
  deviceId: string,
  jws: string,
  read: DeviceRead,
  challengeId?: string,
): Promise<"ok" | "unknown_device" | "bad_signature"> {
  const device = await deviceById(store, deviceId);
  if (!device) return "unknown_device";
  const claims = DeviceReadClaimsSchema.safeParse(await verifyCompactJws(device.publicKey, jws));
  const good = claims.success && claims.data.r === read && claims.data.c === challengeId && isFresh(claims.data.iat, Date.now());
  return good ? "ok" : "bad_signature";
}

/** Claims of a device request signed with `key` and fresh, or null. */
async function signedUpdate(key: DevicePublicKey, jws: string): Promise<DeviceUpdateClaims | null> {
  const claims = DeviceUpdateClaimsSchema.safeParse(await verifyCompactJws(key, jws));
  return claims.success && isFresh(claims.data.iat, Date.now()) ? claims.data : null;
}

/** A claim the reads alone cannot answer: a replacement to take over (or drop) inside #serial. */
export interface TakeOver {
  kind: "take_over";
  replacement: PendingReplacement;
  lapsed: boolean;
}

/**
 * Activation, joins and updates. Methods named "check…" or "…Info" only read; the others
 * write and run inside the object's #serial.
 */
export class Device {
  readonly #store: SubscriberStore;
  readonly #seedKey: () => string;
  readonly #noDeviceLeft: () => Promise<void>;

  /** `noDeviceLeft`: also withdraws the challenges that are not on stored entries (the hosted sessions'). */
  constructor(store: SubscriberStore, seedKey: () => string, noDeviceLeft: () => Promise<void> = async () => {}) {
    this.#store = store;
    this.#seedKey = seedKey;
    this.#noDeviceLeft = noDeviceLeft;
  }

  /**
   * Stores a one-time activation token (its hash) with the MAC of the code sent by SMS. False
   * when the number was sent too many activation codes lately (nothing is stored then).
   * `requested`: asked for in the app, by anyone: counted apart from the link page's codes, so
   * such asks cannot keep the user's "Use the app" refused.
   */
  async grantActivation(tokenHash: string, expiresAt: number, codeMac: string, requested = false): Promise<boolean> {
    const now = Date.now();
    const counter = requested ? "activationRequests" : "activationSends";
    const sends = admit((await this.#store.get(counter)) ?? [], ACTIVATION_SEND_LIMITS, now);
    await this.#store.put(counter, sends.history);
    if (!sends.allowed) return false;
    const grant: ActivationGrant = { expiresAt, codeMac, attempts: 0, ...(requested ? { requested: true as const } : {}) };
    await this.#store.put("grants", withGrant(await this.#grants(), tokenHash, grant, now));
    return true;
  }

  /** Whether a token is live for this number, and whether activating would join other devices. */
  async activationInfo(tokenHash: string): Promise<{ hasDevice: boolean } | null> {
    const grant = (await this.#grants())[tokenHash];
    if (!grant || Date.now() >= grant.expiresAt) return null;
    return { hasDevice: Object.keys(await loadDevices(this.#store)).length > 0 };
  }

  /**
   * Binds a device if the token is live and `codeMac` matches the code sent by SMS (a few
   * tries, then the token is burnt; a right code consumes it). With no device yet it is active
   * at once; otherwise it becomes a pending join that takes effect at now + `graceMs`
   * (claimReplacement) unless one of the number's devices refuses it first. A number with
   * `maxDevices` devices is refused, and the token kept for a retry once one is removed.
   */
  async activate(tokenHash: string, codeMac: string, device: NewDevice, graceMs: number, maxDevices: number): Promise<ActivateResult> {
    const now = Date.now();
    const grants = await this.#grants();
    const grant = grants[tokenHash];
    if (!grant || now >= grant.expiresAt) return { ok: false, reason: "invalid_token" };
    if (!(await timingSafeEqualString(grant.codeMac, codeMac))) {
      grant.attempts++;
      if (grant.attempts >= MAX_ACTIVATION_CODE_ATTEMPTS) delete grants[tokenHash];
      await this.#store.put("grants", grants);
      return { ok: false, reason: "wrong_code" };
    }
    const devices = await loadDevices(this.#store);
    if (Object.keys(devices).length >= maxDevices) return { ok: false, reason: "device_limit", max: maxDevices };
    delete grants[tokenHash];
    await this.#store.put("grants", grants);

    const existing = deviceList(devices);
    if (existing.length > 0) {
      // One join at a time: a newer one replaces a join still waiting (which its device then hears as unknown).
      const join: PendingReplacement = { id: randomToken(), ...device, requestedAt: now, effectiveAt: now + graceMs };
      await this.#store.put("replacement", join);
      return {
        ok: true,
        kind: "replacement_pending",
        deviceId: join.id,
        effectiveAt: join.effectiveAt,
        existing: existing.map((d) => ({ id: d.id, subscription: d.subscription })),
      };
    }
    const { id, seed } = await this.#install(devices, randomToken(), device);
    return { ok: true, kind: "activated", deviceId: id, seed };
  }

  /**
   * The reads of claimReplacement: which device asks (the pending join, or a device installed,
   * for a repeated claim), its signature, and the join's phase.
   */
  async checkClaim(deviceId: string, jws: string): Promise<ClaimResult | TakeOver> {
    const replacement = await this.#store.get("replacement");
    if (replacement !== undefined && (await timingSafeEqualString(replacement.id, deviceId))) {
      if (!(await signedUpdate(replacement.publicKey, jws))?.claim) return { kind: "refused" };
      const phase = replacementPhase(replacement, Date.now());
      if (phase === "waiting") return { kind: "waiting", effectiveAt: replacement.effectiveAt };
      return { kind: "take_over", replacement, lapsed: phase === "lapsed" };
    }
    const installed = await deviceById(this.#store, deviceId);
    if (!installed) return { kind: "unknown_device" };
    if (!(await signedUpdate(installed.publicKey, jws))?.claim) return { kind: "refused" };
    const seed = await openSeed(this.#seedKey(), installed.seed, installed.id);
    return { kind: "activated", seed: seedToBase32(seed), replaced: false, name: deviceName(installed) };
  }

  /** The join takes effect (the device is added), unless it changed since checkClaim, lapsed, or the number is full. */
  async takeOver({ replacement, lapsed }: TakeOver, maxDevices: number): Promise<ClaimResult> {
    const again = await this.#store.get("replacement");
    if (again?.id !== replacement.id) return { kind: "unknown_device" };
    const devices = await loadDevices(this.#store);
    // No device left to have refused it (forget() drops such a join; one stored before it did
    // is dropped here): the new phone activates again, with a new SMS.
    if (Object.keys(devices).length === 0) {
      await this.#store.delete("replacement");
      return { kind: "unknown_device" };
    }
    if (!lapsed && Object.keys(devices).length >= maxDevices) return { kind: "device_limit", max: maxDevices };
    await this.#store.delete("replacement");
    if (lapsed) return { kind: "unknown_device" };
    const name = again.name ?? UNNAMED_DEVICE;
    const { seed } = await this.#install(devices, again.id, {
      publicKey: again.publicKey,
      subscription: again.subscription,
      name,
      uv: again.uv ?? null,
    });
    return { kind: "activated", seed, replaced: true, name };
  }

  /** The newest device's public facts (for status pages and tests); devices() lists them all. */
  async info(): Promise<DeviceInfo | null> {
    const newest = deviceList(await loadDevices(this.#store)).at(-1);
    return newest ? deviceInfo(newest) : null;
  }

  /** Every device's public facts, oldest first. */
  async list(): Promise<DeviceInfo[]> {
    return deviceList(await loadDevices(this.#store)).map(deviceInfo);
  }

  /**
   * Forgets the device `deviceId` (its key, seed, replay state). With no device left, the
   * challenges pushed are no longer offered either, and a join still waiting is dropped: it was
   * let wait so that the number's devices could refuse it, and none is left to do so (a new
   * activation, with a new SMS, is what a number without a device takes).
   */
  async forget(deviceId: string): Promise<DeviceInfo | null> {
    const devices = await loadDevices(this.#store);
    const device = await findDevice(devices, deviceId);
    if (!device) return null;
    delete devices[device.id];
    await saveDevices(this.#store, devices);
    if (Object.keys(devices).length === 0) {
      await this.#store.delete("replacement");
      await this.#store.delete("crUsed");
      await this.#store.put("pending", withoutChallenges(await loadPending(this.#store, Date.now())));
      await this.#noDeviceLeft();
    }
    return deviceInfo(device);
  }

  /** The reads of updateDevice: the claims if `jws` is signed by this device's key and fresh. */
  async checkUpdate(deviceId: string, jws: string): Promise<DeviceUpdateClaims | null> {
    const signer = await deviceById(this.#store, deviceId);
    return signer ? signedUpdate(signer.publicKey, jws) : null;
  }

  /** Takes the update's one-time id (inside #serial): false if it was taken before (a replay) or is stale by now. */
  async takeUpdate(claims: DeviceUpdateClaims): Promise<boolean> {
    const taken = takeUpdateId((await this.#store.get("updatesTaken")) ?? {}, claims, Date.now());
    if (!taken) return false;
    await this.#store.put("updatesTaken", taken);
    return true;
  }

  /** Applies claims that checkUpdate accepted. */
  async applyUpdate(deviceId: string, claims: DeviceUpdateClaims): Promise<DeviceUpdateResult> {
    // Re-read: the device may have been removed while the signature was checked.
    const devices = await loadDevices(this.#store);
    const device = await findDevice(devices, deviceId);
    if (!device) return "refused";
    if (claims.remove) {
      await this.forget(device.id);
      return "removed";
    }
    if (claims.refuseReplacement) {
      if (!(await this.#store.delete("replacement"))) return "refused";
      return "replacement_refused";
    }
    if (claims.approveReplacement !== undefined) {
      // A device of the number vouches for the new one: its window ends now (it still claims).
      // Only the join it was shown: one that replaced it since is someone else's.
      const join = await this.#store.get("replacement");
      if (!join || join.requestedAt !== claims.approveReplacement) return "refused";
      await this.#store.put("replacement", { ...join, effectiveAt: Math.min(join.effectiveAt, Date.now()) });
      return "replacement_approved";
    }
    const updated: DeviceRecord = { ...device };
    if (claims.subscription !== undefined) updated.subscription = claims.subscription;
    if (claims.name !== undefined) updated.name = claims.name;
    devices[device.id] = updated;
    await saveDevices(this.#store, devices);
    return "updated";
  }

  /** Adds a device with a fresh seed (sealed); any pending join is void. */
  async #install(devices: Devices, id: string, device: NewDevice) {
    const seed = newSeed();
    devices[id] = {
      id,
      publicKey: device.publicKey,
      subscription: device.subscription,
      seed: await sealSeed(this.#seedKey(), seed, id),
      activatedAt: Date.now(),
      name: device.name,
      uv: device.uv,
    };
    await saveDevices(this.#store, devices);
    await this.#store.delete("replacement");
    return { id, seed: seedToBase32(seed) };
  }

  async #grants(): Promise<ActivationGrants> {
    return activationGrants((await this.#store.get("grants")) ?? {});
  }
}
