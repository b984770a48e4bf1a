import { z } from "zod";
import { TOKEN_PATTERN } from "../tokens.ts";
import { ACTIVATION_CODE_DIGITS, ACTIVATION_CODE_PATTERN } from "./activation-code.ts";
import { DEVICE_NAME_PATTERN, MAX_DEVICE_NAME } from "./device-name.ts";
import { E164 } from "./relay.ts";

export { ACTIVATION_CODE_DIGITS, ACTIVATION_CODE_PATTERN };

/** Shapes the authenticator app sends (and the Subscriber object stores), validated at the edge. */

const b64u = z.string().regex(/^[A-Za-z0-9_-]+$/);

export const TokenSchema = z.string().regex(TOKEN_PATTERN);
export const MsisdnSchema = z.string().regex(E164);

/**
 * PushSubscription.toJSON(). Push services are https (RFC 8030); the keys are the browser's
 * ECDH public key (65-byte uncompressed point) and 16-byte auth secret.
 */
export const PushSubscriptionSchema = z.object({
  endpoint: z
    .url()
    .max(2048)
    .refine((u) => u.startsWith("https://"), "push endpoint must be https"),
  keys: z.object({
    p256dh: b64u.length(87),
    auth: b64u.length(22),
  }),
});
export type PushSubscriptionJson = z.infer<typeof PushSubscriptionSchema>;

/** The device's ECDSA P-256 public key as a JWK (its private half never leaves the device). */
export const DevicePublicKeySchema = z
  .object({
    kty: z.literal("EC"),
    crv: z.literal("P-256"),
    x: b64u.length(43),
    y: b64u.length(43),
  })
  .transform(({ kty, crv, x, y }) => ({ kty, crv, x, y }));
export type DevicePublicKey = z.output<typeof DevicePublicKeySchema>;

/** Activation started in the app: the number to send the activation SMS to. */
export const ActivationRequestBodySchema = z.object({ msisdn: MsisdnSchema });

export const ActivationInfoBodySchema = z.object({ msisdn: MsisdnSchema, token: TokenSchema });

/**
 * A device's name as the user typed it (or the app proposed from the browser): shown to the
 * number's other devices, operators and the audit. Printable text only.
 */
export const DeviceNameSchema = z.string().trim().min(1).max(MAX_DEVICE_NAME).regex(DEVICE_NAME_PATTERN, "printable characters only");

/**
 * WebAuthn responses as @simplewebauthn/browser makes them (RegistrationResponseJSON,
 * AuthenticationResponseJSON): their shape is checked here, their content by
 * @simplewebauthn/server at the edge. Bounded, so junk is refused before it is parsed.
 */
const b64uField = (max: number) => b64u.max(max);
export const WebAuthnRegistrationSchema = z.object({
  id: b64uField(1024),
  rawId: b64uField(1024),
  type: z.literal("public-key"),
  response: z
    .object({
      clientDataJSON: b64uField(4096),
      attestationObject: b64uField(8192),
      transports: z.array(z.string().max(32)).max(8).optional(),
    })
    .loose(),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
});
export const WebAuthnAssertionSchema = z.object({
  id: b64uField(1024),
  rawId: b64uField(1024),
  type: z.literal("public-key"),
  response: z.object({
    clientDataJSON: b64uField(4096),
    authenticatorData: b64uField(4096),
    signature: b64uField(1024),
    userHandle: b64uField(1024).optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
});

export const ActivateBodySchema = z.object({
  msisdn: MsisdnSchema,
  token: TokenSchema,
  /** The one-time code sent by SMS when the activation token was issued. */
  code: z.string().regex(ACTIVATION_CODE_PATTERN),
  publicKey: DevicePublicKeySchema,
  subscription: PushSubscriptionSchema.nullable(),
  /** What the user calls this device; absent (an app of an earlier release): "Phone". */
  name: DeviceNameSchema.optional(),
  /**
   * The platform credential registered with user verification (options from
   * /registration-options); null or absent: this device has no platform authenticator.
   */
  webauthn: WebAuthnRegistrationSchema.nullable().optional(),
});

const DeviceRef = { msisdn: MsisdnSchema, deviceId: TokenSchema };
/**
 * An ES256 compact JWS as the app makes it (jws-sign.ts): base64url header and payload, and a
 * 64-byte r||s signature (86 base64url chars). Anything else is refused before a Durable
 * Object is called.
 */
export const CompactEs256JwsSchema = z
  .string()
  .max(4096)
  .regex(/^[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,3800}\.[A-Za-z0-9_-]{86}$/);
export const SignedBodySchema = z.object({ ...DeviceRef, jws: CompactEs256JwsSchema });
/**
 * The app's reads are signed too (DeviceReadClaimsSchema): a device id is not a credential, so
 * whoever saw one (an audit export, the admin console) cannot list the number's pending
 * sign-ins or take a challenge's nonce from under the device.
 */
export const PendingBodySchema = SignedBodySchema;
export const ChallengeBodySchema = SignedBodySchema.extend({ challengeId: TokenSchema });
/** An answer: the signed claims and, for an Accept where the endpoint asks for it, a user-verification assertion. */
export const AnswerBodySchema = SignedBodySchema.extend({ webauthn: WebAuthnAssertionSchema.optional() });

/**
 * The approver picked in the app (Assisted Login): an opaque id from the list the challenge
 * details carried, checked against the session's snapshot of the list.
 */
export const ApproverIdSchema = z.string().min(1).max(64);

/**
 * What the device signs to answer a challenge (payload of an ES256 compact JWS). `n` is the
 * server nonce handed out with the challenge details: single use, so a captured answer
 * cannot be replayed. `m` is the number the user picked when number matching is on; `a` the
 * approver the user picked (Assisted Login, after their Accept).
 */
export const AnswerClaimsSchema = z.object({
  typ: z.literal("edge-mfa/answer"),
  c: TokenSchema,
  n: TokenSchema,
  d: z.enum(["accept", "reject"]),
  m: z.number().int().min(10).max(99).optional(),
  a: ApproverIdSchema.optional(),
});
export type AnswerClaims = z.infer<typeof AnswerClaimsSchema>;

/** A RADIUS SMS OTP challenge id (16 random bytes, base64url). */
export const SmsOtpIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/);

/** A device update's one-time id: 16 to 48 random bytes, base64url. */
export const DeviceUpdateIdSchema = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/);

