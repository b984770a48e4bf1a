/**
 * Offline codes (asked by the RADIUS relay and the offline API through the edge): TOTP from the
 * app's seed or from an on-prem token enrolled by an operator, and codes signing a challenge
 * ("phone not reachable, please sign <challenge>"); each accepted once, all under one lockout.
 * Also the on-prem token itself: its seed sealed to this number, and the re-seal of a legacy one.
 */
import { checkChallengeResponse, checkTotp as matchTotp } from "../../../core/otp";
import { LEGACY_TOTP_TOKEN_CONTEXT, openSeed, sealSeed, totpTokenContext, type SealedSeed } from "../../../core/seed-crypto";
import { sha256Hex } from "../../../core/tokens";
import { log } from "../../lib/log";
import type { OfflineCheck } from "./contract";
import { countWrongCode, isLockedNow, type LockKind } from "./lockouts";
import { deviceList, loadDevices, saveDevices } from "./devices";
import type { SubscriberKeys, SubscriberStore, TotpToken } from "./store";

/** TOTP and signed challenges (the app's and the on-prem token's offline codes). */
export const OFFLINE_LOCK: LockKind = { key: "offlineLock", event: "offline_code_lockout" };
/** Used challenge-response challenges are remembered this long. */
export const CR_REPLAY_MS = 15 * 60_000;

/** The used challenges not yet forgotten at `now`. */
export function liveUsedChallenges(used: SubscriberKeys["crUsed"], now: number): SubscriberKeys["crUsed"] {
  return Object.fromEntries(Object.entries(used).filter(([, forgetAt]) => forgetAt > now));
}

/** What a used challenge is remembered by (case does not make a challenge new). */
export function usedChallengeKey(challenge: string): Promise<string> {
  return sha256Hex(challenge.toUpperCase());
}

/** A seed to take TOTP codes from, and where the last time step it accepted is kept. */
interface TotpSource {
  /** For the log when the seed cannot be used. */
  name: string;
  open: () => Promise<Uint8Array>;
  lastStep: () => Promise<number | undefined>;
  /** Stores `step` unless a concurrent check got there first (false then). */
  useStep: (step: number) => Promise<boolean>;
}

/** Checks of offline codes (inside the object's #serial) and the on-prem token's seed. */
export class OfflineCodes {
  readonly #store: SubscriberStore;
  readonly #seedKey: () => string;
  readonly #msisdn: string | undefined;
  readonly #masked: string | undefined;

  constructor(store: SubscriberStore, seedKey: () => string, msisdn: string | undefined, masked: string | undefined) {
    this.#store = store;
    this.#seedKey = seedKey;
    this.#msisdn = msisdn;
    this.#masked = masked;
  }

