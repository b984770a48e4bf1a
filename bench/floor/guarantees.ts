import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import { answerForm, linkToken, sendSms } from "./network";

/**
 * The guarantees floor: the same choreography (choreography.ts) plus the least work that the
 * product's guarantees take in the objects the product is made of (a Durable Object per
 * session, one per number, overload shards, a D1 audit log), and nothing else. Each part is the
 * simplest code that keeps its guarantee:
 *
 * - the number's limits and pending cap survive a restart: one write in the number's object
 *   when a session starts and one when it ends (a real limit would also read its history);
 * - overload is capped without a hot object: a lease in one of SHARDS objects, written when taken
 *   and deleted when given back;
 * - a session survives a restart and is answered once: its state and its deadline alarm are
 *   stored before the SMS leaves, the answer is stored before anyone hears it, and a second
 *   answer is refused;
 * - every authentication leaves an audit row in D1 (ours also logs a line; this floor does not).
 *
 * No validation, texts, push, rate-limit math, headers or pages beyond a form. What ours costs
 * above this floor is ours to cut; what this floor costs above the same choreography is the
 * price of the guarantees in these objects on this runtime (docs/benchmarks.md).
 */
interface GuardEnv {
  GUARD_SESSION: DurableObjectNamespace<GuardSession>;
  /** The numbers' objects (`number:` + the number) and the overload shards (`shard-N`). */
  GUARD_ENTRIES: DurableObjectNamespace<GuardEntries>;
  GUARD_DB: D1Database;
  SMS_HTTP_URL: string;
}

/** Overload shards, and how long a finished session's record is kept (as ours: 600 s). */
const SHARDS = 8;
const TOMBSTONE_MS = 600_000;
const TIMEOUT_MS = 300_000;

interface SessionRecord {
  msisdn: string;
  csrf: string;
  shard: string;
  deadline: number;
  status: "pending" | "TOUCH_ACCEPTED" | "TOUCH_REJECTED" | "USER_NOT_RESPONDED" | "FAILED_DELIVERY";
}

/**
 * A number's pending sessions (the cap counts them after a restart) or an overload shard's
 * leases: one stored entry per pending session, written when taken, deleted when given back.
 */
export class GuardEntries extends DurableObject<GuardEnv> {
  async take(session: string, until: number): Promise<boolean> {
    this.ctx.storage.put(`e:${session}`, until);
    return true;
  }

  async giveBack(session: string): Promise<void> {
    this.ctx.storage.delete(`e:${session}`);
  }

  async count(): Promise<number> {
    return (await this.ctx.storage.list({ prefix: "e:" })).size;
  }
}

const entries = (env: GuardEnv, name: string) => env.GUARD_ENTRIES.get(env.GUARD_ENTRIES.idFromName(name));
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
    if (!(await sendSms(this.env.SMS_HTTP_URL, msisdn, link))) return this.#finish("FAILED_DELIVERY");
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

  override async alarm(): Promise<void> {
    const record = await this.#load();
    if (record?.status === "pending") this.#finish("USER_NOT_RESPONDED");
    else await this.ctx.storage.deleteAll();
  }

  /** Stores the end (the waiting call hears it once durable), then gives the slots back. */
  #finish(status: Exclude<SessionRecord["status"], "pending">): string {
    const record = this.#record;
    if (!record) throw new Error("no session");
    record.status = status;
    this.ctx.storage.put("s", record);
    this.ctx.storage.setAlarm(record.deadline + TOMBSTONE_MS);
    this.#resolve?.(status);
    this.#resolve = null;
    const session = this.ctx.id.toString();
    this.ctx.waitUntil(
      Promise.all([numberEntries(this.env, record.msisdn).giveBack(session), entries(this.env, record.shard).giveBack(session)]),
    );
    return status;
  }

  async #load(): Promise<SessionRecord | null> {
    if (this.#record === undefined) this.#record = (await this.ctx.storage.get<SessionRecord>("s")) ?? null;
    return this.#record;
  }
}

const session = (env: GuardEnv, t: string) => env.GUARD_SESSION.get(env.GUARD_SESSION.idFromName(t));

/** The audit table, made by the first row that finds it missing (the floor's D1 starts empty). */
const createAudit = (db: D1Database) => db.prepare("CREATE TABLE IF NOT EXISTS audit (at INTEGER, msisdn TEXT, code TEXT)").run();
async function auditRow(db: D1Database, msisdn: string, code: string): Promise<void> {
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
  await Promise.all([numberEntries(c.env, msisdn).take(id, until), entries(c.env, shard).take(id, until)]);
  const code = await session(c.env, t).auth(msisdn, `${new URL(c.req.url).origin}/guarded/m/${t}`, linkToken(), shard);
  c.executionCtx.waitUntil(auditRow(c.env.GUARD_DB, msisdn, code));
  return c.json({ code });
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

/** What the floor holds: audit rows, a number's pending sessions, leases over all shards (for its test). */
guarantees.get("/state", async (c) => {
  await createAudit(c.env.GUARD_DB);
  const rows = await c.env.GUARD_DB.prepare("SELECT count(*) AS n FROM audit").first<number>("n");
  const number = c.req.query("msisdn") ?? "";
  const pending = await numberEntries(c.env, number).count();
  let leases = 0;
  for (let i = 0; i < SHARDS; i++) leases += await entries(c.env, `shard-${i}`).count();
  return c.json({ auditRows: rows, pending, leases });
});
