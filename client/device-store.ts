/**
 * The app's device record in IndexedDB. The private key is a non-extractable CryptoKey:
 * IndexedDB keeps it as an opaque handle, so neither this code nor anyone reading storage
 * through the page can export it; it can only be used to sign on this device.
 */
export interface StoredDevice {
  msisdn: string;
  deviceId: string;
  privateKey: CryptoKey;
  /** Base32 TOTP seed, for offline codes (empty while waiting to replace another device). */
  seed: string;
  activatedAt: number;
  /** Set while this device waits to join the number's devices (ms since epoch). */
  pendingUntil?: number;
  /** What the user called this device. */
  name?: string;
  /** The id of its WebAuthn platform credential (user verification), if it registered one. */
  uvCredentialId?: string;
}

/** The latest login code pushed to this device (otp-push.ts), until it expires. */
export interface StoredOtp {
  challengeId: string;
  code: string;
  expiresAt: number;
}

const DB = "edge-mfa";
const STORE = "kv";
const KEY = "device";
const OTP_KEY = "otp";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run<T>(mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const req = op(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result as T);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

export const loadDevice = () => run<StoredDevice | undefined>("readonly", (s) => s.get(KEY));
export const saveDevice = (d: StoredDevice) => run<void>("readwrite", (s) => s.put(d, KEY));
export const clearDevice = () => run<void>("readwrite", (s) => s.delete(KEY));
export const loadOtp = () => run<StoredOtp | undefined>("readonly", (s) => s.get(OTP_KEY));
export const saveOtp = (o: StoredOtp) => run<void>("readwrite", (s) => s.put(o, OTP_KEY));
export const clearOtp = () => run<void>("readwrite", (s) => s.delete(OTP_KEY));
