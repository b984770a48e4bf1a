import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../support/keys";
import {
  AUDIT_KINDS,
  PURGE_AUDIT_SQL,
  auditAuthStatement,
  countAuthFailure,
  failureBucket,
  storedDetail,
  storedEndpoint,
} from "../../workers/store/audit";
import { KEYS, freshMsisdn } from "./support/magic-link";

/** Issue 17 item 2: failed calls without a valid key cannot fill D1, and are limited per client address. */

const randomIp = () => `198.51.${crypto.getRandomValues(new Uint8Array(1))[0]}.${crypto.getRandomValues(new Uint8Array(1))[0]}`;

function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(new Request(`https://mfa.example.com${path}`, { headers }));
}
const auth = (msisdn: string, o: { endpoint?: string; key?: string; ip?: string } = {}) =>
  get(`/api/sfwa/auth${o.endpoint ? `/${o.endpoint}` : ""}?msisdn=${encodeURIComponent(msisdn)}`, {
    ...(o.key ? { "api-key": o.key } : {}),
    "cf-connecting-ip": o.ip ?? randomIp(),
  });

async function newEndpoint(): Promise<string> {
  const name = `av-${crypto.randomUUID().slice(0, 8)}`;
  const res = await exports.default.fetch(
    new Request("https://mfa.example.com/admin/v1/endpoints", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name }),
    }),
  );
  expect(res.status).toBe(201);
  return name;
}

type Row = { endpoint: string | null; result: string; count: number | null; detail: string | null; msisdn: string | null };
/** Audit rows are written after the response: wait until `done` holds. */
async function rows(where: string, args: unknown[], done: (r: Row[]) => boolean): Promise<Row[]> {
  let r: Row[] = [];
  for (let i = 0; i < 100; i++) {
    r = (
      await env.DB.prepare(`SELECT endpoint, result, count, detail, msisdn FROM audit_log WHERE ${where}`)
        .bind(...args)
        .all<Row>()
    ).results;
    if (done(r)) return r;
    await new Promise((res) => setTimeout(res, 20));
  }
  return r;
}
const total = (r: Row[]) => r.reduce((n, x) => n + (x.count ?? 1), 0);

describe("unauthenticated failures in the audit log", () => {
  it("are counted in one row per hour, endpoint and reason, not stored one row each", async () => {
    const name = await newEndpoint();
    for (let i = 0; i < 6; i++) expect((await auth(freshMsisdn(), { endpoint: name, key: `wrong-${i}` })).status).toBe(400);
    const r = await rows("endpoint = ? AND kind = 'auth'", [name], (r) => total(r) >= 6);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ result: "BAD_REQUEST", count: 6 });
    expect(JSON.parse(r[0]!.detail!)).toEqual({ reason: "invalid_api_key" });
    expect(r[0]!.msisdn).toMatch(/^\+467\*+99$/); // the first call's masked number
  });

  it("never store an unknown endpoint's name: a 16 KB name leaves no 16 KB row", async () => {
    const name = `x${"A".repeat(16 * 1024)}`;
    const before = (await env.DB.prepare(
      "SELECT COALESCE(SUM(COALESCE(count, 1)), 0) AS n FROM audit_log WHERE endpoint IS NULL",
    ).first<number>("n"))!;
    for (let i = 0; i < 3; i++) {
      const res = await auth(freshMsisdn(), { endpoint: name, key: KEYS.default });
      expect(res.status).toBe(400);
      expect(res.headers.get("x-mfa-reason")).toBe("invalid_api_key");
    }
    await rows("endpoint IS NULL", [], (r) => total(r) >= before + 3);
    const longest = await env.DB.prepare(
      "SELECT MAX(LENGTH(COALESCE(endpoint, '')) + LENGTH(COALESCE(detail, ''))) AS n FROM audit_log",
    ).first<number>("n");
    expect(longest).toBeLessThan(300);
  });

  it("bad parameters ahead of the key check are counted the same way", async () => {
    const ip = randomIp();
    for (let i = 0; i < 3; i++)
      expect((await auth("not-a-number", { key: "whatever", ip })).headers.get("x-mfa-reason")).toBe("invalid_msisdn");
    const r = await rows("detail = ?", [JSON.stringify({ reason: "invalid_msisdn" })], (r) => total(r) >= 3);
    expect(r).toHaveLength(1);
  });

  it("stored fields are validated and capped", () => {
    expect(storedEndpoint("web")).toBe("web");
    expect(storedEndpoint("bad name!")).toBeNull();
    expect(storedEndpoint("a".repeat(65))).toBeNull();
    const big = storedDetail({ text: "x ".repeat(5_000) })!;
    expect(big.length).toBeLessThanOrEqual(2000);
    expect(JSON.parse(big).truncated).toBeGreaterThan(10_000);
    expect(storedDetail({ link: "https://mfa.example.com/m/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" })).toBe(
      '{"link":"https://mfa.example.com/m/[redacted]"}',
    );
    const at = Date.parse("2026-11-29T17:42:00Z");
    expect(failureBucket({ endpoint: "web", reason: "invalid_api_key" }, at)).toBe("auth-fail|2026-11-29T17|web|invalid_api_key");
    expect(failureBucket({ endpoint: "x".repeat(100), reason: "invalid_api_key" }, at)).toBe("auth-fail|2026-11-29T17||invalid_api_key");
  });
});

