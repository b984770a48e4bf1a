/**
 * The number's authenticator device: activation grants (token + SMS code), activation, the
 * replacement of one device by another after a grace window, and the device's signed updates
 * (new push subscription, removal, refusing a replacement).
 */
import {
  DeviceUpdateClaimsSchema,
  type DevicePublicKey,
  type DeviceUpdateClaims,
  type PushSubscriptionJson,
} from "../../../core/contracts/app-api";
import {
  ACTIVATION_SEND_LIMITS,
  MAX_ACTIVATION_CODE_ATTEMPTS,
  isActivationGrant,
  replacementPhase,
  type ActivationGrant,
  type PendingReplacement,
} from "../../../core/device-activation";
import { verifyCompactJws } from "../../../core/jws";
import { newSeed, seedToBase32 } from "../../../core/otp";
import { admit } from "../../../core/rate-limit";
import { openSeed, sealSeed } from "../../../core/seed-crypto";
import { randomToken, timingSafeEqualString } from "../../../core/tokens";
import { loadPending, withoutChallenges } from "./admission";
import type { ActivateResult, ClaimResult, DeviceUpdateResult } from "./contract";
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

/** `grants` with `grant` added under `tokenHash`: expired ones dropped, at most MAX_GRANTS kept (the newest). */
export function withGrant(grants: ActivationGrants, tokenHash: string, grant: ActivationGrant, now: number): ActivationGrants {
  const kept = Object.entries(grants)
    .filter(([, g]) => g.expiresAt > now)
    .sort((a, b) => b[1].expiresAt - a[1].expiresAt)
    .slice(0, MAX_GRANTS - 1);
  return Object.fromEntries([[tokenHash, grant], ...kept]);
}

/** Whether a signed request's `iat` (seconds) is within UPDATE_WINDOW_MS of `now`. */
export function isFresh(iatSeconds: number, now: number): boolean {
  return Math.abs(iatSeconds * 1000 - now) <= UPDATE_WINDOW_MS;
}

