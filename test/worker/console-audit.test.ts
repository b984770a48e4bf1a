import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { auditAdmin, auditAuth, countAuthFailure } from "../../workers/store/audit";
import { consoleGet } from "./support/console-app";

/** The console's audit log page (workers/routes/console/audit.tsx): filters and keyset paging over real D1 rows. */

const ids = (html: string) => [...html.matchAll(/<tr data-id="(\d+)"/g)].map((m) => Number(m[1]));
const link = (html: string, rel: "next" | "prev") =>
  html.match(new RegExp(`<a href="([^"]+)" rel="${rel}"`))?.[1]?.replace(/&amp;/g, "&") ?? null;
const uniq = () => crypto.randomUUID().slice(0, 8);

describe("filters", () => {
  it("kind, endpoint, actor, action, result and time range each narrow the rows", async () => {
    const tag = uniq();
    const actor = `op-${tag}`;
    const t0 = Date.UTC(2031, 0, 10, 12, 0);
    await auditAdmin(env.DB, { actor, action: "device.revoke", msisdn: "+4670*****01" }, t0);
    await auditAdmin(env.DB, { actor, action: "totp.enroll", endpoint: "default" }, t0 + 60_000);
    await auditAdmin(env.DB, { actor: `other-${tag}`, action: "device.revoke" }, t0 + 120_000);
    await auditAuth(
      env.DB,
      { endpoint: "app", msisdn: "+4670*****02", channel: "sms", result: "TOUCH_REJECTED", latencyMs: 900 },
      t0 + 180_000,
    );
    await auditAuth(
      env.DB,
      { endpoint: "app", msisdn: "+4670*****03", channel: "push", result: "TOUCH_ACCEPTED", latencyMs: 800 },
      t0 + 240_000,
    );

    const rows = async (q: string) => {
      const { status, html } = await consoleGet(`/admin/audit?${q}`);
      expect(status).toBe(200);
      return { html, n: ids(html).length };
    };
    expect((await rows(`actor=${actor}`)).n).toBe(2);
    expect((await rows(`actor=${actor}&action=device.revoke`)).n).toBe(1);
    expect((await rows(`actor=${actor}&endpoint=default`)).n).toBe(1);
    expect((await rows(`action=device.revoke&since=2031-01-10T12:00&until=2031-01-10T12:03`)).n).toBe(2);
    expect((await rows(`kind=auth&endpoint=app&since=2031-01-10T12:00&until=2031-01-10T12:10`)).n).toBe(2);
    const rejected = await rows(`kind=auth&result=TOUCH_REJECTED&since=2031-01-10T12:00&until=2031-01-10T12:10`);
    expect(rejected.n).toBe(1);
    expect(rejected.html).toContain("+4670*****02");
    expect(rejected.html).toContain('<option value="TOUCH_REJECTED" selected="">');
    // `until` is exclusive: the row at 12:03 is not before 12:03.
    expect((await rows(`kind=auth&since=2031-01-10T12:00&until=2031-01-10T12:03`)).n).toBe(0);
  });

  it("values are bound, never spliced: quotes and SQL in a filter match nothing and break nothing", async () => {
    await auditAdmin(env.DB, { actor: `op-${uniq()}`, action: "endpoint.create" });
    for (const actor of ["x' OR '1'='1", 'x" OR 1=1 --', "'; DROP TABLE audit_log; --"]) {
      const { status, html } = await consoleGet(`/admin/audit?actor=${encodeURIComponent(actor)}`);
      expect(status).toBe(200);
      expect(ids(html)).toEqual([]);
    }
    expect(ids((await consoleGet("/admin/audit")).html).length).toBeGreaterThan(0);
  });

  it.each([
    ["kind=everything", "kind:"],
    ["endpoint=bad%20name", "endpoint: endpoint names are"],
    ["action=a%27b", "action: actions are"],
    ["result=DROP", "result:"],
    ["since=yesterday", "since: must be a date and time"],
    ["before=-3", "before:"],
  ])("refuses %s naming the field", async (q, message) => {
    const { status, html } = await consoleGet(`/admin/audit?${q}`);
    expect(status).toBe(400);
    expect(html).toMatch(new RegExp(`role="alert"[^>]*>${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    expect(ids(html)).toEqual([]);
  });

  it("details and names are shown escaped", async () => {
    const actor = `op-${uniq()}`;
    await auditAdmin(env.DB, { actor, action: "endpoint.update", detail: { title: "<img src=x onerror=alert(1)>" } });
    const { html } = await consoleGet(`/admin/audit?actor=${actor}`);
    expect(ids(html)).toHaveLength(1);
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x");
  });

  it("counter rows of refused calls show how many calls they stand for", async () => {
    const at = Date.UTC(2031, 1, 1, 9, 30);
    for (let i = 0; i < 3; i++)
      await countAuthFailure(env.DB, { endpoint: "other", reason: "invalid_api_key", msisdn: null, latencyMs: 2 }, at + i);
    const { html } = await consoleGet("/admin/audit?kind=auth&endpoint=other&since=2031-02-01T09:00&until=2031-02-01T10:00");
    expect(ids(html)).toHaveLength(1);
    expect(html).toMatch(/<td>BAD_REQUEST<\/td><td>2<\/td><td>3<\/td>/);
  });
});

describe("paging", () => {
  it("pages older and newer by id; rows written meanwhile never shift or repeat a page", async () => {
    const actor = `pager-${uniq()}`;
    for (let i = 0; i < 120; i++) await auditAdmin(env.DB, { actor, action: "endpoint.update", detail: { i } });

    const first = await consoleGet(`/admin/audit?actor=${actor}`);
    const page1 = ids(first.html);
    expect(page1).toHaveLength(50);
    expect(page1).toEqual([...page1].sort((a, b) => b - a)); // newest first
    expect(link(first.html, "prev")).toBeNull();
    const older1 = link(first.html, "next");
    expect(older1).toBe(`/admin/audit?actor=${actor}&before=${page1.at(-1)}`);

    // New rows arrive while the operator reads page 1.
    for (let i = 0; i < 5; i++) await auditAdmin(env.DB, { actor, action: "endpoint.update", detail: { late: i } });

    const second = await consoleGet(older1 ?? "");
    const page2 = ids(second.html);
    expect(page2).toHaveLength(50);
    expect(Math.max(...page2)).toBeLessThan(Math.min(...page1));
    const third = await consoleGet(link(second.html, "next") ?? "");
    const page3 = ids(third.html);
    expect(page3).toHaveLength(20);
    expect(link(third.html, "next")).toBeNull();
    expect(new Set([...page1, ...page2, ...page3]).size).toBe(120);

    // Newer from page 2: exactly page 1 again (the late rows sit above it, one more "newer" away).
    const back = await consoleGet(link(second.html, "prev") ?? "");
    expect(ids(back.html)).toEqual(page1);
    const newest = await consoleGet(link(back.html, "prev") ?? "");
    expect(ids(newest.html)).toHaveLength(5);
    expect(link(newest.html, "prev")).toBeNull();
  });
});
