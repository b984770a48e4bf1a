import { z } from "zod";
import { MsisdnSchema } from "./magic-link.ts";
import { CHALLENGE_PATTERN, EDGE_UNAVAILABLE_ERROR, NUMBER_CHANGED, RESULT_CODES, USERNAME_MAX, normalizeUsername } from "./relay.ts";
import {
  CHALLENGE_METHODS,
  CHALLENGE_TTL_MAX_SECONDS,
  CHALLENGE_TTL_MIN_SECONDS,
  EdgeStateHex,
  NasSchema,
  RadiusUserName,
} from "./relay-challenge.ts";

/**
 * The relay API: the on-prem RADIUS relay (relay/src/edge-client.ts) calls the edge
 * (workers/routes/relay-api.ts). Every call is a POST of a JSON body to RELAY_API_BASE + its
 * path, with a relay token bound to that full path (relay-token.ts). Both sides import the
 * paths and schemas from here, so a change to one side that the other does not follow is a
 * compile error, not a refused login.
 *
 * `request`: the fields the edge validates for the call (unknown fields are ignored).
 * `namesUser`: the body also carries the user (WhoSchema), checked against the number pinned
 *   for that user before the call runs (409 {"error": NUMBER_CHANGED} when they differ).
 * `answer`: the 200 body the relay accepts; anything else is a refusal there.
 */
export const RELAY_API_BASE = "/api/relay/v1";

/** A username as both ends compare it (normalizeUsername), never empty once normalised: relay logins, link lookups, pins, approvers. */
export const UsernameSchema = z
  .string()
  .max(USERNAME_MAX)
  .transform(normalizeUsername)
  .pipe(z.string().min(1, "username must not be empty"));

/** Who is logging in: the RADIUS username (normalised: the pin key) and the number that should prove it. */
export const WhoSchema = z.object({
  username: UsernameSchema,
  msisdn: MsisdnSchema,
});

export const OTP_VERDICTS = ["accept", "reject", "expired", "locked"] as const;
export type OtpVerdict = (typeof OTP_VERDICTS)[number];
const VerdictAnswer = z.object({ result: z.enum(OTP_VERDICTS) });

/** What a pending challenge needs to be answered: who, and the factor's own reference. */
export const ChallengeSchema = WhoSchema.extend({
  method: z.enum(CHALLENGE_METHODS),
  /** The edge's SMS OTP challenge id (sms only). */
  challengeId: z.string().min(1).max(64).optional(),
  /** The code shown to the user to sign in the app (challenge-response only). */
  challenge: z.string().regex(CHALLENGE_PATTERN).optional(),
});
export const REDEEM_REFUSALS = ["unknown", "expired", "mismatch"] as const;

/** How an SMS OTP's code reached the user (the relay words its prompt by it). */
export const SMS_OTP_DELIVERIES = ["app", "sms"] as const;

export const RELAY_CALLS = {
  /** The blocking Touch session of the Magic Link API, for a RADIUS login. */
  touch: {
    path: "/touch",
    namesUser: true,
    request: z.object({
      msisdn: MsisdnSchema,
      /** RADIUS NAS waits are short: default to the endpoint's timeout, cap it by the API bounds. */
      timeoutSeconds: z.number().int().min(15).max(300).optional(),
      authenticationText: z.string().max(500).optional(),
    }),
    // A BAD_REQUEST also says why in `reason` (for the edge's own logs; the relay reads `code`).
    answer: z.object({ code: z.enum(RESULT_CODES), reason: z.string().optional() }),
  },
  /** Sends a one-time code by SMS; the relay asks the user for it (Access-Challenge). */
  smsOtp: {
    path: "/sms-otp",
    namesUser: true,
    request: z.object({ msisdn: MsisdnSchema }),
    answer: z.union([
      z.object({
        code: z.literal("SENT"),
        challengeId: z.string().min(1),
        /** "app": the code went to the number's authenticator app by push (the SMS may follow); absent: by SMS. */
        delivery: z.enum(SMS_OTP_DELIVERIES).optional(),
      }),
      // `reason` (BAD_REQUEST: rate_limited, locked) is for people; the relay reads `code`.
      z.object({ code: z.enum(["FAILED_DELIVERY", "BAD_REQUEST"]), reason: z.string().optional() }),
    ]),
  },
  /** Checks the code the user typed against the SMS OTP challenge (already pin-checked when it started). */
  smsOtpVerify: {
    path: "/sms-otp/verify",
    namesUser: false,
    request: z.object({ msisdn: MsisdnSchema, challengeId: z.string().min(1).max(64), code: z.string().max(32) }),
    answer: VerdictAnswer,
  },
  /** Checks a TOTP code (the app's offline code, or an enrolled on-prem token). */
  totpVerify: {
    path: "/totp/verify",
    namesUser: true,
    request: z.object({ msisdn: MsisdnSchema, code: z.string().max(32) }),
    answer: VerdictAnswer,
  },
  /** Checks the app's offline signature of a challenge the relay showed. */
  challengeResponseVerify: {
    path: "/challenge-response/verify",
    namesUser: true,
    request: z.object({ msisdn: MsisdnSchema, challenge: z.string().regex(CHALLENGE_PATTERN), code: z.string().max(16) }),
    answer: VerdictAnswer,
  },
  /** Which offline factors the number has: a TOTP code to ask for, the app to sign a challenge. */
  subscriber: {
    path: "/subscriber",
    namesUser: true,
    request: z.object({ msisdn: MsisdnSchema }),
    answer: z.object({ totp: z.boolean(), app: z.boolean() }),
  },
  /**
   * Keeps a pending Access-Challenge for the relay's site (core/contracts/relay-challenge.ts):
   * any relay of the site can redeem the State it returns, once, for the same User-Name and
   * NAS, before it expires. The user was pin-checked by the call that started the factor.
   */
  challengeIssue: {
    path: "/challenge/issue",
    namesUser: false,
    request: ChallengeSchema.extend({
      user: RadiusUserName,
      nas: NasSchema,
      ttlSeconds: z.number().int().min(CHALLENGE_TTL_MIN_SECONDS).max(CHALLENGE_TTL_MAX_SECONDS),
    })
      // A challenge that could never be answered is refused when issued, not when redeemed.
      .refine((c) => c.method !== "sms" || c.challengeId !== undefined, { path: ["challengeId"], message: "sms needs its challengeId" })
      .refine((c) => c.method !== "challenge-response" || c.challenge !== undefined, {
        path: ["challenge"],
        message: "challenge-response needs its challenge",
      }),
    answer: z.object({ state: EdgeStateHex }),
  },
  /** Consumes a State (whatever the outcome): the challenge, or why it cannot be answered. */
  challengeRedeem: {
    path: "/challenge/redeem",
    namesUser: false,
    request: z.object({ state: EdgeStateHex, user: RadiusUserName, nas: NasSchema }),
    answer: z.union([z.object({ result: z.literal("ok"), challenge: ChallengeSchema }), z.object({ result: z.enum(REDEEM_REFUSALS) })]),
  },
} as const;

