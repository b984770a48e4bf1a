import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { maskMsisdn } from "../../core/msisdn";
import { RELAY_API_BASE, TOUCH_BATCH, TOUCH_BATCH_MAX_LOGINS, type TouchBatchLine } from "../../core/contracts/relay-api";
import { mintRelayToken } from "../../core/contracts/relay-token";
import { LINK_PATTERN } from "../support/magic-link-user";
import { answer, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";
import { fetchDocument } from "./support/openapi-conformance";

/**
 * The edge side of the batched Touch (issue 16): several logins in one signed call, each run
 * as a single Touch call is (pin check, session, limits, audit row), answered by an NDJSON
 * line as each user decides.
 */
const EDGE = "https://mfa.example.com";
const PATH = `${RELAY_API_BASE}${TOUCH_BATCH.path}`;
const RELAY = "batch-r1";
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
let key: CryptoKey;
let testEnv: Env;

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  key = pair.privateKey;
  const cfg = JSON.parse(env.MFA_CONFIG);
  cfg.relays = [{ name: RELAY, publicJwk: await exportJWK(pair.publicKey), endpoint: "other" }];
  testEnv = { ...env, MFA_CONFIG: JSON.stringify(cfg) } as Env;
});

type Login = { username: string; msisdn: string; timeoutSeconds?: number; authenticationText?: string };
const login = (msisdn: string, extra: Partial<Login> = {}): Login => ({
  username: `batch-${crypto.randomUUID().slice(0, 8)}`,
  msisdn,
  timeoutSeconds: 30,
  ...extra,
});

