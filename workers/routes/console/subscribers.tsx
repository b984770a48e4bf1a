import { Hono, type Context } from "hono";
import { z } from "zod";
import { ENDPOINT_NAME } from "../../config/schema";
import { MsisdnSchema } from "../../../core/contracts/magic-link";
import { USERNAME_MAX, normalizeUsername } from "../../../core/contracts/relay";
import { Base32SeedSchema } from "../../../core/seed-input";
import { cancelPinChange, confirmPinChange, removeNumberPin } from "../../domain/number-pin-admin";
import { clearSubscriberLocks, revokeDevice, subscriberSummary } from "../../domain/subscriber-admin";
import { enrollTotpToken, removeTotpToken } from "../../domain/totp-tokens";
import { LOCK_KINDS, type LockKindName } from "../../objects/subscriber/contract";
import { SUBSCRIBERS_PATH, SubscriberPage, type SubscriberView } from "../../pages/console/subscriber";
import { listPinsForNumber } from "../../store/relay-pins";
import type { ConsoleEnv } from "./context";

/**
 * Console: a number's devices, lockouts, TOTP token and RADIUS number pins (mounted at
 * /admin/subscribers). Every change goes through the domain function the admin API uses, which
 * audits it under the operator's name; then the browser is sent back to the number's page
 * (post/redirect/get) with one of the fixed notices below, so nothing typed is echoed.
 */
export const consoleSubscribers = new Hono<ConsoleEnv>();
type C = Context<ConsoleEnv>;

const NOTICES = {
  revoked: "Device revoked.",
  "no-device": "That device is no longer activated for this number.",
  unlocked: "Lockouts cleared.",
  "not-locked": "Nothing was locked.",
  enrolled: "TOTP token enrolled.",
  "totp-removed": "TOTP token removed.",
  "no-totp": "No TOTP token was enrolled.",
  confirmed: "Number change confirmed.",
  "no-pending": "There is no pending number change for that user.",
  "pending-changed": "The pending number changed meanwhile; check it again before confirming.",
  cancelled: "Number change cancelled.",
  "pin-removed": "Pin removed: the user's next login pins the number the directory reports then.",
  "no-pin": "That user has no pin.",
} as const;
type Notice = keyof typeof NOTICES;
const isNotice = (s: string | undefined): s is Notice => s !== undefined && Object.hasOwn(NOTICES, s);

/** Rows shown per number; a number shared by more RADIUS users than this is a finding in itself. */
const PIN_LIMIT = 100;

async function view(env: Env, msisdn: string): Promise<SubscriberView> {
  const [summary, pins] = await Promise.all([subscriberSummary(env, msisdn), listPinsForNumber(env.DB, msisdn, PIN_LIMIT)]);
  return { msisdn, ...summary, pins };
}

function page(c: C, props: { query: string; subscriber: SubscriberView | null; notice?: string; error?: string }, status: 200 | 400 = 200) {
  return c.html(<SubscriberPage operator={c.get("operator")} csrfToken={c.get("csrfToken")} {...props} />, status);
}

const firstIssue = (e: z.core.$ZodError) => {
  const i = e.issues[0];
  return i ? `${i.path.join(".") || "input"}: ${i.message}` : "invalid input";
};

const backTo = (c: C, msisdn: string, done: Notice) =>
  c.redirect(`${SUBSCRIBERS_PATH}?msisdn=${encodeURIComponent(msisdn)}&done=${done}`, 303);

consoleSubscribers.get("/", async (c) => {
  const raw = c.req.query("msisdn");
  if (raw === undefined || raw.trim() === "") return page(c, { query: "", subscriber: null });
  const parsed = MsisdnSchema.safeParse(raw.trim());
  if (!parsed.success)
    return page(c, { query: raw, subscriber: null, error: `Phone number: ${firstIssue(parsed.error).replace(/^input: /, "")}` }, 400);
  const done = c.req.query("done");
  return page(c, { query: parsed.data, subscriber: await view(c.env, parsed.data), ...(isNotice(done) ? { notice: NOTICES[done] } : {}) });
});

/**
 * A POST's form, validated; a refused one re-renders the number's page (or the empty lookup
 * page) with the first problem, naming the field. The CSRF field was checked by the console's middleware.
 */
