import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import { answerForm, linkToken, sendSms } from "./network";

/**
 * The guarantees floor: the same choreography (choreography.ts) plus the least work that the
 * product's guarantees take in the objects the product is made of (a Durable Object per
 * session, one per number, overload shards, a D1 audit log), and nothing else. Each part is the
 * simplest code that keeps its guarantee:
 *
 * - the number's limits survive a restart: a cap on its pending sessions and on its attempts
 *   per window, kept in the number's object (its entries read once per instance, then held in
 *   memory); one write when a session starts (the entry, which is also the attempt) and one
 *   when it ends (the entry marked ended; it counts as an attempt until it leaves the window);
 * - overload is capped without a hot object: a lease in one of SHARDS objects, each with its
 *   part of the cap, written when taken and deleted when given back; entries and leases lapse
 *   on their own at `until` should they never be given back;
 * - a session survives a restart and is answered once: its state and its deadline alarm are
 *   stored before the SMS leaves, the answer is stored before anyone hears it, and a second
 *   answer (or one with a wrong CSRF token) is refused; the record goes at the deadline;
 * - every authentication leaves an audit row in D1 (ours also logs a line; this floor does not).
 *
 * No validation, texts, push, headers or pages beyond a form, and no tombstone past the
 * deadline. What ours costs above this floor is ours to cut; what this floor costs above the
 * same choreography is the price of the guarantees in these objects on this runtime
 * (docs/benchmarks.md).
 */
interface GuardEnv {
  GUARD_SESSION: DurableObjectNamespace<GuardSession>;
  /** The numbers' objects (`number:` + the number) and the overload shards (`shard-N`). */
  GUARD_ENTRIES: DurableObjectNamespace<GuardEntries>;
  GUARD_DB: D1Database;
  SMS_HTTP_URL: string;
}

/** Overload shards and the cap over all of them; a number's caps (as the bench's config of ours). */
export const SHARDS = 8;
const MAX_PENDING = 50_000;
export const NUMBER_LIMITS: Limits = { cap: 5, perWindow: 1000, windowMs: 60_000 };
export const SHARD_LIMITS: Limits = { cap: Math.ceil(MAX_PENDING / SHARDS) };
export const TIMEOUT_MS = 300_000;

export interface Limits {
  /** Live entries (taken, not given back, not lapsed) at most. */
  cap: number;
  /** Entries taken within `windowMs` at most (given back or not). */
  perWindow?: number;
  windowMs?: number;
}

interface Entry {
  at: number;
  until: number;
  ended?: true;
}

interface SessionRecord {
  msisdn: string;
  csrf: string;
  shard: string;
  deadline: number;
  status: "pending" | "TOUCH_ACCEPTED" | "TOUCH_REJECTED" | "USER_NOT_RESPONDED" | "FAILED_DELIVERY";
}

/**
 * A number's sessions (its caps count them after a restart) or an overload shard's leases: one
 * stored entry per session, read once per instance and then held in memory.
 */
export class GuardEntries extends DurableObject<GuardEnv> {
  #entries = new Map<string, Entry>();

