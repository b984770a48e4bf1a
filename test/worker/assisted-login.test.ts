import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LocalListDirectory } from "../../workers/domain/approvers";
import { codeForStatus, styledCode } from "../../core/codes";
import { sha256Hex } from "../../core/tokens";
import { KEYS, answer, callAuth, codeOf, freshMsisdn, gatewayRequests, openLink, sessionStub, waitForLink } from "./support/magic-link";

type ApproverEntry = { name: string; msisdn: string };

/** Calls the "assisted" endpoint with its approver list replaced (fresh numbers per test). */
function callAssisted(msisdn: string, approvers: ApproverEntry[], params: Record<string, string> = {}) {
  const cfg = JSON.parse(env.MFA_CONFIG) as { endpoints: Array<{ name: string; assistedLogin?: unknown }> };
  cfg.endpoints = cfg.endpoints.map((e) => (e.name === "assisted" ? { ...e, assistedLogin: { approvers } } : e));
  return callAuth(msisdn, { endpoint: "assisted", key: KEYS.assisted, params, env: { MFA_CONFIG: JSON.stringify(cfg) } });
}

function post(url: string, form: Record<string, string>, origin = new URL(url).origin) {
  return exports.default.fetch(
    new Request(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin },
      body: new URLSearchParams(form),
    }),
  );
}

/** The approver buttons of the list page: id and name. */
function approverButtons(html: string): Array<{ id: string; name: string }> {
  return [...html.matchAll(/name="approver" value="([^"]*)"[^>]*>([^<]*)</g)].map((m) => ({ id: m[1]!, name: m[2]! }));
}

async function reset(link: string) {
  await runInDurableObject(await sessionStub(link), (_i, s) => s.abort("simulated restart")).catch(() => {});
}

/** The user opens their SMS link and accepts; returns the approver list page. */
async function userAccepts(msisdn: string) {
  const link = await waitForLink(msisdn);
  const page = await openLink(link);
  expect(page.res.status).toBe(200);
  const res = await answer(link, "accept", page.csrf!);
  expect(res.status).toBe(200);
  const html = await res.text();
  return { link, csrf: page.csrf!, html, buttons: approverButtons(html) };
}

const pick = (link: string, csrf: string, approver: string) => post(`${link}/approver`, { csrf, approver });

function freshApprovers(): ApproverEntry[] {
  return [
    { name: "Alice Admin", msisdn: freshMsisdn() },
    { name: "Bob Helpdesk", msisdn: freshMsisdn() },
  ];
}

