import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { memberId } from "../../workers/domain/approver-directory";
import { answer, freshMsisdn, gatewayRequests, openLink, sessionStub, waitForLink } from "./support/magic-link";
import { pick, userAccepts } from "./support/approver-page";
import { connectFakeRelay } from "./support/fake-relay";
import { relayPost } from "./support/relay-call";
import { cookieOf, ORIGIN, type Portal, portal } from "./support/reset-portal";

/**
 * Four eyes must be two people: a user who is also an approver under another number (a second
 * phone, a desk phone) cannot pick themselves to approve their own password reset or relay
 * Touch sign-in. The session compares the approver's directory names with the requester's
 * (docs/security.md, "An approver cannot approve themselves").
 */
/** The edge's origin (the reset portal's too). */
const EDGE = ORIGIN;

/** The approver accepts on their (newest) SMS link. */
async function approverAccepts(msisdn: string) {
  const link = await waitForLink(msisdn);
  const page = await openLink(link);
  expect((await answer(link, "accept", page.csrf ?? "")).status).toBe(200);
}

async function finishedAs(link: string) {
  return (await sessionStub(link)).view();
}

describe("password reset: the resetting user listed as an approver under a second number", () => {
  /**
   * Carol resets from her mobile; the reset's approvers list her desk phone under her username
   * (one of each test's own: a username's number is pinned at its first reset).
   */
  async function carolsPortal() {
    const carol = `carol-${crypto.randomUUID().slice(0, 8)}`;
    const mobile = freshMsisdn();
    const desk = freshMsisdn();
    const alice = freshMsisdn();
    const p = await portal({
      approvers: [
        { name: "Alice Admin", msisdn: alice },
        // Written as an operator might: the config normalises it as the reset does.
        { name: "Carol (desk)", msisdn: desk, username: ` ${carol.toUpperCase()} ` },
      ],
    });
    p.relay.users.set(carol, { msisdn: mobile, displayName: "Carol" });
    return { p, carol, mobile, desk, alice };
  }
  const startReset = async (p: Portal, username: string) =>
    cookieOf(await p.fetch("/reset/reset", { form: { step: "start", username }, ip: `203.0.113.${Math.floor(Math.random() * 250)}` }));

  it("is not offered; her id posted anyway ends the approval invalid_approver, her desk phone gets nothing", async () => {
    const { p, carol, mobile, desk } = await carolsPortal();
    const cookie = await startReset(p, carol);
    const user = await userAccepts(mobile);
    expect(user.buttons.map((b) => b.name)).toEqual(["Alice Admin"]);
    expect(user.html).not.toContain("Carol (desk)");
    await pick(user.link, user.csrf, "1"); // her position in reset.approvers
    expect(await finishedAs(user.link)).toEqual({ kind: "finished", status: "invalid_approver" });
    expect(await gatewayRequests(desk)).toEqual([]);
    expect(await (await p.fetch("/reset/reset", { cookie })).text()).not.toContain('name="flow"');
  });

  it("another approver still works", async () => {
    const { p, carol, mobile, alice } = await carolsPortal();
    const cookie = await startReset(p, carol);
    const user = await userAccepts(mobile);
    expect((await pick(user.link, user.csrf, user.buttons[0]?.id ?? "")).status).toBe(200);
    await approverAccepts(alice);
    expect(await (await p.fetch("/reset/reset", { cookie })).text()).toContain("Choose a new password");
  });

  it("named otherwise (the directory's search also matched her mail): the directory's account name counts too", async () => {
    const { p, carol, mobile } = await carolsPortal();
    p.relay.users.set(`${carol}@example.com`, { msisdn: mobile, displayName: "Carol", username: carol });
    await startReset(p, `${carol.toUpperCase()}@Example.com`);
    const user = await userAccepts(mobile);
    expect(user.buttons.map((b) => b.name)).toEqual(["Alice Admin"]);
    await pick(user.link, user.csrf, "1");
    expect(await finishedAs(user.link)).toEqual({ kind: "finished", status: "invalid_approver" });
  });
});