  /**
   * A TOTP code from the app's seed or from the on-prem token enrolled by an operator; each
   * time step of each seed counts once. "locked" while a lockout (OFFLINE_LOCKOUT) runs. A
   * seed that cannot be used (fails to open, wrong size) matches nothing: with no match the
   * attempt counts as a failure, so a broken seed never switches the lockout off.
   */
  async checkTotp(code: string): Promise<OfflineCheck> {
    const now = Date.now();
    if (await isLockedNow(this.#store, OFFLINE_LOCK, now)) return { verdict: "locked", lockout: null };
    const sources = [...(await this.#deviceSources()), ...(await this.#tokenSource())];
    if (sources.length === 0) return { verdict: "reject", lockout: null };
    for (const source of sources) {
      const match = await this.#guarded(source.name, async () => matchTotp(await source.open(), code, now, await source.lastStep()));
      if (!match?.valid) continue;
      if (!(await source.useStep(match.timeStep))) return { verdict: "reject", lockout: null };
      await this.#store.delete(OFFLINE_LOCK.key);
      return { verdict: "accept", lockout: null };
    }
    return countWrongCode(this.#store, OFFLINE_LOCK, now, this.#masked);
  }

  /** Each device's seed, with its own last step (kept on its record). */
  async #deviceSources(): Promise<TotpSource[]> {
    return deviceList(await loadDevices(this.#store)).map((device) => ({
      name: "totpStep",
      open: () => openSeed(this.#seedKey(), device.seed, device.id),
      lastStep: async () => device.totpStep,
      useStep: async (step) => {
        // Re-read after the awaits: a concurrent check of the same code must not pass twice.
        const devices = await loadDevices(this.#store);
        const current = devices[device.id];
        if (!current || (current.totpStep !== undefined && current.totpStep >= step)) return false;
        devices[device.id] = { ...current, totpStep: step };
        await saveDevices(this.#store, devices);
        return true;
      },
    }));
  }

  /** The on-prem token's seed, if one is enrolled. */
  async #tokenSource(): Promise<TotpSource[]> {
    const token = await this.#store.get("totpToken");
    if (!token) return [];
    return [
      {
        name: "tokenStep",
        open: () => this.#openToken(token),
        lastStep: () => this.#store.get("tokenStep"),
        useStep: async (step) => {
          const again = await this.#store.get("tokenStep");
          if (again !== undefined && again >= step) return false;
          await this.#store.put("tokenStep", step);
          return true;
        },
      },
    ];
  }

  /**
   * "Phone not reachable, please sign <challenge>": each challenge is accepted once. Shares
   * the lockout with TOTP; a seed that cannot be opened counts as a failure.
   */
  async checkSignedChallenge(challenge: string, code: string): Promise<OfflineCheck> {
    const now = Date.now();
    const devices = deviceList(await loadDevices(this.#store));
    if (devices.length === 0) return { verdict: "reject", lockout: null };
    if (await isLockedNow(this.#store, OFFLINE_LOCK, now)) return { verdict: "locked", lockout: null };
    let ok = false;
    for (const device of devices) {
      ok = !!(await this.#guarded("device", async () =>
        checkChallengeResponse(await openSeed(this.#seedKey(), device.seed, device.id), challenge, code),
      ));
      if (ok) break;
    }
    if (!ok) return countWrongCode(this.#store, OFFLINE_LOCK, now, this.#masked);
    // One number, one use of a challenge, whichever device signed it.
    const key = await usedChallengeKey(challenge);
    const used = liveUsedChallenges((await this.#store.get("crUsed")) ?? {}, now);
    if (key in used) return { verdict: "reject", lockout: null };
    used[key] = now + CR_REPLAY_MS;
    await this.#store.put("crUsed", used);
    await this.#store.delete(OFFLINE_LOCK.key);
    return { verdict: "accept", lockout: null };
  }

  /** Enrols an on-prem token (its seed already sealed to this number); its step history restarts. */
  async setToken(seed: SealedSeed): Promise<void> {
    await this.#store.put("totpToken", { seed });
    await this.#store.delete("tokenStep");
  }

  removeToken(): Promise<boolean> {
    return this.#store.delete("totpToken");
  }

  hasToken(): Promise<boolean> {
    return this.#store.has("totpToken");
  }

  /** Whether a TOTP code can be asked for at all: an enrolled token or an activated app. */
  async available(): Promise<boolean> {
    return (await this.hasToken()) || Object.keys(await loadDevices(this.#store)).length > 0;
  }

  /** A seed source that throws (cannot be opened, wrong size) matches nothing; logged as an alert. */
  async #guarded<T>(source: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (e) {
      log.error("offline_seed_unusable", { alert: true, msisdn: this.#masked, source, error: String(e) });
      return null;
    }
  }

  /**
   * The on-prem token's seed, opened with this number as additional data. A token sealed
   * before that binding (LEGACY_TOTP_TOKEN_CONTEXT) is opened once that way and re-sealed.
   */
  async #openToken(token: TotpToken): Promise<Uint8Array> {
    const msisdn = this.#msisdn;
    if (!msisdn) throw new Error("Subscriber object has no name (MSISDN)");
    const key = this.#seedKey();
    try {
      return await openSeed(key, token.seed, totpTokenContext(msisdn));
    } catch {
      const seed = await openSeed(key, token.seed, LEGACY_TOTP_TOKEN_CONTEXT);
      await this.#store.put("totpToken", { seed: await sealSeed(key, seed, totpTokenContext(msisdn)) });
      log.info("totp_token_resealed", { msisdn: this.#masked });
      return seed;
    }
  }
}
