import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../core/tokens";
import { ConfigSchema } from "../../workers/config/schema";
import { answer, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";
import { RelayLinkError } from "../../workers/domain/relay-link";
import { cookieOf, encryptLikeThePage, ORIGIN, type Portal, passwordForm, portal } from "./support/reset-portal";

/**
 * Issue 13: the password reset portal with a fake relay (RelayAsk). The phone and the approver
 * answer through the real AuthSession pages and the fake SMS gateway.
 */
const PASSWORD = "Violet-kettle-47-orbits";

/** A username and directory entry no other test uses. */
function freshUser(p: Portal) {
  const username = `user-${crypto.randomUUID().slice(0, 8)}`;
  const msisdn = freshMsisdn();
  p.relay.users.set(username, { msisdn, displayName: "Test User" });
  return { username, msisdn };
}

async function start(p: Portal, username: string, ip?: string) {
  const res = await p.fetch("/reset/reset", { form: { step: "start", username }, ...(ip ? { ip } : {}) });
  return { res, cookie: cookieOf(res) };
}

/** The user accepts on their phone, picks the first approver, who accepts. */
async function approveOnPhones(p: Portal, msisdn: string) {
  const link = await waitForLink(msisdn);
  const page = await openLink(link);
  expect(page.html).toContain("Password reset");
  const accepted = await answer(link, "accept", page.csrf ?? "");
  expect(await accepted.text()).toContain('name="approver"');
  const picked = await exports.default.fetch(
    new Request(`${link}/approver`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams({ csrf: page.csrf ?? "", approver: "0" }),
    }),
  );
  expect(picked.status).toBe(200);
  const approverLink = await waitForLink(p.approvers[0]?.msisdn ?? "");
  const [sms] = await gatewayRequests(p.approvers[0]?.msisdn ?? "");
  expect(sms?.text).toContain("approve a password reset");
  const approverPage = await openLink(approverLink);
  expect((await answer(approverLink, "accept", approverPage.csrf ?? "")).status).toBe(200);
}

/** Start to password form: returns the cookie and the form's data. */
async function untilPasswordForm(p: Portal) {
  const user = freshUser(p);
  const { cookie } = await start(p, user.username);
  await approveOnPhones(p, user.msisdn);
  const page = await p.fetch("/reset/reset", { cookie });
  const html = await page.text();
  expect(html).toContain("Choose a new password");
  return { ...user, cookie, form: passwordForm(html), html };
}

