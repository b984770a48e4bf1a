import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPhoneGateway, type PhoneGateway } from "../../bench/lib/phone-gateway.ts";
import { type RunningWorker, startFloor } from "../../bench/lib/workers.ts";

/**
 * The Magic Link bench's guarantees floors (bench/floor/guarantees.ts, and merged.ts, which
 * keeps a number's sessions in the number's object) do the work they stand for: while a call waits, its number's pending entry and its overload lease are stored; the
 * answer decides the call once (a second answer is refused); afterwards the entry and the lease
 * are given back and one audit row is in D1; the number's cap refuses a call beyond it. A floor
 * that skipped any of it would flatter ours; one that did more would flatter the argument that
 * ours cannot get nearer the same choreography.
 */
describe.each([
  ["guarantees floor", "/guarded"],
  ["guarantees floor with sessions in the number's object", "/merged"],
])("%s", (_, prefix) => {
  let phone: PhoneGateway;
  let floor: RunningWorker;
  beforeAll(async () => {
    phone = await startPhoneGateway("hold");
    floor = await startFloor(phone.url);
  }, 60_000);
  afterAll(async () => {
    await floor?.stop();
    phone?.server.close();
  });

  const state = async (msisdn: string) =>
    (await (await fetch(`${floor.url}${prefix}/state?msisdn=${encodeURIComponent(msisdn)}`)).json()) as {
      auditRows: number;
      pending: number;
      leases: number;
    };

  it("holds the number's entry and a lease while pending, answers once, then gives both back and audits", async () => {
    const msisdn = "+46701230001";
    const auditBefore = (await state(msisdn)).auditRows;
    const call = fetch(`${floor.url}${prefix}/api/sfwa/auth?msisdn=${encodeURIComponent(msisdn)}`).then((r) => r.json());
    let link: string | undefined;
    for (let i = 0; i < 100 && !link; i++) {
      await new Promise((r) => setTimeout(r, 50));
      link = phone.links.get(msisdn);
    }
    if (!link) throw new Error("no SMS arrived");
    expect(await state(msisdn)).toEqual({ auditRows: auditBefore, pending: 1, leases: 1 });

    const page = await (await fetch(link)).text();
    const csrf = page.match(/name="csrf" value="([^"]+)"/)?.[1] ?? "";
    const post = (decision: string, token: string) =>
      fetch(link, { method: "POST", body: new URLSearchParams({ decision, csrf: token }) }).then((r) => r.status);
    expect(await post("accept", "wrong")).toBe(410);
    expect(await post("reject", csrf)).toBe(200);
    expect(await call).toEqual({ code: "TOUCH_REJECTED" });
    expect(await post("accept", csrf)).toBe(410);
    expect((await fetch(link)).status).toBe(410);

    let after = await state(msisdn);
    for (let i = 0; i < 50 && (after.pending || after.leases || after.auditRows === auditBefore); i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await state(msisdn);
    }
    expect(after).toEqual({ auditRows: auditBefore + 1, pending: 0, leases: 0 });
  }, 60_000);

  it("keeps the number's cap: a sixth call while five wait is refused at once, holds nothing, and is audited", async () => {
    const msisdn = "+46701230002";
    const start = () => fetch(`${floor.url}${prefix}/api/sfwa/auth?msisdn=${encodeURIComponent(msisdn)}`).then((r) => r.json());
    const auditBefore = (await state(msisdn)).auditRows;
    const waiting: Promise<unknown>[] = [];
    const links: string[] = [];
    for (let i = 0; i < 5; i++) {
      phone.links.delete(msisdn);
      waiting.push(start());
      let link: string | undefined;
      for (let j = 0; j < 100 && !link; j++) {
        await new Promise((r) => setTimeout(r, 20));
        link = phone.links.get(msisdn);
      }
      if (!link) throw new Error("no SMS arrived");
      links.push(link);
    }
    expect(await state(msisdn)).toMatchObject({ pending: 5, leases: 5 });
    expect(await start()).toEqual({ code: "BAD_REQUEST" });
    expect(await state(msisdn)).toMatchObject({ pending: 5, leases: 5 });

    for (const link of links) expect(await phone.answer(link, "reject")).toBe(200);
    expect(await Promise.all(waiting)).toEqual(links.map(() => ({ code: "TOUCH_REJECTED" })));
    let after = await state(msisdn);
    for (let i = 0; i < 50 && (after.pending || after.leases || after.auditRows < auditBefore + 6); i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await state(msisdn);
    }
    expect(after).toEqual({ auditRows: auditBefore + 6, pending: 0, leases: 0 });
  }, 60_000);
});