/**
 * Several Touch logins in one signed call: the relay sends the logins that reach it together
 * (one event-loop round) as one POST instead of one each, which under load is most of its CPU
 * per login and one connection per waiting user. The token binds the whole body (method, path,
 * body hash, single-use jti), so each login in it is bound exactly as a login alone is; the
 * edge checks each against its user's pinned number and runs each as its own blocking Touch
 * session, as RELAY_CALLS.touch does.
 *
 * The 200 answer is NDJSON (`application/x-ndjson`): one `line` per login, written as that
 * login's user decides (not in request order), `i` its index in `logins`; the stream ends when
 * every login has its line. A whole-call refusal (401, 400, 413, 500, 503) answers every login
 * in it, as the same status would answer a single Touch. A login's own refusal is its line:
 * `error` NUMBER_CHANGED (as a 409 would), EDGE_UNAVAILABLE_ERROR (a transient platform fault:
 * the relay's fail mode applies, as a 503 would) or "refused" (anything else; the login is
 * rejected).
 */
export const TOUCH_BATCH_MAX_LOGINS = 32;
export const TOUCH_BATCH_LOGIN_REFUSALS = [NUMBER_CHANGED, EDGE_UNAVAILABLE_ERROR, "refused"] as const;
export const TOUCH_BATCH = {
  path: "/touch/batch",
  contentType: "application/x-ndjson",
  request: z.object({
    logins: z.array(RELAY_CALLS.touch.request.extend(WhoSchema.shape)).min(1).max(TOUCH_BATCH_MAX_LOGINS),
  }),
  line: z.union([
    RELAY_CALLS.touch.answer.extend({
      i: z
        .number()
        .int()
        .min(0)
        .max(TOUCH_BATCH_MAX_LOGINS - 1),
    }),
    z.object({
      i: z
        .number()
        .int()
        .min(0)
        .max(TOUCH_BATCH_MAX_LOGINS - 1),
      error: z.enum(TOUCH_BATCH_LOGIN_REFUSALS),
    }),
  ]),
} as const;
/** The body of a batched Touch call, as the relay sends it. */
export type TouchBatchRequest = z.input<typeof TOUCH_BATCH.request>;
/** One line of a batched Touch call's answer. */
export type TouchBatchLine = z.output<typeof TOUCH_BATCH.line>;

/** A call without a valid relay token (missing, bad signature, wrong audience/method/path/body, expired, replayed). */
export const RelayUnauthorizedSchema = z.object({ error: z.literal("unauthorized"), reason: z.string() }).meta({ id: "RelayUnauthorized" });
/** 409: the number is not the one pinned for the user (see NUMBER_CHANGED). */
export const NumberChangedSchema = z.object({ error: z.literal(NUMBER_CHANGED) }).meta({ id: "NumberChanged" });
/** 503: a transient fault of the platform; the one answer that lets the relay apply its fail mode. */
export const EdgeUnavailableSchema = z.object({ error: z.literal(EDGE_UNAVAILABLE_ERROR) }).meta({ id: "EdgeUnavailable" });

export type RelayCallName = keyof typeof RELAY_CALLS;
export type RelayCall = (typeof RELAY_CALLS)[RelayCallName];
/** The body a call sends (the user's fields included when it names one). */
export type RelayRequest<N extends RelayCallName> = z.input<(typeof RELAY_CALLS)[N]["request"]> &
  ((typeof RELAY_CALLS)[N]["namesUser"] extends true ? z.input<typeof WhoSchema> : unknown);
/** The 200 body of a call. */
export type RelayAnswer<N extends RelayCallName> = z.output<(typeof RELAY_CALLS)[N]["answer"]>;
