import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompactEncrypt, importJWK } from "jose";
import { Attribute, Change, Client, InvalidCredentialsError } from "ldapts";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESET_JWE_ALG, RESET_JWE_ENC } from "../../core/contracts/reset-secret.ts";
import { startDevServer, type DevServer } from "../../harness/dev-server.ts";
import { relayKey, startRelay, type RelayProcess } from "../../harness/relay-process.ts";
import { launchChromium } from "../support/browser.ts";
import { LINK_PATTERN, devOutbox, linkIn } from "../support/magic-link-user.ts";
import { startSlapd, type Slapd } from "../support/slapd.ts";

/**
 * Issue 13 end to end: the whole password reset, as a newcomer sets it up (README, "Password
 * reset"): `npm run dev` with a reset endpoint and the relay's entry (its link key and the
 * encryption key from `keygen-encryption`), a real relay process (npm run relay) with the link
 * and `passwordReset` against a real slapd with ppolicy, approvers from an LDAP group resolved
 * over the link. The user is Chromium; the phones open their SMS links from the dev outbox.
 */
const GROUP = "cn=approvers,ou=groups,dc=example,dc=com";
const SERVICE_PASSWORD = "svc-reset-secret";
const ORIGINAL = "Original-pass-north-7";
const FIRST_NEW = "Violet-kettle-47-orbits";
const APPROVER = "+46701110001";
const USERS = { alice: "+46701110011", bob: "+46701110012", carol: "+46701110013", dave: "+46701110014" } as const;
/** The number an intruder with write access to the directory puts on dave's entry. */
const INTRUDER = "+46709990000";

let dev: DevServer;
let slapd: Slapd;
let browser: Browser;
let relayConfig: Record<string, unknown>;
let encryptionJwk: { kty: string; crv: string; x: string; y: string };
const relays: RelayProcess[] = [];

beforeAll(async () => {
  const key = await relayKey();
  // The site's encryption key, made the documented way: the relay keeps the file, the edge the JWK.
  const encryptionKeyFile = join(mkdtempSync(join(tmpdir(), "edge-mfa-reset-key-")), "reset-encryption.pem");
  const keygen = spawnSync(
    join("node_modules", ".bin", "node"),
    ["relay/bin/edge-mfa-relay.mjs", "keygen-encryption", "--out", encryptionKeyFile],
    {
      encoding: "utf8",
    },
  );
  if (keygen.status !== 0) throw new Error(`keygen-encryption failed: ${keygen.stderr}`);
  encryptionJwk = (JSON.parse(keygen.stdout.slice(keygen.stdout.indexOf("{"))) as { encryptionJwk: typeof encryptionJwk }).encryptionJwk;

  const edgeConfig = {
    endpoints: [
      {
        name: "corp",
        timeoutSeconds: 60,
        // cacheSeconds 0: every reset asks the relay for the group, so a dropped link shows.
        assistedLogin: { source: "ldap", group: GROUP, site: "hq", cacheSeconds: 0 },
        reset: { site: "hq", perUsername: { perMinute: 10, perHour: 50 }, perIp: { perMinute: 30, perHour: 200 } },
      },
    ],
    relays: [{ name: "relay-hq", publicJwk: key.publicJwk, endpoint: "corp", site: "hq", encryptionJwk }],
  };
  [dev, slapd, browser] = await Promise.all([
    startDevServer(["--var", `MFA_CONFIG:${JSON.stringify(edgeConfig)}`]),
    startSlapd(
      [
        { uid: "alice", password: ORIGINAL, mobile: USERS.alice, displayName: "Alice Andersson" },
        { uid: "bob", password: ORIGINAL, mobile: USERS.bob, displayName: "Bob Berg" },
        { uid: "carol", password: ORIGINAL, mobile: USERS.carol, displayName: "Carol Carlsson" },
        { uid: "dave", password: ORIGINAL, mobile: USERS.dave, displayName: "Dave Dahl" },
        { uid: "approver", password: "approver-pw", mobile: APPROVER, displayName: "Helpdesk Hanna" },
      ],
      {
        ppolicy: { minLength: 12, inHistory: 3 },
        serviceAccount: { cn: "svc-reset", password: SERVICE_PASSWORD },
        groups: [{ cn: "approvers", kind: "groupOfNames", members: ["approver"] }],
      },
    ),
    launchChromium(),
  ]);
  relayConfig = {
    clients: [{ name: "vpn", address: "127.0.0.1", secret: "radius-shared-secret" }],
    edge: { url: dev.url, relayName: "relay-hq", privateKeyFile: key.privateKeyFile },
    firstFactor: {
      type: "ldap",
      url: slapd.url,
      search: { baseDn: slapd.baseDn, filter: "(uid={user})", bindDn: slapd.adminDn, bindPassword: slapd.adminPassword },
    },
    link: { enabled: true, groups: [GROUP], groupCacheSeconds: 0 },
    passwordReset: {
      directory: "openldap",
      url: slapd.url,
      serviceAccount: { bindDn: slapd.serviceDn, bindPassword: SERVICE_PASSWORD },
      userSearch: { baseDn: slapd.baseDn, filter: "(uid={user})" },
      encryptionKeyFile,
    },
    log: { level: "debug" },
  };
  await startLinkedRelay();
}, 180_000);

