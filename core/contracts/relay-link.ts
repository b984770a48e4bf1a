import { z } from "zod";
import { E164 } from "./relay.ts";
import { RELAY_API_BASE, UsernameSchema } from "./relay-api.ts";

/**
 * The relay link: one outbound WebSocket a relay keeps open to the edge, so the edge can ask
 * the on-prem side questions (who is this user, who is in this group) and give it commands
 * (change this password) although it can never dial in. Both ends import these frames and
 * operations from here.
 *
 * The relay dials GET RELAY_LINK_PATH with its relay token (relay-token.ts, bound to GET, the
 * path and an empty body). Frames are JSON text messages:
 *   edge -> relay: { type: "request", id, op, args }
 *   relay -> edge: { type: "response", id, ok: true, result } | { type: "response", id, ok: false, error }
 * `id` is the edge's, unique per link; the relay answers each request once. An op the relay
 * does not serve is answered with error code "unsupported".
 *
 * `idempotent`: the op may run twice. When the link it went out on closes before the answer,
 * the edge asks the next relay of the site; any other op fails with "relay_error" then (a
 * password change may have happened: it is never sent twice).
 */
export const RELAY_LINK_PATH = `${RELAY_API_BASE}/link`;

export const LINK_OPS = {
  /** The user a reset or login names, as the directory knows them. */
  "user.lookup": {
    idempotent: true,
    args: z.object({ username: UsernameSchema }),
    result: z.object({
      found: z.boolean(),
      msisdn: z.string().regex(E164).optional(),
      displayName: z.string().max(256).optional(),
      /**
       * The user's login name as the directory holds it (the account attribute), which may
       * differ from the name asked for (a search filter that also matches mail): the edge
       * takes both as the requester's names, so an approver under either is refused.
       */
      username: UsernameSchema.optional(),
    }),
  },
  /** Members of a directory group, for Assisted Login / reset approvers. */
  "group.members": {
    idempotent: true,
    args: z.object({ group: z.string().min(1).max(1024) }),
    result: z.object({
      /** `username`: the member's login name (the account attribute), normalised: it names the person to the edge. */
      members: z.array(z.object({ username: UsernameSchema, displayName: z.string().max(256), msisdn: z.string().regex(E164) })).max(1000),
    }),
  },
  /**
   * Sets a user's new password in the directory. `jwe` is the new password encrypted by the
   * user's browser to the relay's key (compact JWE, ECDH-ES): the edge never sees it.
   */
  "password.change": {
    idempotent: false,
    args: z.object({ username: UsernameSchema, jwe: z.string().min(1).max(8192) }),
    result: z.union([
      z.object({ changed: z.literal(true) }),
      z.object({
        changed: z.literal(false),
        /** policy: the directory refused the password (message says why, in words for the user). */
        reason: z.enum(["policy", "not_found", "undecryptable", "directory_unavailable"]),
        message: z.string().max(500),
      }),
    ]),
  },
} as const;

export type LinkOp = keyof typeof LINK_OPS;
export type LinkArgs<O extends LinkOp> = z.input<(typeof LINK_OPS)[O]["args"]>;
export type LinkResult<O extends LinkOp> = z.output<(typeof LINK_OPS)[O]["result"]>;

/** Why a link request got no result. */
export const LINK_ERROR_CODES = ["no_relay", "timeout", "unsupported", "bad_request", "relay_error"] as const;
export type LinkErrorCode = (typeof LINK_ERROR_CODES)[number];

export const LinkRequestFrame = z.object({
  type: z.literal("request"),
  id: z.string().min(1).max(64),
  op: z.string().max(64),
  args: z.unknown(),
});
export const LinkResponseFrame = z.discriminatedUnion("ok", [
  z.object({ type: z.literal("response"), id: z.string().min(1).max(64), ok: z.literal(true), result: z.unknown() }),
  z.object({
    type: z.literal("response"),
    id: z.string().min(1).max(64),
    ok: z.literal(false),
    error: z.object({ code: z.enum(LINK_ERROR_CODES), message: z.string().max(500) }),
  }),
]);
export type LinkRequestFrame = z.infer<typeof LinkRequestFrame>;
export type LinkResponseFrame = z.infer<typeof LinkResponseFrame>;