describe("relay Touch on an Assisted Login endpoint: the signing-in user listed as an approver under a second number", () => {
  let key: CryptoKey;
  let testEnv: Env;
  const carolMobile = freshMsisdn();
  const carolDesk = freshMsisdn();
  const alice = freshMsisdn();
  const ldapCarolDesk = freshMsisdn();

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    key = pair.privateKey;
    const publicJwk = await exportJWK(pair.publicKey);
    const cfg = JSON.parse(env.MFA_CONFIG) as { endpoints: unknown[]; relays?: unknown[] };
    cfg.endpoints.push(
      {
        name: "assisted-self",
        usePush: false,
        assistedLogin: {
          approvers: [
            { name: "Alice Admin", msisdn: alice },
            { name: "Carol (desk)", msisdn: carolDesk, username: "carol" },
          ],
        },
      },
      {
        name: "assisted-self-ldap",
        usePush: false,
        assistedLogin: { source: "ldap", group: "cn=approvers,dc=example,dc=com", site: "hq", cacheSeconds: 0 },
      },
    );
    cfg.relays = [
      { name: "r-self", publicJwk, endpoint: "assisted-self" },
      { name: "r-self-ldap", publicJwk, endpoint: "assisted-self-ldap", site: "hq" },
    ];
    testEnv = { ...env, MFA_CONFIG: JSON.stringify(cfg) } as Env;
  });

  async function touch(relay: string, username: string, msisdn: string): Promise<string> {
    const body = JSON.stringify({ username, msisdn, timeoutSeconds: 30 });
    const res = await relayPost({ testEnv, key, relay, edge: EDGE, path: "/api/relay/v1/touch", body });
    return ((await res.json()) as { code?: string; error?: string }).code ?? `HTTP ${res.status}`;
  }

  it("local list: she is not offered; picking her anyway is INVALID_APPROVER; Alice still approves her", async () => {
    const refused = touch("r-self", "Carol", carolMobile);
    const user = await userAccepts(carolMobile);
    expect(user.buttons.map((b) => b.name)).toEqual(["Alice Admin"]);
    await pick(user.link, user.csrf, "1");
    expect(await refused).toBe("INVALID_APPROVER");
    expect(await gatewayRequests(carolDesk)).toEqual([]);

    const before = (await gatewayRequests(carolMobile)).length;
    const approved = touch("r-self", "carol", carolMobile);
    const again = await userAccepts(carolMobile, before);
    expect((await pick(again.link, again.csrf, again.buttons[0]?.id ?? "")).status).toBe(200);
    await approverAccepts(alice);
    expect(await approved).toBe("TOUCH_ACCEPTED");
  });

  it("someone else signing in is offered her (the rule is about who asks)", async () => {
    const dave = freshMsisdn();
    const pending = touch("r-self", "dave", dave);
    const user = await userAccepts(dave);
    expect(user.buttons.map((b) => b.name)).toEqual(["Alice Admin", "Carol (desk)"]);
    await pick(user.link, user.csrf, "1");
    await approverAccepts(carolDesk);
    expect(await pending).toBe("TOUCH_ACCEPTED");
  });

  it("LDAP group: the member whose login name is hers is not offered, and cannot be picked", async () => {
    const members = [
      { username: "alice", displayName: "Alice LDAP", msisdn: freshMsisdn() },
      { username: "CAROL", displayName: "Carol LDAP (desk)", msisdn: ldapCarolDesk },
    ];
    const relay = await connectFakeRelay(testEnv, key, "r-self-ldap", (_req, reply) => reply({ ok: true, result: { members } }));
    const mobile = freshMsisdn();
    const pending = touch("r-self-ldap", "carol", mobile);
    const user = await userAccepts(mobile);
    expect(user.buttons.map((b) => b.name)).toEqual(["Alice LDAP"]);
    expect(user.html).not.toContain("carol");
    await pick(user.link, user.csrf, await memberId("ldap", "carol")); // her id, as the list would carry it
    expect(await pending).toBe("INVALID_APPROVER");
    expect(await gatewayRequests(ldapCarolDesk)).toEqual([]);
    relay.ws.close(1000);
  });
});
