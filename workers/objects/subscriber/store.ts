/**
 * The Subscriber object's storage, typed: every key it keeps with the shape of its value, and
 * get/put/delete that take only those keys and values. The names and shapes are what earlier
 * deploys wrote: renaming a key or reshaping a value strands the data already stored. The
 * hosted sessions' keys (`s:<name>:…`) are sessions.ts's, outside this store.
 */
import type { DevicePublicKey, PushSubscriptionJson } from "../../../core/contracts/app-api";
import type { ActivationGrant, PendingReplacement, UvCredential } from "../../../core/device-activation";
import type { LockoutState } from "../../../core/offline-lockout";
import type { SealedSeed } from "../../../core/seed-crypto";
import type { SealedText } from "../../../core/sms-otp-sealing";

/**
 * A pending session of this number; `challengeId` once it was pushed to the device.
 * `approver`: the number is asked as an Assisted Login approver of someone else's sign-in, which
 * does not count against its own pending cap.
 */
export interface PendingEntry {
  until: number;
  challengeId?: string;
  approver?: true;
}

/** One activated authenticator app of this number (phone, tablet: see devices.ts). */
export interface DeviceRecord {
  id: string;
  publicKey: DevicePublicKey;
  subscription: PushSubscriptionJson | null;
  seed: SealedSeed;
  activatedAt: number;
  /** What the user called it; absent on a device activated before names (shown as UNNAMED_DEVICE). */
  name?: string;
  /** The last TOTP time step accepted from this device's seed. */
  totpStep?: number;
  /** Its WebAuthn user-verification credential; null: it has none; absent: activated before WebAuthn. */
  uv?: UvCredential | null;
}

/** A challenge whose session ended, remembered briefly so another device's late answer hears "already answered". */
export interface AnsweredChallenge {
  session: string;
  until: number;
}

/**
 * An on-prem TOTP token (hardware token or authenticator app enrolled by an operator); its
 * seed is sealed with totpTokenContext(this number) as additional data.
 */
export interface TotpToken {
  seed: SealedSeed;
}

export interface SmsOtpChallenge {
  id: string;
  /**
   * smsOtpMac(id, code): keyed, so a storage dump does not give the code away. Absent in a
   * challenge stored before the keyed MAC (it cannot match, and lapses in minutes).
   */
  codeMac?: string;
  expiresAt: number;
  attempts: number;
  /**
   * The code went to the number's app by push; this SMS follows at `at` unless a device
   * acknowledges the push first (or the code is used, or the challenge ends). The text is
   * sealed (core/sms-otp-sealing.ts) and deleted before it is sent, so it goes at most once.
   */
  owedSms?: OwedSms;
}

export interface OwedSms {
  at: number;
  to: string;
  text: SealedText;
}

/** Every storage key of a Subscriber object and the type of its value. */
export interface SubscriberKeys {
  /** Admission: times of the attempts admitted lately (rate-limit history). */
  rate: number[];
  /** Admission: pending sessions by AuthSession name; lapsed entries are dropped when read. */
  pending: Record<string, PendingEntry>;
  /** Activation: times activation codes were sent lately (ACTIVATION_SEND_LIMITS). */
  activationSends: number[];
  /** Activation: times activation SMS were sent for asks in the app, counted apart (ACTIVATION_SEND_LIMITS). */
  activationRequests: number[];
  /** Activation grants by token hash; an earlier version stored a bare expiry, dropped when read. */
  grants: Record<string, ActivationGrant | number>;
  /** The number's devices by id (see devices.ts). */
  devices: Record<string, DeviceRecord>;
  /**
   * Before several devices per number: the one device, with its last TOTP step in `totpStep`.
   * Read as a one-device `devices` (devices.ts) and dropped at the next write of `devices`.
   */
  device: DeviceRecord;
  totpStep: number;
  /** A new device waiting to join `devices` (the key's name predates several devices). */
  replacement: PendingReplacement;
  /** Challenges of ended sessions by challenge id (see AnsweredChallenge). */
  answered: Record<string, AnsweredChallenge>;
  /** The last TOTP time step accepted from the on-prem token's seed. */
  tokenStep: number;
  /** Taken device updates: their `jti` -> when it may be forgotten (past its `iat` window). */
  updatesTaken: Record<string, number>;
  /** Used signed challenges: sha256Hex(challenge upper-cased) -> when it may be forgotten. */
  crUsed: Record<string, number>;
  totpToken: TotpToken;
  /** The latest SMS OTP challenge (only the latest code sent is valid). */
  smsOtp: SmsOtpChallenge;
  /** Lockout of the offline codes (TOTP and signed challenges). */
  offlineLock: LockoutState;
  /** Lockout of SMS OTP codes, counted across challenges. */
  smsOtpLock: LockoutState;
}

export type SubscriberKey = keyof SubscriberKeys;

/** Typed access to one Subscriber's storage. No cache: every read goes to storage. */
export class SubscriberStore {
  readonly #storage: DurableObjectStorage;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }

  get<K extends SubscriberKey>(key: K): Promise<SubscriberKeys[K] | undefined> {
    return this.#storage.get<SubscriberKeys[K]>(key);
  }

  /** Several keys in one storage call (one read, not one per key); absent keys are left out. */
  async getAll<K extends SubscriberKey>(keys: K[]): Promise<Partial<Pick<SubscriberKeys, K>>> {
    return Object.fromEntries(await this.#storage.get(keys)) as Partial<Pick<SubscriberKeys, K>>;
  }

  async has(key: SubscriberKey): Promise<boolean> {
    return (await this.#storage.get(key)) !== undefined;
  }

  put<K extends SubscriberKey>(key: K, value: SubscriberKeys[K]): Promise<void> {
    return this.#storage.put(key, value);
  }

  /** Several keys in one storage call (one write, not one per key). */
  putAll(entries: Partial<SubscriberKeys>): Promise<void> {
    return this.#storage.put(entries);
  }

  /** Deletes one key (true if it was there) or several (how many were there). */
  delete(key: SubscriberKey): Promise<boolean>;
  delete(keys: SubscriberKey[]): Promise<number>;
  delete(keys: SubscriberKey | SubscriberKey[]): Promise<boolean | number> {
    return typeof keys === "string" ? this.#storage.delete(keys) : this.#storage.delete(keys);
  }
}
