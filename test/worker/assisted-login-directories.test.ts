import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { FAKE_GRAPH, approverGroupId, type GraphRequest } from "../../harness/fake-graph-fixture";
import { entraUsernames, graphPhoneToE164 } from "../../workers/domain/approvers-entra";
import { memberId } from "../../workers/domain/approver-directory";
import { approverDirectory } from "../../workers/domain/approvers";
import { EndpointSchema } from "../../workers/config/schema";
import { KEYS, answer, callAuth, codeOf, freshMsisdn, gatewayRequests, openLink, waitForLink } from "./support/magic-link";
import { pick, userAccepts } from "./support/approver-page";
import { connectFakeRelay, type Behaviour } from "./support/fake-relay";

/**
 * Issue 13 item 3: Assisted Login approvers from an Entra ID group (the Worker asks the local
 * fake Graph, harness/fake-graph.ts) and from an LDAP group (a relay answers "group.members"
 * over the relay link), through the unchanged Assisted Login pages; a directory that cannot be
 * asked ends the call FAILED_DELIVERY before the user gets anything.
 */
let key: CryptoKey;
let baseConfig: { endpoints: Array<Record<string, unknown>>; relays?: unknown[] };

beforeAll(async () => {
  const pair = await generateKeyPair("ES256");
  key = pair.privateKey;
  baseConfig = JSON.parse(env.MFA_CONFIG);
  baseConfig.relays = [{ name: "dir-relay", publicJwk: await exportJWK(pair.publicKey), endpoint: "other", site: "hq" }];
});

const entra = (groupId: string, extra: Record<string, unknown> = {}) => ({
  source: "entra",
  tenantId: FAKE_GRAPH.tenant,
  clientId: FAKE_GRAPH.clientId,
  clientSecret: { secret: "ENTRA_TEST_SECRET" },
  groupId,
  loginBase: env.TEST_GRAPH_URL,
  graphBase: env.TEST_GRAPH_URL,
  ...extra,
});
const ldap = (group: string) => ({ source: "ldap", group, site: "hq" });

/** An env whose "assisted" endpoint takes its approvers from `assistedLogin`. */
function envWith(assistedLogin: unknown, more: Partial<Env> = {}): Env {
  const cfg = { ...baseConfig, endpoints: baseConfig.endpoints.map((e) => (e.name === "assisted" ? { ...e, assistedLogin } : e)) };
  return { ...env, MFA_CONFIG: JSON.stringify(cfg), ...more } as Env;
}
const callAssisted = (msisdn: string, e: Env) => callAuth(msisdn, { endpoint: "assisted", key: KEYS.assisted, env: e });

/** The approver accepts on the newest SMS link to their number (after `before` earlier ones). */
async function approverAccepts(msisdn: string, before: number) {
  const link = await waitForLink(msisdn, 10_000, before);
  const page = await openLink(link);
  expect((await answer(link, "accept", page.csrf ?? "")).status).toBe(200);
}
async function graphRequests(): Promise<GraphRequest[]> {
  return (await (await fetch(`${env.TEST_GRAPH_URL}/_requests`)).json()) as GraphRequest[];
}