/** Signed request to replace the push subscription or remove the device. */
export const DeviceUpdateClaimsSchema = z.object({
  typ: z.literal("edge-mfa/device"),
  /** Seconds since epoch; the request is refused outside a short window. */
  iat: z.number().int(),
  /**
   * Random, fresh for each request: an update is taken once, so one seen on the wire (a
   * TLS-inspecting proxy's log) cannot be played again within the `iat` window.
   */
  jti: DeviceUpdateIdSchema,
  subscription: PushSubscriptionSchema.nullable().optional(),
  remove: z.literal(true).optional(),
  /** One of the number's devices refuses the pending join of another device. */
  refuseReplacement: z.literal(true).optional(),
  /**
   * One of the number's devices lets the pending join take effect now (the user added it
   * themselves): the `requestedAt` of the join it was shown, so a join that replaced that one
   * since (someone else's) is not the one let in.
   */
  approveReplacement: z.number().int().nonnegative().optional(),
  /** A joining device asks to take effect once its grace window passed (and gets its seed). */
  claim: z.literal(true).optional(),
  /** A new name for this device. */
  name: DeviceNameSchema.optional(),
  /** This device got the push of this RADIUS SMS OTP (its id): the SMS fallback is not sent. */
  otpSeen: SmsOtpIdSchema.optional(),
});
export type DeviceUpdateClaims = z.infer<typeof DeviceUpdateClaimsSchema>;

/** The reads a device signs: its pending list, the number's devices, one challenge's details. */
export const DEVICE_READS = ["pending", "devices", "challenge"] as const;
export type DeviceRead = (typeof DEVICE_READS)[number];

/**
 * A signed read: what it reads (`r`, and for a challenge its id `c`) and when (`iat`, seconds;
 * refused outside the same window as updates). No one-time id: a read played again within the
 * window (one seen on the wire) reads what it read before, and a challenge read played again
 * only renews that device's nonce for it, so its app fetches the challenge again to answer.
 */
export const DeviceReadClaimsSchema = z.object({
  typ: z.literal("edge-mfa/read"),
  iat: z.number().int(),
  r: z.enum(DEVICE_READS),
  c: TokenSchema.optional(),
});

// ---- what the app API answers (shared with the app in client/, which imports these types only) ----

/** An approver as the user sees it: a name and an opaque id, never a number. */
export interface ApproverChoice {
  id: string;
  name: string;
}

/**
 * `POST /app/api/challenge` for a pending challenge. `role` says whose device this is: the
 * signing-in user's, or an Assisted Login approver's. `step` is `choose_approver` once the user
 * accepted on an Assisted Login endpoint and must pick who approves (from `approvers`).
 */
export interface ChallengeDetails {
  status: "pending";
  role: "user" | "approver";
  step: "answer" | "choose_approver";
  title: string;
  text: string;
  buttonAccept: string;
  buttonReject: string;
  /** Number matching: the accept buttons; null when off. */
  choices: number[] | null;
  /** Assisted Login, user role: the approvers to pick from; null otherwise. */
  approvers: ApproverChoice[] | null;
  /** Single use: the signed answer must carry it. */
  nonce: string;
  expiresAt: number;
  /**
   * What an Accept from this device needs: a tap, a WebAuthn assertion with user verification
   * over approvalChallenge(challenge id, nonce, "accept"), or it cannot Accept here (no
   * platform authenticator, and the endpoint refuses a tap). A Reject never needs more.
   */
  approval: "tap" | "user-verification" | "unavailable";
}

/** `POST /app/api/devices`: one of the number's devices, by name (no ids of the others). */
export interface DeviceListing {
  name: string;
  /** The device that asked. */
  self: boolean;
  push: boolean;
  /** It registered a WebAuthn credential with user verification. */
  userVerification: boolean;
  activatedAt: number;
}

/** `POST /app/api/answer`, 200. */
export type AnswerResponse =
  | { status: "accepted" | "rejected"; text: string; numberMismatch: boolean }
  /** Assisted Login: the Accept counted; now pick an approver, signing with this nonce. */
  | { status: "choose_approver"; title: string; approvers: ApproverChoice[]; nonce: string }
  /** Assisted Login: the picked approver was asked; the sign-in waits for them. */
  | { status: "asked"; approverName: string };