describe("password reset: the whole flow", () => {
  it("username, phone, approver, new password: the relay gets a JWE only it can open, the user an SMS", async () => {
    const p = await portal();
    const first = await p.fetch("/reset/reset");
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('name="username"');

    const user = freshUser(p);
    const { res, cookie } = await start(p, user.username);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/reset/reset");
    expect(res.headers.get("set-cookie")).toMatch(/HttpOnly/i);
    expect(res.headers.get("set-cookie")).toMatch(/Secure/i);
    expect(res.headers.get("set-cookie")).toMatch(/SameSite=Strict/i);
    expect(p.relay.calls[0]).toEqual({ site: "hq", op: "user.lookup", args: { username: user.username } });

    // Before the approvals: the waiting page, no password form.
    const waiting = await (await p.fetch("/reset/reset", { cookie })).text();
    expect(waiting).toContain("If the account exists");
    expect(waiting).not.toContain('name="flow"');

    await approveOnPhones(p, user.msisdn);
    const html = await (await p.fetch("/reset/reset", { cookie })).text();
    expect(html).toContain("Choose a new password");
    // The password fields have no name: a browser never submits them.
    expect(html).toMatch(/<input type="password" id="new-password" autocomplete="new-password" required/);
    expect(html).not.toMatch(/type="password"[^>]*name=/);
    expect(html).toContain('src="/assets/reset.js"');
    const form = passwordForm(html);
    expect(form.jwk).toEqual(p.publicJwk);
    expect(form.username).toBe(user.username);

    const jwe = await encryptLikeThePage(form, PASSWORD);
    const done = await p.fetch("/reset/reset", { cookie, form: { step: "password", flow: form.flow, jwe } });
    expect(done.status).toBe(200);
    expect(await done.text()).toContain("Password changed");

    // What went to the relay: the JWE as sent, never the password; the relay's key opens it.
    const change = p.relay.calls.find((c) => c.op === "password.change");
    expect(change).toEqual({ site: "hq", op: "password.change", args: { username: user.username, jwe } });
    expect(JSON.stringify(p.relay.calls)).not.toContain(PASSWORD);
    expect(p.relay.secrets).toEqual([{ v: 1, u: user.username, p: PASSWORD, exp: form.exp }]);

    // The user is told by SMS.
    const texts = (await gatewayRequests(user.msisdn)).map((r) => r.text ?? "");
    expect(texts.some((t) => t.includes("was changed"))).toBe(true);

    // Every step audited, the password nowhere.
    const rows = await env.DB.prepare("SELECT result, detail FROM audit_log WHERE channel = 'reset' AND detail LIKE ?")
      .bind(`%${user.username}%`)
      .all<{ result: string; detail: string }>();
    expect(rows.results.map((r) => r.result)).toEqual(
      expect.arrayContaining(["started", "verification_sent", "password_submitted", "changed"]),
    );
    const all = JSON.stringify(await env.DB.prepare("SELECT * FROM audit_log").all());
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain(jwe.slice(-20));

    // The page after: done; the form again: refused (single use).
    expect(await (await p.fetch("/reset/reset", { cookie })).text()).toContain("Password changed");
    const replay = await p.fetch("/reset/reset", { cookie, form: { step: "password", flow: form.flow, jwe } });
    expect(replay.status).toBe(403);
    expect(p.relay.calls.filter((c) => c.op === "password.change")).toHaveLength(1);
  });

  it("a directory refusal returns to the form in words, with a new single-use flow token", async () => {
    const p = await portal();
    const { cookie, form } = await untilPasswordForm(p);
    p.relay.answers.push({
      changed: false,
      reason: "policy",
      message: "You have used this password before. Choose one you have not used.",
    });
    const refused = await p.fetch("/reset/reset", {
      cookie,
      form: { step: "password", flow: form.flow, jwe: await encryptLikeThePage(form, PASSWORD) },
    });
    expect(refused.status).toBe(422);
    const html = await refused.text();
    expect(html).toContain("You have used this password before.");
    const again = passwordForm(html);
    expect(again.flow).not.toBe(form.flow);
    // The consumed token is refused; the new one works.
    const stale = await p.fetch("/reset/reset", {
      cookie,
      form: { step: "password", flow: form.flow, jwe: await encryptLikeThePage(form, "Other-pass-93-moss") },
    });
    expect(stale.status).toBe(403);
    const ok = await p.fetch("/reset/reset", {
      cookie,
      form: { step: "password", flow: again.flow, jwe: await encryptLikeThePage(again, "Other-pass-93-moss") },
    });
    expect(await ok.text()).toContain("Password changed");
  });
});

describe("password reset: the relay does not answer the change", () => {
  it("no relay connected: not changed, said so, and the same approval may send it again", async () => {
    const p = await portal();
    const { cookie, form } = await untilPasswordForm(p);
    p.relay.down = true;
    const down = await p.fetch("/reset/reset", {
      cookie,
      form: { step: "password", flow: form.flow, jwe: await encryptLikeThePage(form, PASSWORD) },
    });
    const html = await down.text();
    expect(html).toContain("could not be changed now");
    expect(html).not.toContain("may or may not");
    p.relay.down = false;
    const again = passwordForm(html);
    const ok = await p.fetch("/reset/reset", {
      cookie,
      form: { step: "password", flow: again.flow, jwe: await encryptLikeThePage(again, PASSWORD) },
    });
    expect(await ok.text()).toContain("Password changed");
  });

  it("an answer lost after the relay got it (timeout, link closed): the user is not told it was not changed", async () => {
    for (const code of ["timeout", "relay_error"] as const) {
      const p = await portal();
      const { username, cookie, form } = await untilPasswordForm(p);
      p.relay.loseNextAnswer = new RelayLinkError(code, "no answer");
      const lost = await p.fetch("/reset/reset", {
        cookie,
        form: { step: "password", flow: form.flow, jwe: await encryptLikeThePage(form, PASSWORD) },
      });
      const html = await lost.text();
      expect(html).toContain("may or may not have been changed");
      expect(html).not.toContain("could not be changed");
      // The form is offered again (sending the same password again is harmless).
      expect(passwordForm(html).flow).not.toBe(form.flow);
      const rows = await env.DB.prepare("SELECT result FROM audit_log WHERE channel = 'reset' AND detail LIKE ?")
        .bind(`%${username}%`)
        .all<{ result: string }>();
      expect(rows.results.map((r) => r.result)).toContain("outcome_unknown");
    }
  });
});