async function form<T extends z.ZodType>(c: C, schema: T): Promise<{ ok: true; data: z.output<T> } | { ok: false; res: Response }> {
  // parseBody: cached, so the CSRF middleware's read and this one see the same form; {} for other content types.
  const body = Object.fromEntries(Object.entries(await c.req.parseBody()).filter(([k, v]) => k !== "_csrf" && typeof v === "string"));
  const parsed = schema.safeParse(body);
  if (parsed.success) return { ok: true, data: parsed.data };
  const msisdn = MsisdnSchema.safeParse(body.msisdn);
  const subscriber = msisdn.success ? await view(c.env, msisdn.data) : null;
  return { ok: false, res: await page(c, { query: msisdn.success ? msisdn.data : "", subscriber, error: firstIssue(parsed.error) }, 400) };
}

const NumberForm = z.object({ msisdn: MsisdnSchema });
const PinKey = NumberForm.extend({
  endpoint: z.string().regex(ENDPOINT_NAME, "endpoint names are 1-64 of A-Z a-z 0-9 . _ -"),
  username: z.string().max(USERNAME_MAX).transform(normalizeUsername).pipe(z.string().min(1, "username is empty")),
});

consoleSubscribers.post("/devices/revoke", async (c) => {
  const f = await form(c, NumberForm.extend({ deviceId: z.string().min(1).max(64) }));
  if (!f.ok) return f.res;
  const { msisdn, deviceId } = f.data;
  return backTo(c, msisdn, (await revokeDevice(c.env, c.get("operator"), msisdn, deviceId)) ? "revoked" : "no-device");
});

consoleSubscribers.post("/locks/clear", async (c) => {
  const f = await form(c, NumberForm.extend({ kind: z.enum(["offline", "sms-otp", "all"]).default("all") }));
  if (!f.ok) return f.res;
  const { msisdn, kind } = f.data;
  const kinds: LockKindName[] = kind === "all" ? [...LOCK_KINDS] : [kind === "sms-otp" ? "smsOtp" : "offline"];
  const cleared = await clearSubscriberLocks(c.env, c.get("operator"), msisdn, kinds);
  return backTo(c, msisdn, cleared.length > 0 ? "unlocked" : "not-locked");
});

/** Imports a hardware token's seed (the operator has it already, so the page never shows a seed). */
consoleSubscribers.post("/totp/enroll", async (c) => {
  const f = await form(c, NumberForm.extend({ secret: Base32SeedSchema }));
  if (!f.ok) return f.res;
  await enrollTotpToken(c.env, c.get("operator"), f.data.msisdn, f.data.secret);
  return backTo(c, f.data.msisdn, "enrolled");
});

consoleSubscribers.post("/totp/remove", async (c) => {
  const f = await form(c, NumberForm);
  if (!f.ok) return f.res;
  return backTo(c, f.data.msisdn, (await removeTotpToken(c.env, c.get("operator"), f.data.msisdn)) ? "totp-removed" : "no-totp");
});

/** Confirms exactly the pending number the page showed (`pending`), never one that replaced it since. */
consoleSubscribers.post("/pins/confirm", async (c) => {
  const f = await form(c, PinKey.extend({ pending: MsisdnSchema }));
  if (!f.ok) return f.res;
  const { msisdn, endpoint, username, pending } = f.data;
  const r = await confirmPinChange(c.env, c.get("operator"), endpoint, username, pending);
  const done: Notice = r.kind === "confirmed" ? "confirmed" : r.kind === "no_pending" ? "no-pending" : "pending-changed";
  return backTo(c, msisdn, done);
});

consoleSubscribers.post("/pins/cancel", async (c) => {
  const f = await form(c, PinKey);
  if (!f.ok) return f.res;
  const { msisdn, endpoint, username } = f.data;
  return backTo(c, msisdn, (await cancelPinChange(c.env, c.get("operator"), endpoint, username)) ? "cancelled" : "no-pending");
});

consoleSubscribers.post("/pins/remove", async (c) => {
  const f = await form(c, PinKey);
  if (!f.ok) return f.res;
  const { msisdn, endpoint, username } = f.data;
  return backTo(c, msisdn, (await removeNumberPin(c.env, c.get("operator"), endpoint, username)) ? "pin-removed" : "no-pin");
});