/** POSTs `body` (a string, sent as is) with `token` (default: a fresh one for exactly this body). */
async function send(body: string, token?: string, path = PATH): Promise<Response> {
  const bearer = token ?? (await mintRelayToken(key, RELAY, EDGE, "POST", path, body));
  const worker = (await import("../../workers/index")).default;
  return worker.fetch(
    new Request(`${EDGE}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
      body,
    }),
    testEnv,
    ctx,
  );
}
const batch = (logins: unknown[]) => JSON.stringify({ logins });

/** The NDJSON body line by line, as it arrives; `next()` answers null once the body has ended. */
function lines(res: Response) {
  if (!res.body) throw new Error("no body");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return {
    async next(): Promise<TouchBatchLine | null> {
      for (;;) {
        const end = buffered.indexOf("\n");
        if (end >= 0) {
          const line = JSON.parse(buffered.slice(0, end)) as TouchBatchLine;
          buffered = buffered.slice(end + 1);
          expect(TOUCH_BATCH.line.safeParse(line).success, JSON.stringify(line)).toBe(true);
          return line;
        }
        const { value, done } = await reader.read();
        if (done) {
          expect(buffered, "nothing after the last line").toBe("");
          return null;
        }
        buffered += value;
      }
    },
  };
}

/** Answers the (only) pending link of a number as the phone user would. */
async function decide(msisdn: string, decision: "accept" | "reject") {
  const link = await waitForLink(msisdn);
  const page = await openLink(link);
  if (!page.csrf) throw new Error("no form on the link page");
  expect((await answer(link, decision, page.csrf)).status).toBeLessThan(400);
}

type AuditRow = { msisdn: string; channel: string; result: string; detail: string | null };
/** This relay's radius-touch audit rows for the numbers, once `expected` of them are written (after the answers). */
async function touchRows(msisdns: string[], expected: number): Promise<AuditRow[]> {
  const masked = msisdns.map(maskMsisdn);
  let rows: AuditRow[] = [];
  for (let i = 0; i < 100; i++) {
    const all = await env.DB.prepare(
      "SELECT msisdn, channel, result, detail FROM audit_log WHERE kind = 'auth' AND channel = 'radius-touch' ORDER BY id",
    ).all<AuditRow>();
    rows = all.results.filter((r) => masked.includes(r.msisdn) && r.detail?.includes(`"relay":"${RELAY}"`));
    if (rows.length >= expected) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return rows;
}

describe("batched Touch: each login runs as a single Touch and is answered as its user decides", () => {
  it("answers in decision order, not request order, one session and one audit row per login, then ends", async () => {
    const numbers = [freshMsisdn("9911"), freshMsisdn("9922"), freshMsisdn("9933")];
    const res = await send(batch(numbers.map((m) => login(m))));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const body = lines(res);

    // Every login got its own session: one SMS each, sent side by side before anyone decided.
    for (const m of numbers) await waitForLink(m);
    await decide(numbers[2] as string, "accept");
    expect(await body.next()).toEqual({ i: 2, code: "TOUCH_ACCEPTED" });
    await decide(numbers[0] as string, "reject");
    expect(await body.next()).toEqual({ i: 0, code: "TOUCH_REJECTED" });
    await decide(numbers[1] as string, "accept");
    expect(await body.next()).toEqual({ i: 1, code: "TOUCH_ACCEPTED" });
    expect(await body.next()).toBeNull();

    for (const m of numbers) expect((await gatewayRequests(m)).length).toBe(1);
    const rows = await touchRows(numbers, 3);
    expect(rows.map((r) => [r.msisdn, r.result]).sort()).toEqual(
      [
        [maskMsisdn(numbers[0] as string), "TOUCH_REJECTED"],
        [maskMsisdn(numbers[1] as string), "TOUCH_ACCEPTED"],
        [maskMsisdn(numbers[2] as string), "TOUCH_ACCEPTED"],
      ].sort(),
    );
    // Never the full number in a row.
    for (const m of numbers) expect(JSON.stringify(rows)).not.toContain(m);
  });

  it("a login with a number that is not its user's pinned one is number_changed; the others run", async () => {
    const other = freshMsisdn("9955");
    const bystander = freshMsisdn("9966");
    // The user's first login pins its number (one the fake gateway refuses at once: a quick login).
    const user = login(freshMsisdn("0000"));
    const first = await send(batch([user]));
    const firstLines = lines(first);
    expect(await firstLines.next()).toEqual({ i: 0, code: "FAILED_DELIVERY" });
    expect(await firstLines.next()).toBeNull();

    const res = await send(batch([{ ...user, username: user.username.toUpperCase(), msisdn: other }, login(bystander)]));
    expect(res.status).toBe(200);
    const body = lines(res);
    expect(await body.next()).toEqual({ i: 0, error: "number_changed" });
    await decide(bystander, "accept");
    expect(await body.next()).toEqual({ i: 1, code: "TOUCH_ACCEPTED" });
    expect(await body.next()).toBeNull();
    expect(await gatewayRequests(other)).toEqual([]);
    // The same row a single call's 409 leaves.
    const rows = await touchRows([other], 1);
    expect(rows.map((r) => r.result)).toEqual(["number_changed"]);
  });

  it("each number keeps its own limits: a batch cannot open more pending sessions for it than single calls can", async () => {
    const msisdn = freshMsisdn("9977");
    const username = `batch-${crypto.randomUUID().slice(0, 8)}`;
    // The number's cap is 3 pending sessions (maxPendingPerMsisdn's default).
    const res = await send(batch(Array.from({ length: 4 }, () => ({ username, msisdn, timeoutSeconds: 30 }))));
    const body = lines(res);
    const refused = await body.next();
    expect(refused).toMatchObject({ code: "BAD_REQUEST", reason: "too_many_pending" });
    let sms = await gatewayRequests(msisdn);
    for (let i = 0; i < 100 && sms.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 25));
      sms = await gatewayRequests(msisdn);
    }
    expect(sms.length).toBe(3);
    for (const r of sms) {
      const link = r.text?.match(LINK_PATTERN)?.[0];
      if (!link) throw new Error("an SMS without a link");
      const page = await openLink(link);
      await answer(link, "reject", page.csrf ?? "");
    }
    const rest = [await body.next(), await body.next(), await body.next()];
    expect(rest.map((l) => (l && "code" in l ? l.code : l))).toEqual(["TOUCH_REJECTED", "TOUCH_REJECTED", "TOUCH_REJECTED"]);
    expect(new Set([refused, ...rest].map((l) => l?.i))).toEqual(new Set([0, 1, 2, 3]));
    expect(await body.next()).toBeNull();
  });

  it("a login whose run fails is refused on its own line; the others run", async () => {
    const msisdn = freshMsisdn("9988");
    // The wire contract lets any text through; the Magic Link texts refuse control characters: the login's run throws.
    const res = await send(batch([login(freshMsisdn("9999"), { authenticationText: "Sign in\u0001" }), login(msisdn)]));
    const body = lines(res);
    expect(await body.next()).toEqual({ i: 0, error: "refused" });
    await decide(msisdn, "accept");
    expect(await body.next()).toEqual({ i: 1, code: "TOUCH_ACCEPTED" });
    expect(await body.next()).toBeNull();
  });
});

/**
 * The edge's own D1 failing for one user only (a binding whose statements throw when bound to
 * that username), as the platform fails: `retryable` for a transient fault, else a plain error.
 */
function failingFor(users: Record<string, Error>): Env {
  const db = env.DB;
  const prepare = (sql: string) => {
    const statement = db.prepare(sql);
    const bind = statement.bind.bind(statement);
    statement.bind = (...values: unknown[]) => {
      for (const [user, error] of Object.entries(users)) if (values.includes(user)) throw error;
      return bind(...values);
    };
    return statement;
  };
  return { ...testEnv, DB: new Proxy(db, { get: (target, prop) => (prop === "prepare" ? prepare : Reflect.get(target, prop, target)) }) };
}

describe("batched Touch: a login whose run fails", () => {
  it("is edge_unavailable for a transient platform fault, refused for any other, and the others run", async () => {
    const transient = login(freshMsisdn());
    const broken = login(freshMsisdn());
    const fine = freshMsisdn();
    const faults = {
      [transient.username]: Object.assign(new Error("D1 reset"), { retryable: true }),
      // An overload can be caused on purpose: never "unavailable".
      [broken.username]: Object.assign(new Error("D1 overloaded"), { retryable: true, overloaded: true }),
    };
    const body = batch([transient, broken, login(fine)]);
    const worker = (await import("../../workers/index")).default;
    const res = await worker.fetch(
      new Request(`${EDGE}${PATH}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${await mintRelayToken(key, RELAY, EDGE, "POST", PATH, body)}`,
        },
        body,
      }),
      failingFor(faults),
      ctx,
    );
    expect(res.status).toBe(200);
    const answers = lines(res);
    const refusals = [await answers.next(), await answers.next()];
    expect(refusals).toEqual(
      expect.arrayContaining([
        { i: 0, error: "edge_unavailable" },
        { i: 1, error: "refused" },
      ]),
    );
    await decide(fine, "accept");
    expect(await answers.next()).toEqual({ i: 2, code: "TOUCH_ACCEPTED" });
    expect(await answers.next()).toBeNull();
    expect(await gatewayRequests(transient.msisdn)).toEqual([]);
    expect(await gatewayRequests(broken.msisdn)).toEqual([]);
  });
});

describe("batched Touch: the token binds the whole batch", () => {
  it("the same token with a login changed, removed or added is refused, and nothing is sent", async () => {
    const numbers = [freshMsisdn(), freshMsisdn()];
    const logins = numbers.map((m) => login(m));
    const signed = batch(logins);
    const token = await mintRelayToken(key, RELAY, EDGE, "POST", PATH, signed);
    const intruder = freshMsisdn();
    const altered = [
      batch([logins[0], { ...logins[1], msisdn: intruder }]),
      batch([logins[0], { ...logins[1], timeoutSeconds: 300 }]),
      batch([logins[0]]),
      batch([...logins, login(intruder)]),
      batch([logins[1], logins[0]]),
    ];
    for (const body of altered) {
      const res = await send(body, token);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "unauthorized", reason: "token not bound to this request" });
    }
    // A token for the single Touch path does not carry a batch either.
    const single = await mintRelayToken(key, RELAY, EDGE, "POST", `${RELAY_API_BASE}/touch`, signed);
    expect((await send(signed, single)).status).toBe(401);
    for (const m of [...numbers, intruder]) expect(await gatewayRequests(m)).toEqual([]);
  });

  it("a replayed batch is refused whole, and nothing is sent again", async () => {
    // Numbers the fake gateway refuses at once: the first call ends without anyone deciding.
    const numbers = [freshMsisdn("0000"), freshMsisdn("0000")];
    const body = batch(numbers.map((m) => login(m)));
    const token = await mintRelayToken(key, RELAY, EDGE, "POST", PATH, body);
    const first = lines(await send(body, token));
    const answered = [await first.next(), await first.next()];
    expect(answered.map((l) => (l && "code" in l ? l.code : l))).toEqual(["FAILED_DELIVERY", "FAILED_DELIVERY"]);
    expect(await first.next()).toBeNull();
    const sent = await Promise.all(numbers.map(async (m) => (await gatewayRequests(m)).length));
    const again = await send(body, token);
    expect(again.status).toBe(401);
    expect(await again.json()).toEqual({ error: "unauthorized", reason: "replayed token" });
    expect(await Promise.all(numbers.map(async (m) => (await gatewayRequests(m)).length))).toEqual(sent);
  });
});

describe("batched Touch: bad batches are refused whole", () => {
  it("0 logins, more than the maximum, a login without a username, or not a batch: 400, nothing sent", async () => {
    const numbers = Array.from({ length: TOUCH_BATCH_MAX_LOGINS + 1 }, () => freshMsisdn());
    const tooMany = numbers.map((m) => login(m));
    const cases: [string, string][] = [
      [batch([]), "logins"],
      [batch(tooMany), "logins"],
      [batch([login(numbers[0] as string), { msisdn: numbers[1] }]), "username"],
      [batch([login(numbers[0] as string), { username: "u", msisdn: "not-a-number" }]), "msisdn"],
      [JSON.stringify({ username: "u", msisdn: numbers[0] }), "logins"],
    ];
    for (const [body, field] of cases) {
      const res = await send(body);
      expect(res.status, body.slice(0, 80)).toBe(400);
      expect(JSON.stringify(await res.json())).toContain(field);
    }
    expect((await send("{not json")).status).toBe(400);
    // The maximum itself is accepted (numbers the fake gateway refuses at once: no one has to decide).
    const full = await send(batch(Array.from({ length: TOUCH_BATCH_MAX_LOGINS }, () => login(freshMsisdn("0000")))));
    expect(full.status).toBe(200);
    const body = lines(full);
    const seen = new Set<number>();
    for (let line = await body.next(); line; line = await body.next()) seen.add(line.i);
    expect(seen.size).toBe(TOUCH_BATCH_MAX_LOGINS);
    for (const m of numbers) expect(await gatewayRequests(m)).toEqual([]);
  });

  it("is in the OpenAPI document: the batch body, and NDJSON lines", async () => {
    const doc = await fetchDocument();
    const op = doc.paths[PATH]?.post;
    expect(op?.requestBody?.content["application/json"]).toBeDefined();
    expect(Object.keys(op?.responses["200"]?.content ?? {})).toEqual(["application/x-ndjson"]);
    expect(Object.keys(op?.responses ?? {}).sort()).toEqual(["200", "400", "401", "413", "500", "503"]);
    expect(op?.security).toEqual([{ relayToken: [] }]);
  });
});