describe("password reset: wrong, replayed and expired steps", () => {
  it("a password form before the approvals, without the cookie, or with another reset's cookie changes nothing", async () => {
    const p = await portal();
    const user = freshUser(p);
    const { cookie } = await start(p, user.username);
    const early = await p.fetch("/reset/reset", { cookie, form: { step: "password", flow: "guess", jwe: "a.b.c.d.e" } });
    expect(early.status).toBe(403);

    const { cookie: cookieB, form } = await untilPasswordForm(p);
    const jwe = await encryptLikeThePage(form, PASSWORD);
    const noCookie = await p.fetch("/reset/reset", { form: { step: "password", flow: form.flow, jwe } });
    expect(await noCookie.text()).toContain('name="username"'); // the start page: no reset here
    const otherCookie = await p.fetch("/reset/reset", { cookie, form: { step: "password", flow: form.flow, jwe } });
    expect(otherCookie.status).toBe(403);
    expect(p.relay.calls.filter((c) => c.op === "password.change")).toEqual([]);
    // The right reset still works after those attempts.
    expect(await (await p.fetch("/reset/reset", { cookie: cookieB, form: { step: "password", flow: form.flow, jwe } })).text()).toContain(
      "Password changed",
    );
  });

  it("an expired reset shows so and refuses its form", async () => {
    const p = await portal();
    const { cookie, form } = await untilPasswordForm(p);
    const stub = env.RESET_SESSION.getByName(await sha256Hex(cookie ?? ""));
    await runInDurableObject(stub, async (_i, state) => {
      const s = state.storage.kv.get<{ expiresAt: number }>("reset");
      state.storage.kv.put("reset", { ...s, expiresAt: Date.now() - 1 });
    });
    const res = await p.fetch("/reset/reset", {
      cookie,
      form: { step: "password", flow: form.flow, jwe: await encryptLikeThePage(form, PASSWORD) },
    });
    expect(await res.text()).toContain("Reset expired");
    expect(p.relay.calls.filter((c) => c.op === "password.change")).toEqual([]);
  });

  it("refuses a form from another origin (CSRF) and a malformed JWE without asking the relay", async () => {
    const p = await portal();
    const cross = await p.fetch("/reset/reset", { form: { step: "start", username: "someone" }, origin: "https://evil.example" });
    expect(cross.status).toBe(403);
    expect(p.relay.calls).toEqual([]);

    const { cookie, form } = await untilPasswordForm(p);
    const plain = await p.fetch("/reset/reset", { cookie, form: { step: "password", flow: form.flow, jwe: PASSWORD } });
    expect(plain.status).toBe(422);
    expect(await plain.text()).toContain("did not arrive encrypted");
    expect(p.relay.calls.filter((c) => c.op === "password.change")).toEqual([]);
  });
});

describe("password reset: no account enumeration", () => {
  it("an unknown user, a user without a number and a known user get the same answers and pages", async () => {
    const p = await portal();
    const known = freshUser(p);
    const noNumber = `nonumber-${crypto.randomUUID().slice(0, 8)}`;
    p.relay.users.set(noNumber, {});
    const pages: string[] = [];
    const shapes: string[] = [];
    for (const username of [known.username, `nobody-${crypto.randomUUID().slice(0, 8)}`, noNumber]) {
      const { res, cookie } = await start(p, username);
      shapes.push(`${res.status} ${res.headers.get("location")} ${(res.headers.get("set-cookie") ?? "").replace(/=[^;]+/, "=X")}`);
      pages.push(await (await p.fetch("/reset/reset", { cookie })).text());
    }
    expect(new Set(shapes).size).toBe(1);
    expect(new Set(pages).size).toBe(1);
    expect((await gatewayRequests(known.msisdn)).length).toBe(1);
  });

  it("a user who rejects on the phone sees the same waiting page as an unknown user", async () => {
    const p = await portal();
    const user = freshUser(p);
    const { cookie } = await start(p, user.username);
    const unknown = await start(p, `nobody-${crypto.randomUUID().slice(0, 8)}`);
    const link = await waitForLink(user.msisdn);
    const page = await openLink(link);
    await answer(link, "reject", page.csrf ?? "");
    const rejected = await (await p.fetch("/reset/reset", { cookie })).text();
    expect(rejected).toBe(await (await p.fetch("/reset/reset", { cookie: unknown.cookie })).text());
  });

  it("a number that is not the one pinned for the user gets nothing", async () => {
    const p = await portal();
    const user = freshUser(p);
    const first = await start(p, user.username); // pins user.msisdn
    expect((await gatewayRequests(user.msisdn)).length).toBe(1);
    const attacker = freshMsisdn();
    p.relay.users.set(user.username, { msisdn: attacker });
    const second = await start(p, user.username);
    expect(await (await p.fetch("/reset/reset", { cookie: second.cookie })).text()).toBe(
      await (await p.fetch("/reset/reset", { cookie: first.cookie })).text(),
    );
    const toAttacker = (await gatewayRequests(attacker)).map((r) => r.text ?? "");
    expect(toAttacker.some((t) => t.includes("/m/"))).toBe(false);
  });

  it("another spelling that finds the same account meets the same pin (it is kept under the account's own name)", async () => {
    const p = await portal();
    const user = freshUser(p);
    const mail = `${user.username}@corp.example`;
    // The directory's search matches the account by uid or by mail; both find the same entry.
    p.relay.users.set(user.username, { msisdn: user.msisdn, username: user.username });
    await start(p, user.username); // pins user.msisdn under the account
    expect((await gatewayRequests(user.msisdn)).length).toBe(1);
    // The number is changed in the directory, and the reset is asked for under the mail address.
    const attacker = freshMsisdn();
    p.relay.users.set(mail, { msisdn: attacker, username: user.username });
    await start(p, mail);
    const toAttacker = (await gatewayRequests(attacker)).map((r) => r.text ?? "");
    expect(toAttacker.some((t) => t.includes("/m/"))).toBe(false);
  });

  it("with no relay connected the reset is unavailable, for any username alike", async () => {
    const p = await portal();
    p.relay.down = true;
    const a = await start(p, freshUser(p).username);
    const b = await start(p, "nobody-at-all");
    const pageA = await (await p.fetch("/reset/reset", { cookie: a.cookie })).text();
    expect(pageA).toContain("not available right now");
    expect(pageA).toBe(await (await p.fetch("/reset/reset", { cookie: b.cookie })).text());
  });
});