  constructor(ctx: DurableObjectState, env: GuardEnv) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      for (const [key, entry] of await ctx.storage.list<Entry>({ prefix: "e:" })) this.#entries.set(key.slice(2), entry);
    });
  }

  /** Takes an entry unless a cap is reached; a refusal writes nothing. */
  async take(session: string, until: number, limits: Limits): Promise<boolean> {
    const now = Date.now();
    const windowStart = now - (limits.windowMs ?? 0);
    const gone = [...this.#entries].filter(([, e]) => (e.ended || e.until <= now) && e.at <= windowStart).map(([id]) => id);
    for (const id of gone) this.#entries.delete(id);
    if (gone.length) this.ctx.storage.delete(gone.map((id) => `e:${id}`));
    let live = 0;
    let inWindow = 0;
    for (const e of this.#entries.values()) {
      if (!e.ended && e.until > now) live++;
      if (e.at > windowStart) inWindow++;
    }
    if (live >= limits.cap || (limits.perWindow !== undefined && inWindow >= limits.perWindow)) return false;
    const entry = { at: now, until };
    this.#entries.set(session, entry);
    this.ctx.storage.put(`e:${session}`, entry);
    return true;
  }

  /** The session ended: its entry no longer counts against the cap (kept while a window counts it). */
  async giveBack(session: string, keepForWindow: boolean): Promise<void> {
    const entry = this.#entries.get(session);
    if (!entry || entry.ended) return;
    if (keepForWindow) {
      const ended = { ...entry, ended: true as const };
      this.#entries.set(session, ended);
      this.ctx.storage.put(`e:${session}`, ended);
    } else {
      this.#entries.delete(session);
      this.ctx.storage.delete(`e:${session}`);
    }
  }

  /** Live entries (for the floor's test). */
  async live(): Promise<number> {
    const now = Date.now();
    return [...this.#entries.values()].filter((e) => !e.ended && e.until > now).length;
  }
}

export const entries = (env: Pick<GuardEnv, "GUARD_ENTRIES">, name: string) => env.GUARD_ENTRIES.get(env.GUARD_ENTRIES.idFromName(name));
const numberEntries = (env: GuardEnv, msisdn: string) => entries(env, `number:${msisdn}`);

/** One session: stored before anything leaves, answered once, its slots given back after. */
export class GuardSession extends DurableObject<GuardEnv> {
  #record: SessionRecord | null | undefined;
  #resolve: ((code: string) => void) | null = null;

  async auth(msisdn: string, link: string, csrf: string, shard: string): Promise<string> {
    const record: SessionRecord = { msisdn, csrf, shard, deadline: Date.now() + TIMEOUT_MS, status: "pending" };
    this.#record = record;
    // The output gate holds the SMS until both writes are durable.
    this.ctx.storage.put("s", record);
    this.ctx.storage.setAlarm(record.deadline);
    const answered = new Promise<string>((resolve) => {
      this.#resolve = resolve;
    });
    const sent = await sendSms(this.env.SMS_HTTP_URL, msisdn, link).catch(() => false);
    // An answer may have come in while the gateway was still replying: it stands.
    if (!sent && this.#record?.status === "pending") this.#finish("FAILED_DELIVERY");
    return answered;
  }

  async page(): Promise<string | null> {
    const record = await this.#load();
    return record?.status === "pending" ? record.csrf : null;
  }

  async answer(decision: string, csrf: string): Promise<boolean> {
    const record = await this.#load();
    if (record?.status !== "pending" || csrf !== record.csrf) return false;
    this.#finish(decision === "accept" ? "TOUCH_ACCEPTED" : "TOUCH_REJECTED");
    return true;
  }

  /** The deadline: a session still pending ends unanswered; the record goes either way. */
  override async alarm(): Promise<void> {
    const record = await this.#load();
    if (record?.status === "pending") this.#finish("USER_NOT_RESPONDED");
    this.#record = null;
    await this.ctx.storage.deleteAll();
  }

  /** Stores the end (the waiting call hears it once durable), then gives the slots back. Pending sessions only. */
  #finish(status: Exclude<SessionRecord["status"], "pending">): void {
    const record = this.#record;
    if (record?.status !== "pending") throw new Error("session not pending");
    record.status = status;
    this.ctx.storage.put("s", record);
    this.#resolve?.(status);
    this.#resolve = null;
    const session = this.ctx.id.toString();
    this.ctx.waitUntil(
      Promise.all([
        numberEntries(this.env, record.msisdn).giveBack(session, true),
        entries(this.env, record.shard).giveBack(session, false),
      ]),
    );
  }

  async #load(): Promise<SessionRecord | null> {
    if (this.#record === undefined) this.#record = (await this.ctx.storage.get<SessionRecord>("s")) ?? null;
    return this.#record;
  }
}

const session = (env: GuardEnv, t: string) => env.GUARD_SESSION.get(env.GUARD_SESSION.idFromName(t));

/** The audit table, made by the first row that finds it missing (the floor's D1 starts empty). */
const createAudit = (db: D1Database) => db.prepare("CREATE TABLE IF NOT EXISTS audit (at INTEGER, msisdn TEXT, code TEXT)").run();
export async function auditRow(db: D1Database, msisdn: string, code: string): Promise<void> {
  const insert = () => db.prepare("INSERT INTO audit VALUES (?, ?, ?)").bind(Date.now(), msisdn, code).run();
  await insert().catch(async (e: unknown) => {
    if (!String(e).includes("no such table")) throw e;
    await createAudit(db);
    await insert();
  });
}

export const guarantees = new Hono<{ Bindings: GuardEnv }>();

guarantees.get("/api/sfwa/auth", async (c) => {
  const msisdn = c.req.query("msisdn") ?? "";
  const t = linkToken();
  const id = c.env.GUARD_SESSION.idFromName(t).toString();
  const shard = `shard-${Math.floor(Math.random() * SHARDS)}`;
  const until = Date.now() + TIMEOUT_MS + 60_000;
  const [number, lease] = await Promise.all([
    numberEntries(c.env, msisdn).take(id, until, NUMBER_LIMITS),
    entries(c.env, shard).take(id, until, SHARD_LIMITS),
  ]);
  let code = "BAD_REQUEST";
  if (number && lease) {
    code = await session(c.env, t)
      .auth(msisdn, `${new URL(c.req.url).origin}/guarded/m/${t}`, linkToken(), shard)
      .catch(() => "ERROR"); // the session object failed or restarted mid-call: still audited
  } else {
    if (number) await numberEntries(c.env, msisdn).giveBack(id, true);
    if (lease) await entries(c.env, shard).giveBack(id, false);
  }
  c.executionCtx.waitUntil(auditRow(c.env.GUARD_DB, msisdn, code));
  return c.json({ code }, code === "ERROR" ? 500 : 200);
});

guarantees.get("/m/:token", async (c) => {
  const csrf = await session(c.env, c.req.param("token")).page();
  if (csrf === null) return c.html("<p>Link expired or used</p>", 410);
  return c.html(answerForm(csrf));
});

guarantees.post("/m/:token", async (c) => {
  const form = await c.req.parseBody();
  const ok = await session(c.env, c.req.param("token")).answer(String(form.decision), String(form.csrf));
  return c.html(ok ? "<p>Done</p>" : "<p>Link expired or used</p>", ok ? 200 : 410);
});

/** What a floor holds: audit rows, a number's pending sessions (`pending`), leases over all shards (for the floors' test). */
export async function floorState(env: Pick<GuardEnv, "GUARD_DB" | "GUARD_ENTRIES">, pending: () => Promise<number>) {
  await createAudit(env.GUARD_DB);
  const auditRows = await env.GUARD_DB.prepare("SELECT count(*) AS n FROM audit").first<number>("n");
  let leases = 0;
  for (let i = 0; i < SHARDS; i++) leases += await entries(env, `shard-${i}`).live();
  return { auditRows, pending: await pending(), leases };
}

guarantees.get("/state", async (c) => c.json(await floorState(c.env, () => numberEntries(c.env, c.req.query("msisdn") ?? "").live())));