describe("per-IP limit on failed calls", () => {
  it("a client address that keeps failing gets BAD_REQUEST 429 rate_limited; other addresses do not", async () => {
    const ip = randomIp();
    // The default limit is 10 failures a minute (MFA_CONFIG ipFailureLimit).
    for (let i = 0; i < 10; i++) expect((await auth(freshMsisdn(), { key: "guess", ip })).status).toBe(400);
    const limited = await auth(freshMsisdn(), { key: "guess", ip });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("x-mfa-reason")).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited.text()).toBe('{"code":"BAD_REQUEST"}');
    // Unknown endpoints and missing keys count against the same budget.
    expect((await auth(freshMsisdn(), { endpoint: "nope", key: "guess", ip })).status).toBe(429);
    expect((await auth(freshMsisdn(), { ip })).status).toBe(429);
    expect((await auth(freshMsisdn(), { key: "guess", ip: randomIp() })).status).toBe(400);
    // A valid key is not a failure: the caller still gets through.
    expect(await (await auth(freshMsisdn("0000"), { key: KEYS.default, ip })).json()).toEqual({ code: "FAILED_DELIVERY" });
  });

  it("IPv6 clients are limited per /64", async () => {
    const prefix = `2001:db8:${crypto.getRandomValues(new Uint16Array(1))[0]!.toString(16)}:1`;
    for (let i = 0; i < 10; i++) expect((await auth(freshMsisdn(), { key: "guess", ip: `${prefix}::${i + 1}` })).status).toBe(400);
    expect((await auth(freshMsisdn(), { key: "guess", ip: `${prefix}:ffff::42` })).status).toBe(429);
  });

  it("the offline API shares the limit", async () => {
    const ip = randomIp();
    const offline = () =>
      exports.default.fetch(
        new Request("https://mfa.example.com/api/offline/totp", {
          method: "POST",
          headers: { "content-type": "application/json", "api-key": "guess", "cf-connecting-ip": ip },
          body: JSON.stringify({ msisdn: freshMsisdn(), code: "123456" }),
        }),
      );
    for (let i = 0; i < 10; i++) expect((await offline()).status).toBe(400);
    expect((await offline()).headers.get("x-mfa-reason")).toBe("rate_limited");
  });
});

describe("audit rows' index entries (D1 bills each as a row written)", () => {
  const ordinary = { endpoint: "default", msisdn: "+46701234567", channel: "sms", result: "TOUCH_ACCEPTED", latencyMs: 1 } as const;
  /** One endpoint's failure counted twice in one hour's row: that row's count, read through `indexed` if given. */
  async function countedTwice(indexed = ""): Promise<number | null> {
    const failure = { endpoint: `idx-${crypto.randomUUID().slice(0, 8)}`, msisdn: null, reason: "invalid_api_key", latencyMs: 2 } as const;
    const at = Date.now();
    await countAuthFailure(env.DB, failure, at);
    await countAuthFailure(env.DB, failure, at);
    return env.DB.prepare(`SELECT count FROM audit_log ${indexed} WHERE bucket = ?`)
      .bind(failureBucket(failure, at))
      .first<number>("count");
  }

  it("an ordinary row leaves nothing in the counters' index; a counter row is still found by its bucket", async () => {
    const written = await auditAuthStatement(env.DB, ordinary).run();
    const withIndexes = await env.DB.prepare("SELECT count(*) AS n FROM pragma_index_list('audit_log')").first<number>("n");
    expect(withIndexes).toBe(2);
    // The row, its entry in audit_log_kind_at (not in audit_log_bucket), and AUTOINCREMENT's
    // sqlite_sequence row: 3 (4 with audit_log_at before 0009, 5 while the counters' index held every row).
    expect(written.meta.rows_written).toBe(3);

    expect(await countedTwice("INDEXED BY audit_log_bucket")).toBe(2);
  });

  it("the retention purge finds its rows through audit_log_kind_at, not by reading the whole table", async () => {
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${PURGE_AUDIT_SQL}`)
      .bind(...AUDIT_KINDS, Date.now())
      .all<{ detail: string }>();
    const steps = plan.results.map((r) => r.detail);
    expect(steps.some((d) => /^SEARCH audit_log USING (COVERING )?INDEX audit_log_kind_at \(kind=\? AND at<\?\)/.test(d))).toBe(true);
    expect(steps.filter((d) => /^SCAN audit_log\b/.test(d))).toEqual([]);
  });

  it("the counters' upsert also works against the full index before 0007 (deploy first, then migrate)", async () => {
    await env.DB.exec("DROP INDEX audit_log_bucket");
    await env.DB.exec("CREATE UNIQUE INDEX audit_log_bucket ON audit_log(bucket)");
    try {
      expect(await countedTwice()).toBe(2);
    } finally {
      await env.DB.exec("DROP INDEX audit_log_bucket");
      await env.DB.exec("CREATE UNIQUE INDEX audit_log_bucket ON audit_log(bucket) WHERE bucket IS NOT NULL");
    }
  });
});