/** The number's device if its id is `deviceId` (compared in constant time). */
export async function deviceById(store: SubscriberStore, deviceId: string): Promise<DeviceRecord | null> {
  const device = await store.get("device");
  if (!device || !(await timingSafeEqualString(device.id, deviceId))) return null;
  return device;
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
 * Activation, replacement and updates. Methods named "check…" or "…Info" only read; the
 * others write and run inside the object's #serial.
 */
export class Device {
  readonly #store: SubscriberStore;
  readonly #seedKey: () => string;

  constructor(store: SubscriberStore, seedKey: () => string) {
    this.#store = store;
    this.#seedKey = seedKey;
  }

  /**
   * Stores a one-time activation token (its hash) with the MAC of the code sent by SMS. False
   * when the number was sent too many activation codes lately (nothing is stored then).
   */
  async grantActivation(tokenHash: string, expiresAt: number, codeMac: string): Promise<boolean> {
    const now = Date.now();
    const sends = admit((await this.#store.get("activationSends")) ?? [], ACTIVATION_SEND_LIMITS, now);
    await this.#store.put("activationSends", sends.history);
    if (!sends.allowed) return false;
    await this.#store.put("grants", withGrant(await this.#grants(), tokenHash, { expiresAt, codeMac, attempts: 0 }, now));
    return true;
  }

  /** Whether a token is live for this number, and whether activating would replace a device. */
  async activationInfo(tokenHash: string): Promise<{ hasDevice: boolean } | null> {
    const grant = (await this.#grants())[tokenHash];
    if (!grant || Date.now() >= grant.expiresAt) return null;
    return { hasDevice: await this.#store.has("device") };
  }

  /**
   * Binds a device if the token is live and `codeMac` matches the code sent by SMS (a few
   * tries, then the token is burnt; a right code consumes it). With no device yet it is active
   * at once; otherwise it becomes a pending replacement that takes over at now + `graceMs`
   * (claimReplacement) unless the current device refuses it first.
   */
  async activate(
    tokenHash: string,
    codeMac: string,
    publicKey: DevicePublicKey,
    subscription: PushSubscriptionJson | null,
    graceMs: number,
  ): Promise<ActivateResult> {
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
    delete grants[tokenHash];
    await this.#store.put("grants", grants);

    const current = await this.#store.get("device");
    if (current) {
      const replacement: PendingReplacement = { id: randomToken(), publicKey, subscription, requestedAt: now, effectiveAt: now + graceMs };
      await this.#store.put("replacement", replacement);
      return {
        ok: true,
        kind: "replacement_pending",
        deviceId: replacement.id,
        effectiveAt: replacement.effectiveAt,
        replaced: { id: current.id, subscription: current.subscription },
      };
    }
    const { id, seed } = await this.#install(randomToken(), publicKey, subscription);
    return { ok: true, kind: "activated", deviceId: id, seed };
  }

  /**
   * The reads of claimReplacement: which device asks (the pending replacement, or the device
   * installed, for a repeated claim), its signature, and the replacement's phase.
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
    return { kind: "activated", seed: seedToBase32(seed), replaced: false };
  }

  /** The replacement becomes the number's device, unless it changed since checkClaim or lapsed. */
  async takeOver({ replacement, lapsed }: TakeOver): Promise<ClaimResult> {
    const again = await this.#store.get("replacement");
    if (again?.id !== replacement.id) return { kind: "unknown_device" };
    await this.#store.delete("replacement");
    if (lapsed) return { kind: "unknown_device" };
    await this.#clearDeviceState();
    const { seed } = await this.#install(again.id, again.publicKey, again.subscription);
    return { kind: "activated", seed, replaced: true };
  }

  /** Public facts about the device, for status pages and tests (never the seed or key). */
  async info(): Promise<{ deviceId: string; push: boolean; activatedAt: number } | null> {
    const device = await this.#store.get("device");
    return device ? { deviceId: device.id, push: device.subscription !== null, activatedAt: device.activatedAt } : null;
  }

  /** Forgets the device if it is `deviceId`, with its replay state and challenges. */
  async forget(deviceId: string): Promise<boolean> {
    const device = await this.#store.get("device");
    if (!device || device.id !== deviceId) return false;
    await this.#clearDeviceState();
    return true;
  }

  /** The reads of updateDevice: the claims if `jws` is signed by this device's key and fresh. */
  async checkUpdate(deviceId: string, jws: string): Promise<DeviceUpdateClaims | null> {
    const signer = await deviceById(this.#store, deviceId);
    return signer ? signedUpdate(signer.publicKey, jws) : null;
  }

  /** Applies claims that checkUpdate accepted. */
  async applyUpdate(deviceId: string, claims: DeviceUpdateClaims): Promise<DeviceUpdateResult> {
    // Re-read: the device may have been replaced or removed while the signature was checked.
    const device = await deviceById(this.#store, deviceId);
    if (!device) return "refused";
    if (claims.remove) {
      await this.forget(device.id);
      return "removed";
    }
    if (claims.refuseReplacement) {
      if (!(await this.#store.delete("replacement"))) return "refused";
      return "replacement_refused";
    }
    if (claims.subscription !== undefined) {
      await this.#store.put("device", { ...device, subscription: claims.subscription });
    }
    return "updated";
  }

  /** Drops the device with its replay state and the challenges pushed to it. */
  async #clearDeviceState(): Promise<void> {
    await this.#store.delete(["device", "totpStep", "crUsed"]);
    await this.#store.put("pending", withoutChallenges(await loadPending(this.#store, Date.now())));
  }

  /** Stores a new device with a fresh seed (sealed); any pending replacement is void. */
  async #install(id: string, publicKey: DevicePublicKey, subscription: PushSubscriptionJson | null) {
    const seed = newSeed();
    const device: DeviceRecord = { id, publicKey, subscription, seed: await sealSeed(this.#seedKey(), seed, id), activatedAt: Date.now() };
    await this.#store.put("device", device);
    await this.#store.delete(["totpStep", "replacement"]);
    return { id, seed: seedToBase32(seed) };
  }

  async #grants(): Promise<ActivationGrants> {
    return activationGrants((await this.#store.get("grants")) ?? {});
  }
}