describe("approvers from Entra ID (Microsoft Graph)", () => {
  it("lists the group's users with a usable mobile, ids from their UPN, and the picked one approves", async () => {
    const e = envWith(entra(approverGroupId()));
    const msisdn = freshMsisdn();
    const pending = callAssisted(msisdn, e);
    const user = await userAccepts(msisdn);
    // Erin, Gina and Ida have E.164 mobiles (in three spellings); Frank has none, Hans a national number, the group no UPN.
    expect(user.buttons.map((b) => b.name)).toEqual(["Erin Entra", "Gina Graph", "Ida Identity"]);
    expect(user.buttons[1]?.id).toBe(await memberId("entra", "gina@contoso.test"));
    expect(user.html).not.toContain("+46700000032");
    expect(user.html).not.toContain("contoso.test"); // the users' sign-in names stay at the edge
    const gina = "+46700000032";
    const before = (await gatewayRequests(gina)).length;
    expect((await pick(user.link, user.csrf, user.buttons[1]?.id ?? "")).status).toBe(200);
    await approverAccepts(gina, before);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
  });

  it("reuses the list and the app token within cacheSeconds", async () => {
    const group = approverGroupId();
    const endpoint = { name: "assisted", assistedLogin: EndpointSchema.shape.assistedLogin.parse(entra(group)) };
    const dir = approverDirectory(envWith(entra(group)), endpoint);
    const count = async () => (await graphRequests()).filter((r) => r.path.includes(group)).length;
    const first = await dir.list(endpoint);
    const pages = await count();
    expect(pages).toBe(3); // six entries, pages of two
    expect(await dir.list(endpoint)).toEqual(first);
    expect(await dir.find(endpoint, first[2]?.id ?? "")).toEqual(first[2]);
    expect(await dir.find(endpoint, "2")).toBeNull(); // not a list position
    expect(await count()).toBe(pages);
  });

  it("each approver carries the names they sign in under: the UPN and a synced sAMAccountName, normalised", async () => {
    const group = approverGroupId();
    const endpoint = { name: "assisted", assistedLogin: EndpointSchema.shape.assistedLogin.parse(entra(group)) };
    const list = await approverDirectory(envWith(entra(group)), endpoint).list(endpoint);
    expect(list.map((a) => [a.name, a.usernames])).toEqual([
      ["Erin Entra", ["erin@contoso.test"]],
      ["Gina Graph", ["gina@contoso.test", "gina.g"]],
      ["Ida Identity", ["ida@contoso.test"]],
    ]);
    expect(entraUsernames({ userPrincipalName: " Ida@Contoso.test ", onPremisesSamAccountName: "IDA@contoso.TEST" })).toEqual([
      "ida@contoso.test",
    ]);
  });

  it("a wrong client secret, a missing secret, a failing Graph: FAILED_DELIVERY and no SMS to the user", async () => {
    // Each with a group of its own: a cached list would (rightly) be served whatever the credentials.
    const cases: Env[] = [
      envWith(entra(approverGroupId(), { tenantId: "other-tenant.test" })),
      envWith(entra(approverGroupId(), { clientId: "another-app" })),
      envWith(entra(approverGroupId(), { clientSecret: { secret: "ENTRA_NOT_SET_ANYWHERE" } })),
      envWith(entra(approverGroupId(), { clientSecret: { secret: "ENTRA_WRONG_SECRET" } }), { ENTRA_WRONG_SECRET: "nope" } as Partial<Env>),
      envWith(entra(FAKE_GRAPH.groups.broken)),
    ];
    for (const e of cases) {
      const msisdn = freshMsisdn();
      expect(await codeOf(callAssisted(msisdn, e))).toBe("FAILED_DELIVERY");
      expect(await gatewayRequests(msisdn)).toEqual([]);
    }
  });

  it("the bearer token never follows a nextLink to another origin", async () => {
    const msisdn = freshMsisdn();
    expect(await codeOf(callAssisted(msisdn, envWith(entra(FAKE_GRAPH.groups.escaping))))).toBe("FAILED_DELIVERY");
    expect((await graphRequests()).filter((r) => r.host.startsWith("localhost"))).toEqual([]);
    expect(await gatewayRequests(msisdn)).toEqual([]);
  });

  it("the config refuses plain http to a non-loopback host and a secret instead of a secret's name", () => {
    const parse = (a: unknown) => EndpointSchema.safeParse({ name: "x", assistedLogin: a }).success;
    expect(parse(entra(FAKE_GRAPH.groups.approvers))).toBe(true);
    expect(parse(entra(FAKE_GRAPH.groups.approvers, { graphBase: "http://graph.example.com" }))).toBe(false);
    expect(parse(entra(FAKE_GRAPH.groups.approvers, { clientSecret: "s3cr3t-value" }))).toBe(false);
    expect(parse(entra("../../users"))).toBe(false);
  });

  it("names only ENTRA_ secrets, and sends them only to Microsoft's hosts: the console cannot send another secret away", () => {
    const parse = (a: unknown) => EndpointSchema.safeParse({ name: "x", assistedLogin: a }).success;
    const cloud = { loginBase: "https://login.microsoftonline.com", graphBase: "https://graph.microsoft.com" };
    expect(parse(entra(FAKE_GRAPH.groups.approvers, cloud))).toBe(true);
    expect(
      parse(entra(FAKE_GRAPH.groups.approvers, { loginBase: "https://login.microsoftonline.us", graphBase: "https://graph.microsoft.us" })),
    ).toBe(true);
    for (const secret of ["SEED_ENCRYPTION_KEY", "VAPID_PRIVATE_KEY", "SMS_API_KEY", "ENTRA_"]) {
      expect(parse(entra(FAKE_GRAPH.groups.approvers, { ...cloud, clientSecret: { secret } }))).toBe(false);
    }
    for (const over of [
      { loginBase: "https://attacker.example" },
      { graphBase: "https://graph.microsoft.com.attacker.example" },
      { loginBase: "http://login.microsoftonline.com" },
      // Loopback to a browser, but looked up like any other name: the client secret would go in clear.
      { loginBase: "http://login.localhost" },
      { graphBase: "https://graph.localhost" },
    ]) {
      expect(parse(entra(FAKE_GRAPH.groups.approvers, { ...cloud, ...over }))).toBe(false);
    }
  });

  it("normalises Graph phone numbers to E.164 and guesses no country", () => {
    expect(graphPhoneToE164("+46 (0)70-000 00.31")).toBe("+46700000031"); // the bracketed trunk prefix is not dialled
    expect(graphPhoneToE164("+46 70-000 00.31")).toBe("+46700000031");
    expect(graphPhoneToE164("070 000 00 31")).toBeNull();
    expect(graphPhoneToE164(null)).toBeNull();
  });
});

