import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import {
  type GuardEntries,
  type Limits,
  NUMBER_LIMITS,
  SHARDS,
  SHARD_LIMITS,
  TIMEOUT_MS,
  auditRow,
  entries,
  floorState,
} from "./guarantees";
import { answerForm, linkToken, sendSms } from "./network";

/**
 * The guarantees floor in fewer objects (`/merged/...`): the same guarantees as guarantees.ts,
 * but a number's sessions live in the number's object beside its caps, instead of one object
 * per session. It answers whether a redesign of the product's two objects into one would bring
 * the guarantees within reach of the same choreography (docs/benchmarks.md).
 *
 * - The call takes an overload lease (a shard, as in guarantees.ts), then makes one call to the
 *   number's object, which checks the number's caps, stores the session (its entry is its
 *   record: one write) and arms the object's one alarm for the earliest pending deadline before
 *   the SMS leaves, then holds the call.
 * - The link names the number's object (its id) and the session's token, so the page and the
 *   answer go straight to it. The answer is stored (one write) before the held call hears it;
 *   the lease is given back in `waitUntil`, and nothing else is: the number's entry ends in
 *   the same write.
 * - Ended sessions stay while the attempts window counts them, then go at the next start or
 *   alarm. One D1 audit row per call, as in guarantees.ts.
 */
interface MergedEnv {
  MERGED_NUMBER: DurableObjectNamespace<MergedNumber>;
  GUARD_ENTRIES: DurableObjectNamespace<GuardEntries>;
  GUARD_DB: D1Database;
  SMS_HTTP_URL: string;
}

type Status = "pending" | "TOUCH_ACCEPTED" | "TOUCH_REJECTED" | "USER_NOT_RESPONDED" | "FAILED_DELIVERY";

interface MergedSession {
  at: number;
  deadline: number;
  csrf: string;
  shard: string;
  status: Status;
}