describe("password reset: rate limits", () => {
  it("limits resets per username, whoever asks", async () => {
    const p = await portal({ perUsername: { perMinute: 2, perHour: 10 } });
    const user = freshUser(p);
    expect((await start(p, user.username, "198.51.100.1")).res.status).toBe(303);
    expect((await start(p, user.username.toUpperCase(), "198.51.100.2")).res.status).toBe(303);
    const third = await start(p, user.username, "198.51.100.3");
    expect(third.res.status).toBe(429);
    expect(third.cookie).toBeNull();
    expect(third.res.headers.get("retry-after")).toMatch(/^\d+$/);
    // Another username is not affected.
    expect((await start(p, freshUser(p).username, "198.51.100.4")).res.status).toBe(303);
  });

  it("limits resets per client address, whatever the username", async () => {
    const p = await portal({ perIp: { perMinute: 3, perHour: 10 } });
    const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
    for (let i = 0; i < 3; i++) expect((await start(p, `u${i}-${crypto.randomUUID().slice(0, 6)}`, ip)).res.status).toBe(303);
    expect((await start(p, "one-more", ip)).res.status).toBe(429);
    expect(p.relay.calls.filter((c) => (c.args as { username?: string }).username === "one-more")).toEqual([]);
  });
});

describe("password reset: the production app", () => {
  it("serves the pages with a CSP that allows only the same-origin script, and the script itself", async () => {
    const js = await exports.default.fetch(new Request(`${ORIGIN}/assets/reset.js`));
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect(await js.text()).toContain("ECDH-ES");
    // No endpoint of the default test config offers the reset.
    const page = await exports.default.fetch(new Request(`${ORIGIN}/reset/default`));
    expect(page.status).toBe(404);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).toContain("default-src 'none'");
  });
});

describe("password reset: configuration", () => {
  it("refuses two encryption keys in one relay site, naming the field", () => {
    const jwk = (x: string) => ({ kty: "EC", crv: "P-256", x, y: "y" });
    const r = ConfigSchema.safeParse({
      relays: [
        { name: "a", publicJwk: jwk("a"), endpoint: "e", site: "hq", encryptionJwk: jwk("1") },
        { name: "b", publicJwk: jwk("b"), endpoint: "e", site: "hq", encryptionJwk: jwk("2") },
        { name: "c", publicJwk: jwk("c"), endpoint: "e", site: "branch", encryptionJwk: jwk("3") },
      ],
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(["relays.1.encryptionJwk"]);
  });

  it("offers no reset on an endpoint without approvers or whose site has no key", async () => {
    const noApprovers = await portal({ approvers: undefined });
    expect((await noApprovers.fetch("/reset/reset")).status).toBe(404);
    const noKey = await portal({ site: "elsewhere" });
    expect((await noKey.fetch("/reset/reset")).status).toBe(404);
    expect(noKey.relay.calls).toEqual([]);
  });
});
