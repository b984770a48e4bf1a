import { normalizeUsername, USERNAME_MAX } from "../../../core/contracts/relay.ts";
import { isUsableSeedLength, MAX_SEED_BYTES, MIN_SEED_BYTES, seedFromBase32, type TotpParams } from "../../../core/otp.ts";

/**
 * One token as the operator supplies it (enrolment, CSV or PSKC import), checked field by
 * field: every error says where (`where`: "line 4", "KeyPackage 2 (serial 1234)") and which field.
 */
export class TokenInputError extends Error {
  override name = "TokenInputError";
}

export interface NewToken {
  /** normalizeUsername() of the account: the key the relay's auth flow looks tokens up by. */
  username: string;
  seed: Uint8Array;
  params: TotpParams;
  /** The hardware token's serial number, if the file named one (shown by `tokens list`). */
  serial?: string;
  origin: "enrolled" | "csv" | "pskc";
}

const ALGORITHMS: ReadonlyArray<TotpParams["algorithm"]> = ["sha1", "sha256", "sha512"];

export function tokenUsername(raw: string | undefined, where: string): string {
  const username = normalizeUsername(raw ?? "");
  if (username === "") throw new TokenInputError(`${where}: field "user" is empty`);
  if (username.length > USERNAME_MAX) throw new TokenInputError(`${where}: field "user" is longer than ${USERNAME_MAX} characters`);
  // Control characters would make `tokens list` and the logs lie about who this is.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  if (/[\u0000-\u001f\u007f]/.test(username)) throw new TokenInputError(`${where}: field "user" contains control characters`);
  return username;
}

/** Digits, period and algorithm; an absent (or empty) value takes the usual default (6, 30, sha1). */
export function tokenParams(raw: { digits?: string; period?: string; algorithm?: string }, where: string): TotpParams {
  const digits = blank(raw.digits) ? "6" : raw.digits.trim();
  const period = blank(raw.period) ? "30" : raw.period.trim();
  const algorithm = (blank(raw.algorithm) ? "sha1" : raw.algorithm.trim())
    .toLowerCase()
    .replace(/^hmac-/, "")
    .replace("-", "");
  if (digits !== "6" && digits !== "8") throw new TokenInputError(`${where}: field "digits" must be 6 or 8, not "${digits}"`);
  if (period !== "30" && period !== "60") throw new TokenInputError(`${where}: field "period" must be 30 or 60 (seconds), not "${period}"`);
  const alg = ALGORITHMS.find((a) => a === algorithm);
  if (!alg) throw new TokenInputError(`${where}: field "algorithm" must be sha1, sha256 or sha512, not "${raw.algorithm}"`);
  return { digits: digits === "6" ? 6 : 8, period: period === "30" ? 30 : 60, algorithm: alg };
}

function blank(v: string | undefined): v is undefined {
  return v === undefined || v.trim() === "";
}

/** A seed in base32 (RFC 4648, padding and spaces ignored) or hex. */
export function seedFrom(text: string, encoding: "base32" | "hex", where: string, field: string): Uint8Array {
  const compact = text.replace(/[\s=]/g, "");
  let seed: Uint8Array;
  if (encoding === "hex") {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(compact)) throw new TokenInputError(`${where}: field "${field}" is not hex (pairs of 0-9, a-f)`);
    seed = Uint8Array.from(Buffer.from(compact, "hex"));
  } else {
    if (!/^[A-Za-z2-7]+$/.test(compact)) throw new TokenInputError(`${where}: field "${field}" is not base32 (A-Z, 2-7)`);
    try {
      seed = seedFromBase32(compact.toUpperCase());
    } catch {
      throw new TokenInputError(`${where}: field "${field}" is not valid base32`);
    }
  }
  return checkedSeed(seed, where, field);
}

export function checkedSeed(seed: Uint8Array, where: string, field: string): Uint8Array {
  if (!isUsableSeedLength(seed.length)) {
    throw new TokenInputError(
      `${where}: field "${field}" is ${seed.length} bytes; a seed must be ${MIN_SEED_BYTES}-${MAX_SEED_BYTES} bytes`,
    );
  }
  return seed;
}

/**
 * The additional data a seed is sealed with: the user and the token's parameters. A row
 * copied to another user (say, an insider's own token onto an admin's name) or with its
 * digits or period changed no longer decrypts.
 */
export function sealContext(username: string, params: TotpParams): string {
  return `edge-mfa/relay-local-totp/v1:${params.algorithm}:${params.digits}:${params.period}:${username}`;
}