/** A number's caps and its sessions, in one object. */
export class MergedNumber extends DurableObject<MergedEnv> {
  #sessions = new Map<string, MergedSession>();
  #waiting = new Map<string, (code: string) => void>();
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: MergedEnv) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      for (const [key, s] of await ctx.storage.list<MergedSession>({ prefix: "s:" })) this.#sessions.set(key.slice(2), s);
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Starts a session under the number's caps and holds the call until it ends; "REFUSED" writes nothing. */
  async auth(token: string, msisdn: string, link: string, csrf: string, shard: string, limits: Limits = NUMBER_LIMITS): Promise<string> {
    const now = Date.now();
    this.#prune(now, limits.windowMs ?? 0);
    let live = 0;
    for (const s of this.#sessions.values()) if (s.status === "pending") live++;
    if (live >= limits.cap || (limits.perWindow !== undefined && this.#sessions.size >= limits.perWindow)) return "REFUSED";
    const session: MergedSession = { at: now, deadline: now + TIMEOUT_MS, csrf, shard, status: "pending" };
    this.#sessions.set(token, session);
    // The output gate holds the SMS until the write and the alarm are durable.
    this.ctx.storage.put(`s:${token}`, session);
    this.#armFor(session.deadline);
    const answered = new Promise<string>((resolve) => this.#waiting.set(token, resolve));
    const sent = await sendSms(this.env.SMS_HTTP_URL, msisdn, link).catch(() => false);
    if (!sent && session.status === "pending") this.#finish(token, session, "FAILED_DELIVERY");
    return answered;
  }

  async page(token: string): Promise<string | null> {
    const s = this.#sessions.get(token);
    return s?.status === "pending" ? s.csrf : null;
  }

  async answer(token: string, decision: string, csrf: string): Promise<boolean> {
    const s = this.#sessions.get(token);
    if (s?.status !== "pending" || csrf !== s.csrf) return false;
    this.#finish(token, s, decision === "accept" ? "TOUCH_ACCEPTED" : "TOUCH_REJECTED");
    return true;
  }

  /** Pending sessions (for the floor's test). */
  async live(): Promise<number> {
    return [...this.#sessions.values()].filter((s) => s.status === "pending").length;
  }

  /** Ends the sessions past their deadline, then arms for the next one. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const now = Date.now();
    for (const [token, s] of this.#sessions) if (s.status === "pending" && s.deadline <= now) this.#finish(token, s, "USER_NOT_RESPONDED");
    this.#prune(now, NUMBER_LIMITS.windowMs ?? 0);
    let next = Number.POSITIVE_INFINITY;
    for (const s of this.#sessions.values()) if (s.status === "pending") next = Math.min(next, s.deadline);
    if (next !== Number.POSITIVE_INFINITY) this.#armFor(next);
  }

  #armFor(at: number): void {
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    this.ctx.storage.setAlarm(at);
  }

  /** Ended sessions the attempts window no longer counts go. */
  #prune(now: number, windowMs: number): void {
    const gone: string[] = [];
    for (const [token, s] of this.#sessions) if (s.status !== "pending" && s.at <= now - windowMs) gone.push(token);
    for (const token of gone) this.#sessions.delete(token);
    if (gone.length) this.ctx.storage.delete(gone.map((t) => `s:${t}`));
  }

  /** Stores the end (the held call hears it once durable), then gives the lease back. */
  #finish(token: string, s: MergedSession, status: Exclude<Status, "pending">): void {
    s.status = status;
    this.ctx.storage.put(`s:${token}`, s);
    this.#waiting.get(token)?.(status);
    this.#waiting.delete(token);
    this.ctx.waitUntil(entries(this.env, s.shard).giveBack(token, false));
  }
}

const numberObject = (env: MergedEnv, id: string) => env.MERGED_NUMBER.get(env.MERGED_NUMBER.idFromString(id));

export const merged = new Hono<{ Bindings: MergedEnv }>();

merged.get("/api/sfwa/auth", async (c) => {
  const msisdn = c.req.query("msisdn") ?? "";
  const t = linkToken();
  const shard = `shard-${Math.floor(Math.random() * SHARDS)}`;
  let code = "BAD_REQUEST";
  if (await entries(c.env, shard).take(t, Date.now() + TIMEOUT_MS + 60_000, SHARD_LIMITS)) {
    const id = c.env.MERGED_NUMBER.idFromName(`number:${msisdn}`).toString();
    code = await numberObject(c.env, id)
      .auth(t, msisdn, `${new URL(c.req.url).origin}/merged/m/${t}.${id}`, linkToken(), shard)
      .catch(() => "ERROR");
    if (code === "REFUSED") {
      code = "BAD_REQUEST";
      await entries(c.env, shard).giveBack(t, false);
    }
  }
  c.executionCtx.waitUntil(auditRow(c.env.GUARD_DB, msisdn, code));
  return c.json({ code }, code === "ERROR" ? 500 : 200);
});

/** The link: `<token>.<the number's object's id>`. */
const linkParts = (link: string) => {
  const [token = "", id = ""] = link.split(".");
  return { token, id };
};

merged.get("/m/:link", async (c) => {
  const { token, id } = linkParts(c.req.param("link"));
  const csrf = await numberObject(c.env, id).page(token);
  if (csrf === null) return c.html("<p>Link expired or used</p>", 410);
  return c.html(answerForm(csrf));
});

merged.post("/m/:link", async (c) => {
  const form = await c.req.parseBody();
  const { token, id } = linkParts(c.req.param("link"));
  const ok = await numberObject(c.env, id).answer(token, String(form.decision), String(form.csrf));
  return c.html(ok ? "<p>Done</p>" : "<p>Link expired or used</p>", ok ? 200 : 410);
});

/** What the floor holds (for its test): as guarantees.ts's, the number's pending sessions from its object. */
merged.get("/state", async (c) => {
  const number = c.env.MERGED_NUMBER.idFromName(`number:${c.req.query("msisdn") ?? ""}`);
  return c.json(await floorState(c.env, () => c.env.MERGED_NUMBER.get(number).live()));
});
