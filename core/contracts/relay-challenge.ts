import { z } from "zod";
import { USERNAME_MAX } from "./relay.ts";

/**
 * A pending RADIUS Access-Challenge kept at the edge, so that two relays of one site (behind
 * one NAS that fails over mid-login) can answer it: what the relay and the edge agree on.
 *
 * The State the NAS sees is OWNER_KEY_BYTES naming the user's challenge object at the edge
 * (a hash of site and account: not secret) followed by SECRET_BYTES from the CSPRNG; the
 * edge stores only the SHA-256 of the whole State. A relay keeps the shorter
 * LOCAL_STATE_BYTES States it had to issue itself (local TOTP while the edge is unreachable),
 * so the length alone says where a State lives.
 */
export const OWNER_KEY_BYTES = 8;
export const SECRET_BYTES = 32;
export const EDGE_STATE_BYTES = OWNER_KEY_BYTES + SECRET_BYTES;
export const LOCAL_STATE_BYTES = 16;

/**
 * Pending challenges one user (the account) may hold per site; a new one evicts their oldest.
 * Without it one account's password was enough to pile up State without bound.
 */
export const MAX_CHALLENGES_PER_USER = 5;

/** A challenge lives this long unless the relay asks for less or more (its challengeTtlSeconds). */
export const CHALLENGE_TTL_MIN_SECONDS = 30;
export const CHALLENGE_TTL_MAX_SECONDS = 900;

export const CHALLENGE_METHODS = ["sms", "totp", "challenge-response"] as const;
export type ChallengeMethod = (typeof CHALLENGE_METHODS)[number];

export const EdgeStateHex = z.string().regex(new RegExp(`^[0-9a-f]{${EDGE_STATE_BYTES * 2}}$`), "state must be the hex of an edge State");

/**
 * Which NAS a challenge was issued to. A NAS that fails over talks to the second relay from
 * the same address, with the same NAS-Identifier / NAS-IP-Address, so all three must match
 * (an attribute absent at issue must be absent at redeem). The port is left out: a NAS opens
 * another socket (or another source port) for the second relay.
 */
export const NasSchema = z.object({
  /** The NAS's source IP address as the relay saw it (IPv4-mapped IPv6 written as IPv4). */
  address: z.string().min(1).max(64),
  /** NAS-Identifier (RADIUS attribute 32), when the NAS sends one. */
  identifier: z.string().max(253).optional(),
  /** NAS-IP-Address (RADIUS attribute 4), when the NAS sends one. */
  ipAddress: z.string().max(64).optional(),
});
export type NasIdentity = z.infer<typeof NasSchema>;

/** "::ffff:10.0.0.1" (a dual-stack socket's view of an IPv4 NAS) and "10.0.0.1" are one NAS. */
export function normalizeNasAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return (mapped?.[1] ?? address).toLowerCase();
}

/** Whether two NAS identities are the same NAS (every field equal, absent equals absent only). */
export function sameNas(a: NasIdentity, b: NasIdentity): boolean {
  return (
    normalizeNasAddress(a.address) === normalizeNasAddress(b.address) &&
    (a.identifier ?? null) === (b.identifier ?? null) &&
    (a.ipAddress ?? null) === (b.ipAddress ?? null)
  );
}

/** One string for a NAS identity (the relay's in-process store compares these). */
export function nasKey(nas: NasIdentity): string {
  return JSON.stringify([normalizeNasAddress(nas.address), nas.identifier ?? null, nas.ipAddress ?? null]);
}

/** The User-Name exactly as the NAS sent it (the answer must carry the same). */
export const RadiusUserName = z.string().min(1).max(USERNAME_MAX);