describe("Assisted Login: outcomes of the blocking call", () => {
  it("user rejects: TOUCH_REJECTED and no approver is asked", async () => {
    const msisdn = freshMsisdn();
    const approvers = freshApprovers();
    const pending = callAssisted(msisdn, approvers);
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    expect(page.html).toContain("<h1>ACME VPN</h1>");
    expect((await answer(link, "reject", page.csrf!)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
    for (const a of approvers) expect(await gatewayRequests(a.msisdn)).toEqual([]);
  });

  it("user accepts, picks an approver, approver accepts: TOUCH_ACCEPTED (and not before)", async () => {
    const msisdn = freshMsisdn();
    const approvers = freshApprovers();
    let settled = false;
    const pending = callAssisted(msisdn, approvers).then((r) => ((settled = true), r));
    const user = await userAccepts(msisdn);
    // The list page: names, never the approvers' numbers; the same CSRF token as the answer.
    expect(user.buttons.map((b) => b.name)).toEqual(["Alice Admin", "Bob Helpdesk"]);
    for (const a of approvers) {
      expect(user.html).not.toContain(a.msisdn);
      expect(user.html).not.toContain(a.msisdn.slice(1));
    }
    expect(user.html).toContain(`value="${user.csrf}"`);
    expect(user.html).toContain(`action="${new URL(user.link).pathname}/approver"`);
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false); // the user's Accept alone decides nothing

    const bob = user.buttons.find((b) => b.name === "Bob Helpdesk")!;
    const picked = await pick(user.link, user.csrf, bob.id);
    expect(picked.status).toBe(200);
    expect(await picked.text()).toContain("We asked Bob Helpdesk");
    expect(await gatewayRequests(approvers[0]!.msisdn)).toEqual([]); // only the picked one

    const approverLink = await waitForLink(approvers[1]!.msisdn);
    expect(approverLink).not.toBe(user.link);
    const [sms] = await gatewayRequests(approvers[1]!.msisdn);
    expect(sms!.text).toContain("ACME VPN");
    expect(sms!.text).not.toContain(msisdn); // masked
    const page = await openLink(approverLink);
    expect(page.res.status).toBe(200);
    expect(page.html).toContain("<h1>ACME VPN</h1>");
    expect(page.html).toContain(`${msisdn.slice(0, 4)}`);
    expect(page.html).toMatch(/\*{6,}\d\d asks you to approve a sign-in/);
    expect(page.html).not.toContain(msisdn);
    expect(page.csrf).not.toBe(user.csrf);
    // The user's link now only says whom it waits for.
    expect((await openLink(user.link)).html).toContain("Waiting for Bob Helpdesk");
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false);

    const done = await answer(approverLink, "accept", page.csrf!);
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("approved");
    expect(await (await pending).text()).toBe('{"code":"TOUCH_ACCEPTED"}');
  });

  it("approver rejects: TOUCH_REJECTED", async () => {
    const msisdn = freshMsisdn();
    const approvers = freshApprovers();
    const pending = callAssisted(msisdn, approvers);
    const user = await userAccepts(msisdn);
    await pick(user.link, user.csrf, user.buttons[0]!.id);
    const approverLink = await waitForLink(approvers[0]!.msisdn);
    const page = await openLink(approverLink);
    expect((await answer(approverLink, "reject", page.csrf!)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
  });

  it("user accepts but picks no approver before touch-timeout: NO_APPROVER_SELECTED", async () => {
    const msisdn = freshMsisdn();
    const started = Date.now();
    const pending = callAssisted(msisdn, freshApprovers(), { "touch-timeout": "15" });
    const user = await userAccepts(msisdn);
    // Re-opening the list (GET) decides nothing.
    expect(approverButtons((await openLink(user.link)).html)).toHaveLength(2);
    expect(await codeOf(pending)).toBe("NO_APPROVER_SELECTED");
    expect(Date.now() - started).toBeGreaterThanOrEqual(15_000);
    expect(Date.now() - started).toBeLessThan(25_000);
    // A late pick changes nothing.
    expect((await pick(user.link, user.csrf, user.buttons[0]!.id)).status).toBe(410);
  }, 40_000);

  it("a tampered approver id (not in the list): INVALID_APPROVER, nobody is asked", async () => {
    for (const bad of ["7", "-1", "0x0", "Alice Admin"]) {
      const msisdn = freshMsisdn();
      const approvers = freshApprovers();
      const pending = callAssisted(msisdn, approvers);
      const user = await userAccepts(msisdn);
      const res = await pick(user.link, user.csrf, bad);
      expect(res.status).toBe(410);
      expect(await codeOf(pending)).toBe("INVALID_APPROVER");
      for (const a of approvers) expect(await gatewayRequests(a.msisdn)).toEqual([]);
    }
  });

  it("the user's own number is not offered, and picking it anyway is INVALID_APPROVER", async () => {
    const msisdn = freshMsisdn();
    const approvers = [{ name: "Myself", msisdn }, ...freshApprovers()];
    const pending = callAssisted(msisdn, approvers);
    const user = await userAccepts(msisdn);
    expect(user.buttons.map((b) => b.name)).toEqual(["Alice Admin", "Bob Helpdesk"]);
    expect(user.buttons.map((b) => b.id)).not.toContain("0");
    await pick(user.link, user.csrf, "0"); // the id of "Myself" in the configured list
    expect(await codeOf(pending)).toBe("INVALID_APPROVER");
    expect(await gatewayRequests(msisdn)).toHaveLength(1); // only the user's own link
  });

  it("an approver the SMS gateway cannot reach: INVALID_APPROVER", async () => {
    const msisdn = freshMsisdn();
    const unreachable = freshMsisdn("0000"); // the fake gateway answers 503
    const pending = callAssisted(msisdn, [{ name: "Broken Phone", msisdn: unreachable }]);
    const user = await userAccepts(msisdn);
    const started = Date.now();
    const res = await pick(user.link, user.csrf, user.buttons[0]!.id);
    expect(res.status).toBe(410);
    expect(await codeOf(pending)).toBe("INVALID_APPROVER");
    expect(Date.now() - started).toBeLessThan(10_000); // not held until touch-timeout
    expect(await gatewayRequests(unreachable)).toHaveLength(1); // it was tried
  });

  it("approver never answers (their link only prefetched): USER_NOT_RESPONDED", async () => {
    const msisdn = freshMsisdn();
    const approvers = freshApprovers();
    const started = Date.now();
    const pending = callAssisted(msisdn, approvers, { "touch-timeout": "15" });
    const user = await userAccepts(msisdn);
    await pick(user.link, user.csrf, user.buttons[0]!.id);
    const approverLink = await waitForLink(approvers[0]!.msisdn);
    // Link scanners fetch the approver's page too: GET never decides.
    for (let i = 0; i < 3; i++) expect((await openLink(approverLink)).res.status).toBe(200);
    expect(await codeOf(pending)).toBe("USER_NOT_RESPONDED");
    expect(Date.now() - started).toBeGreaterThanOrEqual(15_000);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect((await openLink(approverLink)).res.status).toBe(410);
  }, 40_000);
});

describe("Assisted Login: links, forms and state", () => {
  it("the approver link is single use and cannot answer for the user, nor the user's for the approver", async () => {
    const msisdn = freshMsisdn();
    const approvers = freshApprovers();
    const pending = callAssisted(msisdn, approvers);
    const user = await userAccepts(msisdn);
    // The user's link cannot take back or repeat its answer: still the list, no decision.
    const again = await answer(user.link, "reject", user.csrf);
    expect(again.status).toBe(200);
    expect(approverButtons(await again.text())).toHaveLength(2);

    await pick(user.link, user.csrf, user.buttons[0]!.id);
    // A second pick does not ask a second approver.
    expect(await (await pick(user.link, user.csrf, user.buttons[1]!.id)).text()).toContain("Waiting for Alice Admin");
    expect(await gatewayRequests(approvers[1]!.msisdn)).toEqual([]);

    const approverLink = await waitForLink(approvers[0]!.msisdn);
    const page = await openLink(approverLink);
    // The user's CSRF token does not work on the approver's link, and vice versa.
    expect((await answer(approverLink, "accept", user.csrf)).status).toBe(403);
    expect((await answer(user.link, "accept", page.csrf!)).status).toBe(403);
    // A cross-site POST is refused by the origin check.
    expect((await answer(approverLink, "accept", page.csrf!, "https://evil.example")).status).toBe(403);

    expect((await answer(approverLink, "reject", page.csrf!)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
    // Used: a second answer changes nothing, the page says so.
    const second = await answer(approverLink, "accept", page.csrf!);
    expect(second.status).toBe(410);
    expect(await second.text()).toContain("already been answered");
    expect((await openLink(approverLink)).res.status).toBe(410);
    expect((await openLink(user.link)).res.status).toBe(410);
  });

  it("a pick with a wrong CSRF token or from another origin is refused and changes nothing", async () => {
    const msisdn = freshMsisdn();
    const approvers = freshApprovers();
    const pending = callAssisted(msisdn, approvers);
    const user = await userAccepts(msisdn);
    expect((await pick(user.link, "not-the-token", user.buttons[0]!.id)).status).toBe(403);
    expect((await post(`${user.link}/approver`, { csrf: user.csrf, approver: "0" }, "https://evil.example")).status).toBe(403);
    expect(await gatewayRequests(approvers[0]!.msisdn)).toEqual([]);
    expect(approverButtons((await openLink(user.link)).html)).toHaveLength(2);
    await pick(user.link, user.csrf, user.buttons[0]!.id);
    const approverLink = await waitForLink(approvers[0]!.msisdn);
    await answer(approverLink, "accept", (await openLink(approverLink)).csrf!);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });

  it("a pick before the user accepted is refused", async () => {
    const msisdn = freshMsisdn();
    const approvers = freshApprovers();
    const pending = callAssisted(msisdn, approvers);
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    expect((await pick(link, page.csrf!, "0")).status).toBe(403);
    expect(await gatewayRequests(approvers[0]!.msisdn)).toEqual([]);
    await answer(link, "reject", page.csrf!);
    expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
  });

  it("the phases survive resets of the session object between every step", async () => {
    const msisdn = freshMsisdn();
    const approvers = freshApprovers();
    const pending = callAssisted(msisdn, approvers);
    const user = await userAccepts(msisdn);
    const stub = await sessionStub(user.link);
    expect(await runInDurableObject(stub, (_i, s) => s.storage.get("session"))).toMatchObject({
      status: "pending",
      assisted: { phase: "choose_approver" },
    });
    await reset(user.link);
    // After the restart the user's link still shows the list, and the pick works.
    expect(approverButtons((await openLink(user.link)).html)).toHaveLength(2);
    expect((await pick(user.link, user.csrf, user.buttons[1]!.id)).status).toBe(200);
    const approverLink = await waitForLink(approvers[1]!.msisdn);
    const stored = await runInDurableObject(await sessionStub(user.link), (_i, s) => s.storage.get("session"));
    expect(stored).toMatchObject({ assisted: { phase: "approver_pending", approver: { name: "Bob Helpdesk" } } });
    // Only the SHA-256 of the approver's token is stored.
    const approverToken = approverLink.split("/m/")[1]!;
    expect(JSON.stringify(stored)).not.toContain(approverToken);
    expect(JSON.stringify(stored)).toContain(await sha256Hex(approverToken));

    await reset(user.link);
    await reset(approverLink);
    const page = await openLink(approverLink);
    expect(page.res.status).toBe(200);
    await reset(user.link);
    expect((await answer(approverLink, "accept", page.csrf!)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
    // Data minimisation: the tombstone keeps no approver data.
    const after = await runInDurableObject(await sessionStub(user.link), (_i, s) => s.storage.get("session"));
    expect(after).toMatchObject({ status: "accepted" });
    expect(JSON.stringify(after)).not.toContain(approvers[1]!.msisdn);
    expect(JSON.stringify(after)).not.toContain("Bob Helpdesk");
  });
});

describe("Assisted Login: directory and codes", () => {
  const endpoint = {
    assistedLogin: {
      approvers: [
        { name: "Alice", msisdn: "+46700000011" },
        { name: "Bob", msisdn: "+46700000022" },
      ],
    },
  };

  it("LocalListDirectory lists the endpoint's approvers and finds them by id only", async () => {
    const dir = new LocalListDirectory();
    const list = await dir.list(endpoint);
    expect(list).toEqual([
      { id: "0", name: "Alice", msisdn: "+46700000011" },
      { id: "1", name: "Bob", msisdn: "+46700000022" },
    ]);
    expect(await dir.find(endpoint, "1")).toEqual(list[1]);
    for (const bad of ["2", "-1", "01", "1.0", " 1", "Bob", ""]) expect(await dir.find(endpoint, bad)).toBeNull();
    expect(await dir.list({})).toEqual([]);
    expect(await dir.find({}, "0")).toBeNull();
  });

  it("maps the new statuses to their codes, the same in both response styles", () => {
    expect(codeForStatus("no_approver_selected")).toBe("NO_APPROVER_SELECTED");
    expect(codeForStatus("invalid_approver")).toBe("INVALID_APPROVER");
    expect(styledCode("INVALID_APPROVER", "cloud")).toBe("INVALID_APPROVER");
    expect(styledCode("NO_APPROVER_SELECTED", "server")).toBe("NO_APPROVER_SELECTED");
  });
});