afterAll(async () => {
  await Promise.all([...relays.map((r) => r.stop("SIGKILL")), dev?.stop(), slapd?.stop(), browser?.close()]);
});

async function startLinkedRelay(): Promise<RelayProcess> {
  const r = await startRelay(relayConfig);
  relays.push(r);
  await r.waitForLog((l) => l.event === "link_connected", 30_000);
  return r;
}

async function canBind(uid: string, password: string): Promise<boolean> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(`uid=${uid},ou=people,${slapd.baseDn}`, password);
    return true;
  } catch (e) {
    if (e instanceof InvalidCredentialsError) return false;
    throw e;
  } finally {
    await client.unbind().catch(() => {});
  }
}

/** The dev outbox's messages to `to`, newest first. */
async function outbox(to: string): Promise<string[]> {
  return (await devOutbox(dev.url, to)).map((m) => m.text);
}

/** Waits for an SMS to `to` beyond the `seen` first ones it had. */
async function nextSms(to: string, seen: number, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const messages = await outbox(to);
    if (messages.length > seen && messages[0]) return messages[0];
    if (Date.now() > until) throw new Error(`no new SMS to ${to} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** A visitor's browser (its own cookie jar) on the reset page; collects CSP/script errors. */
async function visitor(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  // Script errors, CSP violations and failed loads; a refusal's 422 is the page working, and the
  // browser's own favicon request has nothing to find.
  const expected = (text: string, url: string) => text.includes("status of 422") || url.endsWith("/favicon.ico");
  page.on(
    "console",
    (m) => m.type() === "error" && !expected(m.text(), m.location().url) && errors.push(`${m.text()} ${m.location().url}`),
  );
  page.on("pageerror", (e) => errors.push(String(e)));
  return { context, page, errors };
}

async function enterUsername(page: Page, username: string): Promise<void> {
  await page.goto(`${dev.url}/reset/corp`);
  await page.fill("#username", username);
  await Promise.all([page.waitForURL(`${dev.url}/reset/corp`), page.click("button[type=submit]")]);
}

/**
 * The user's phone opens the reset's SMS link and accepts, picks the approver from the group,
 * and the approver accepts on their own SMS link (both in Chromium, as phones would).
 */
async function phonesApprove(msisdn: string, userSeen: number, approverSeen: number): Promise<void> {
  const phone = await browser.newPage();
  await phone.goto(linkIn(await nextSms(msisdn, userSeen)));
  expect(await phone.textContent("body")).toContain("password reset");
  await phone.click("button[name=decision][value=accept]");
  const pick = phone.locator("button[name=approver]", { hasText: "Helpdesk Hanna" });
  await pick.waitFor({ timeout: 20_000 });
  await pick.click();
  const approver = await browser.newPage();
  await approver.goto(linkIn(await nextSms(APPROVER, approverSeen)));
  await approver.click("button[name=decision][value=accept]");
  await approver.waitForLoadState();
  await Promise.all([phone.close(), approver.close()]);
}

/** The password form (the page's meta refresh brings it once approved): both fields, sent encrypted. */
async function setPassword(page: Page, password: string): Promise<void> {
  await page.waitForSelector("#reset-submit:not([disabled])", { timeout: 30_000 });
  await page.fill("#new-password", password);
  await page.fill("#confirm-password", password);
  await Promise.all([page.waitForNavigation(), page.click("#reset-submit")]);
}

async function counts(msisdn: string): Promise<[number, number]> {
  return [(await outbox(msisdn)).length, (await outbox(APPROVER)).length];
}

describe("password reset through npm run dev, a relay on the link and slapd with ppolicy", () => {
  it("username, phone, approver from the LDAP group, the directory's refusal in words, then the new password binds", async () => {
    const [userSeen, approverSeen] = await counts(USERS.alice);
    const { context, page, errors } = await visitor();
    await enterUsername(page, "alice");
    await phonesApprove(USERS.alice, userSeen, approverSeen);

    // ppolicy refuses the current password; the page says so in words and offers the form again.
    await setPassword(page, ORIGINAL);
    expect(await page.textContent("body")).toContain("The new password is the same as the current one.");
    await setPassword(page, FIRST_NEW);
    expect(await page.textContent("h1")).toBe("Password changed");

    expect(await canBind("alice", FIRST_NEW)).toBe(true);
    expect(await canBind("alice", ORIGINAL)).toBe(false);
    const notice = await nextSms(USERS.alice, userSeen + 1);
    expect(notice).toContain('password of your account "alice" was changed');
    expect(notice).not.toContain(FIRST_NEW);
    // The edge never saw the password: not in its log, nor in the relay's.
    expect(dev.output()).not.toContain(FIRST_NEW);
    expect(relays.map((r) => r.output()).join("\n")).not.toContain(FIRST_NEW);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it("a second reset back to the old password is refused by ppolicy's history, in words", async () => {
    const [userSeen, approverSeen] = await counts(USERS.alice);
    const { context, page, errors } = await visitor();
    await enterUsername(page, "alice");
    await phonesApprove(USERS.alice, userSeen, approverSeen);
    await setPassword(page, ORIGINAL);
    expect(await page.textContent("body")).toContain("You have used this password before.");
    expect(await canBind("alice", FIRST_NEW)).toBe(true);
    await setPassword(page, "Quiet-meadow-61-lanterns");
    expect(await page.textContent("h1")).toBe("Password changed");
    expect(await canBind("alice", "Quiet-meadow-61-lanterns")).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it("the relay is killed and restarted mid-flow (before the approver list, and while the password is sent): the reset completes", async () => {
    const [userSeen, approverSeen] = await counts(USERS.bob);
    const { context, page, errors } = await visitor();
    await enterUsername(page, "bob");
    // The lookup went over the link and the phone has its SMS: now the link drops.
    await nextSms(USERS.bob, userSeen);
    await relays.at(-1)?.stop("SIGKILL");
    await startLinkedRelay();
    await phonesApprove(USERS.bob, userSeen, approverSeen);
    await page.waitForSelector("#reset-submit:not([disabled])", { timeout: 30_000 });
    // No relay connected when the password is sent: said in words, and the same approval may try again.
    await relays.at(-1)?.stop("SIGKILL");
    await setPassword(page, "Amber-lantern-93-moss");
    // "No relay" when the edge already saw the link close; else the question went out on a dead link (outcome unknown).
    expect(await page.textContent("body")).toMatch(/could not be changed now|may or may not have been changed/);
    expect(await canBind("bob", ORIGINAL)).toBe(true);
    await startLinkedRelay();
    await setPassword(page, "Amber-lantern-93-moss");
    expect(await page.textContent("h1")).toBe("Password changed");
    expect(await canBind("bob", "Amber-lantern-93-moss")).toBe(true);
    expect(await canBind("bob", ORIGINAL)).toBe(false);
    expect(errors).toEqual([]);
    await context.close();
  }, 90_000);

  it("a replayed form, a stranger's post and an expired password are refused, and the password stays", async () => {
    const [userSeen, approverSeen] = await counts(USERS.carol);
    const { context, page } = await visitor();
    await enterUsername(page, "carol");
    await phonesApprove(USERS.carol, userSeen, approverSeen);
    await page.waitForSelector("#reset-submit:not([disabled])", { timeout: 30_000 });
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const post = (flow: string, jwe: string, withCookie = true) =>
      fetch(`${dev.url}/reset/corp`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: dev.url, ...(withCookie ? { cookie } : {}) },
        body: new URLSearchParams({ step: "password", flow, jwe }),
      });
    /** What the page would post: the password encrypted to the site's key (`exp` in seconds). */
    const jwe = async (p: string, exp = Math.floor(Date.now() / 1000) + 600) =>
      new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ v: 1, u: "carol", p, exp })))
        .setProtectedHeader({ alg: RESET_JWE_ALG, enc: RESET_JWE_ENC })
        .encrypt(await importJWK({ ...encryptionJwk }, RESET_JWE_ALG));
    const flowIn = (html: string) => html.match(/name="flow" value="([^"]+)"/)?.[1] ?? "";

    // The relay's own policy refuses a leaked password: the form comes back with a new flow token.
    const firstFlow = await page.inputValue("input[name=flow]");
    const leaked = await post(firstFlow, await jwe("Password12345"));
    const leakedHtml = await leaked.text();
    expect(leaked.status).toBe(422);
    expect(leakedHtml).toContain("leaked or common");
    const secondFlow = flowIn(leakedHtml);
    expect(secondFlow).not.toBe("");
    expect(secondFlow).not.toBe(firstFlow);

    // The first form again (its flow token is single use): refused before anything reaches the relay.
    const replay = await post(firstFlow, await jwe("Cedar-harbour-58-drift"));
    expect(replay.status).toBe(403);
    expect(await replay.text()).toContain("Form already used");
    // The live token without this reset's cookie: a stranger gets the start page, nothing changes.
    const stranger = await post(secondFlow, await jwe("Cedar-harbour-58-drift"), false);
    expect(await stranger.text()).toContain('name="username"');

    // A password encrypted long ago (its exp passed): the relay refuses it, the reset is over.
    const expired = await post(secondFlow, await jwe("Cedar-harbour-58-drift", Math.floor(Date.now() / 1000) - 60));
    expect(await expired.text()).toMatch(/too long/);
    const after = await post(secondFlow, await jwe("Cedar-harbour-58-drift"));
    expect(await after.text()).not.toContain("Password changed");
    expect(await canBind("carol", ORIGINAL)).toBe(true);
    expect(await canBind("carol", "Cedar-harbour-58-drift")).toBe(false);
    expect((await outbox(USERS.carol)).some((m) => m.includes("was changed"))).toBe(false);
    await context.close();
  }, 90_000);

  it("a number changed in the directory is not trusted: no SMS to the new number, the pinned one is told", async () => {
    const { context, page } = await visitor();
    // The first reset pins dave's number (the same pin the site's RADIUS relays use).
    const seen = (await outbox(USERS.dave)).length;
    await enterUsername(page, "dave");
    await nextSms(USERS.dave, seen);
    const admin = new Client({ url: slapd.url });
    await admin.bind(slapd.adminDn, slapd.adminPassword);
    await admin.modify(
      `uid=dave,ou=people,${slapd.baseDn}`,
      new Change({ operation: "replace", modification: new Attribute({ type: "mobile", values: [INTRUDER] }) }),
    );
    await admin.unbind();
    const second = await visitor();
    await enterUsername(second.page, "dave");
    // The page looks like any reset waiting for its phone; the pinned number gets the notice.
    expect(await second.page.textContent("body")).toBe(await page.textContent("body"));
    const notice = await nextSms(USERS.dave, seen + 1);
    expect(notice).toContain("Security notice: a password reset for dave tried to use another phone number");
    expect(notice).not.toMatch(LINK_PATTERN);
    expect(await outbox(INTRUDER)).toEqual([]);
    await Promise.all([context.close(), second.context.close()]);
  }, 90_000);
});
