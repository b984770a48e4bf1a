import { relaySite, type Relay } from "../config/schema";
import { OWNER_KEY_BYTES, SECRET_BYTES } from "../../core/contracts/relay-challenge";
import type { z } from "zod";
import type { RELAY_CALLS, RelayAnswer } from "../../core/contracts/relay-api";
import { sha256Hex } from "../../core/tokens";
import type { RedeemResult } from "../objects/relay-challenges/contract";
import { objectStub } from "../lib/durable-objects";

/**
 * RADIUS Access-Challenges kept at the edge for a site's relays (decision record 0009). The
 * State is an owner key naming the user's object, "<site>/<owner key>", followed by 256
 * random bits; only its SHA-256 is stored. The object is per site and account: a per-user cap
 * comes for free, and a flood by one account only ever reaches that account's object (no hot
 * object for the site). A relay of another site computes another object name from the same
 * State, so it finds nothing there.
 */

type IssueBody = z.output<(typeof RELAY_CALLS)["challengeIssue"]["request"]>;
type RedeemBody = z.output<(typeof RELAY_CALLS)["challengeRedeem"]["request"]>;

/** The owner key (hex) of a user at a site: a name for their object, not a secret. */
async function ownerKey(site: string, username: string): Promise<string> {
  return (await sha256Hex(`${site}\n${username}`)).slice(0, OWNER_KEY_BYTES * 2);
}

function stub(env: Env, site: string, owner: string) {
  return objectStub(env, "RELAY_CHALLENGES", `${site}/${owner}`);
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Stores a new challenge for the relay's site; returns the State (hex) for the NAS. */
export async function issueRelayChallenge(env: Env, relay: Relay, req: IssueBody): Promise<string> {
  const site = relaySite(relay);
  const owner = await ownerKey(site, req.username);
  const state = owner + randomHex(SECRET_BYTES);
  const { ttlSeconds, ...c } = req;
  await stub(env, site, owner).issue(await sha256Hex(state), {
    site,
    relay: relay.name,
    user: c.user,
    username: c.username,
    msisdn: c.msisdn,
    method: c.method,
    ...(c.challengeId !== undefined ? { challengeId: c.challengeId } : {}),
    ...(c.challenge !== undefined ? { challenge: c.challenge } : {}),
    nas: c.nas,
    ttlMs: ttlSeconds * 1000,
  });
  return state;
}

/** Consumes the State at the caller's site: the challenge if the same User-Name and NAS present it in time. */
export async function redeemRelayChallenge(
  env: Env,
  relay: Relay,
  req: RedeemBody,
): Promise<{ answer: RelayAnswer<"challengeRedeem">; issuedBy?: string }> {
  const site = relaySite(relay);
  const owner = req.state.slice(0, OWNER_KEY_BYTES * 2);
  const r: RedeemResult = await stub(env, site, owner).redeem(await sha256Hex(req.state), { site, user: req.user, nas: req.nas });
  if (!r.ok) return { answer: { result: r.reason } };
  const c = r.challenge;
  return {
    answer: {
      result: "ok",
      challenge: {
        username: c.username,
        msisdn: c.msisdn,
        method: c.method,
        ...(c.challengeId !== undefined ? { challengeId: c.challengeId } : {}),
        ...(c.challenge !== undefined ? { challenge: c.challenge } : {}),
      },
    },
    issuedBy: c.relay,
  };
}