describe("approvers from an LDAP group (over the relay link)", () => {
  const members = [
    { username: "alice", displayName: "Alice LDAP", msisdn: freshMsisdn() },
    { username: "bob", displayName: "Bob LDAP", msisdn: freshMsisdn() },
  ];
  const answersGroup: Behaviour = (req, reply) =>
    req.op === "group.members"
      ? reply({ ok: true, result: { members } })
      : reply({ ok: false, error: { code: "unsupported", message: "no" } });

  it("the site's relay lists the group; the user picks; the approver accepts", async () => {
    const e = envWith(ldap("cn=approvers,ou=groups,dc=example,dc=com"));
    const relay = await connectFakeRelay(e, key, "dir-relay", answersGroup);
    const msisdn = freshMsisdn();
    const pending = callAssisted(msisdn, e);
    const user = await userAccepts(msisdn);
    expect(user.buttons.map((b) => b.name)).toEqual(["Alice LDAP", "Bob LDAP"]);
    expect(user.buttons[1]?.id).toBe(await memberId("ldap", "bob"));
    expect(relay.asked.map((f) => [f.op, f.args])).toEqual([["group.members", { group: "cn=approvers,ou=groups,dc=example,dc=com" }]]);
    expect((await pick(user.link, user.csrf, user.buttons[1]?.id ?? "")).status).toBe(200);
    await approverAccepts(members[1]?.msisdn ?? "", 0);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
    relay.ws.close(1000);
  });

  it("each member carries their login name (the relay's account attribute), normalised", async () => {
    const group = "cn=named-approvers,ou=groups,dc=example,dc=com";
    const e = envWith({ ...ldap(group), cacheSeconds: 0 });
    const named = [{ username: " Carol ", displayName: "Carol LDAP", msisdn: freshMsisdn() }, ...members];
    const relay = await connectFakeRelay(e, key, "dir-relay", (_req, reply) => reply({ ok: true, result: { members: named } }));
    const endpoint = { name: "assisted", assistedLogin: EndpointSchema.shape.assistedLogin.parse({ ...ldap(group), cacheSeconds: 0 }) };
    const list = await approverDirectory(e, endpoint).list(endpoint);
    expect(list.map((a) => [a.name, a.usernames])).toEqual([
      ["Carol LDAP", ["carol"]],
      ["Alice LDAP", ["alice"]],
      ["Bob LDAP", ["bob"]],
    ]);
    expect(list[0]?.id).toBe(await memberId("ldap", "carol"));
    relay.ws.close(1000);
  });

  it("no relay connected, or the relay refuses the group: FAILED_DELIVERY, nothing sent", async () => {
    const msisdn = freshMsisdn();
    expect(await codeOf(callAssisted(msisdn, envWith(ldap("cn=nobody-asked,dc=example,dc=com"))))).toBe("FAILED_DELIVERY");
    expect(await gatewayRequests(msisdn)).toEqual([]);

    const e = envWith(ldap("cn=not-allowed,dc=example,dc=com"));
    const relay = await connectFakeRelay(e, key, "dir-relay", (_req, reply) =>
      reply({ ok: false, error: { code: "bad_request", message: "this relay does not answer for that group" } }),
    );
    const other = freshMsisdn();
    expect(await codeOf(callAssisted(other, e))).toBe("FAILED_DELIVERY");
    expect(await gatewayRequests(other)).toEqual([]);
    expect(relay.asked).toHaveLength(1);
    relay.ws.close(1000);
  });
});
