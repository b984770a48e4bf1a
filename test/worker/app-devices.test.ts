// Several authenticator apps per number (phone and tablet): pushes to all, the first answer
// wins, each revoked alone, the audit names the device, the cap, and the old one-device storage.
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signCompactJws } from "../../core/jws-sign";
import { randomToken } from "../../core/tokens";
import { challengeResponseCode, seedFromBase32, totpCode } from "../../core/otp";
import { ADMIN_TOKEN } from "../support/keys";
import {
  APP,
  activateDevice,
  appApi,
  claimJoin,
  fetchChallenge,
  joinDevice,
  requestActivation,
  sendAnswer,
  waitForPush,
  pushMessages,
  type TestDevice,
  appRead,
} from "./support/authenticator-app";
import { callAuth, codeOf, freshMsisdn } from "./support/magic-link";

async function admin(method: string, path: string) {
  const res = await exports.default.fetch(
    new Request(`https://mfa.example.com/admin/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
  );
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

async function auditRows(
  since: number,
  where: string,
): Promise<Array<{ action: string | null; detail: string | null; result: string | null }>> {
  const { results } = await env.DB.prepare(`SELECT action, detail, result FROM audit_log WHERE at >= ? AND ${where} ORDER BY id`)
    .bind(since)
    .all<{ action: string | null; detail: string | null; result: string | null }>();
  return results;
}

/** Until the audit row of the sign-in (written after the response) is there. */
async function authRow(since: number): Promise<{ detail: string | null; result: string | null }> {
  for (let i = 0; i < 100; i++) {
    const rows = await auditRows(since, "kind = 'auth' AND endpoint = 'app'");
    const row = rows.at(-1);
    if (row) return row;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("no auth audit row");
}

async function answerInApp(d: TestDevice, challengeId: string, decision: "accept" | "reject" = "accept") {
  const { body } = await fetchChallenge(d, challengeId);
  return sendAnswer(d, { c: challengeId, n: body.nonce, d: decision });
}

/** A number with a phone and a tablet, both with push. */
async function phoneAndTablet() {
  const msisdn = freshMsisdn();
  const phone = await activateDevice(msisdn, { name: "Anna's phone" });
  const tablet = await joinDevice(msisdn, { name: "Anna's tablet" });
  return { msisdn, phone, tablet };
}

describe("several devices per number", () => {
  it("both devices get the push; the first answer wins and the other's answer hears 'already answered'", async () => {
    const { msisdn, phone, tablet } = await phoneAndTablet();
    const since = Date.now();
    const before = { phone: (await pushMessages(phone.sub!.id)).length, tablet: (await pushMessages(tablet.sub!.id)).length };
    const pending = callAuth(msisdn, APP);
    const onPhone = await waitForPush(phone.sub!, before.phone + 1);
    const onTablet = await waitForPush(tablet.sub!, before.tablet + 1);
    expect(onTablet).toBe(onPhone); // one challenge, pushed to each
    // Both fetch the details (each its own nonce: the tablet's fetch does not void the phone's).
    const phoneView = await fetchChallenge(phone, onPhone);
    const tabletView = await fetchChallenge(tablet, onPhone);
    expect(tabletView.res.status).toBe(200);
    expect((await sendAnswer(tablet, { c: onPhone, n: tabletView.body.nonce, d: "accept" })).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
    // The phone's late Reject changes nothing: 410 with the result that stands.
    const late = await sendAnswer(phone, { c: onPhone, n: phoneView.body.nonce, d: "reject" });
    expect(late.status).toBe(410);
    expect(await late.json()).toEqual({ status: "finished", result: "accepted" });
    expect((await fetchChallenge(phone, onPhone)).res.status).toBe(410);
    // The auth log's audit row names the device that answered.
    const row = await authRow(since);
    expect(row.result).toBe("TOUCH_ACCEPTED");
    expect(JSON.parse(row.detail ?? "{}")).toMatchObject({ device: { id: tablet.deviceId, name: "Anna's tablet" } });
  });

  it("each device's offline codes work; a signed challenge is accepted once whichever device signed it", async () => {
    const { msisdn, phone, tablet } = await phoneAndTablet();
    const subscriber = env.SUBSCRIBER.getByName(msisdn);
    expect(await subscriber.verifyTotp(await totpCode(seedFromBase32(phone.seed), Date.now()))).toBe(true);
    expect(await subscriber.verifyTotp(await totpCode(seedFromBase32(tablet.seed), Date.now()))).toBe(true);
    // Each seed's time step counts once.
    expect(await subscriber.verifyTotp(await totpCode(seedFromBase32(tablet.seed), Date.now()))).toBe(false);
    expect(await subscriber.verifyChallengeResponse("551177", await challengeResponseCode(seedFromBase32(tablet.seed), "551177"))).toBe(
      true,
    );
    expect(await subscriber.verifyChallengeResponse("551177", await challengeResponseCode(seedFromBase32(phone.seed), "551177"))).toBe(
      false,
    );
  });

  it("the admin API lists the devices by name and revokes one; the other keeps working (audited with its name)", async () => {
    const { msisdn, phone, tablet } = await phoneAndTablet();
    const since = Date.now();
    const shown = await admin("GET", `/subscribers/${encodeURIComponent(msisdn)}`);
    expect(shown.body?.devices).toEqual([
      expect.objectContaining({ id: phone.deviceId, name: "Anna's phone", push: true, userVerification: false }),
      expect.objectContaining({ id: tablet.deviceId, name: "Anna's tablet", push: true }),
    ]);
    expect((await admin("DELETE", `/subscribers/${encodeURIComponent(msisdn)}/devices/${phone.deviceId}`)).status).toBe(204);
    expect((await admin("DELETE", `/subscribers/${encodeURIComponent(msisdn)}/devices/${phone.deviceId}`)).status).toBe(404);
    expect((await appRead(phone, "pending")).status).toBe(404);
    const subscriber = env.SUBSCRIBER.getByName(msisdn);
    expect(await subscriber.verifyTotp(await totpCode(seedFromBase32(phone.seed), Date.now()))).toBe(false);
    // The tablet still gets the push and its answer counts.
    const before = (await pushMessages(tablet.sub!.id)).length;
    const pending = callAuth(msisdn, APP);
    const challengeId = await waitForPush(tablet.sub!, before + 1);
    expect((await answerInApp(tablet, challengeId)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
    const revoked = await auditRows(since, "action = 'device.revoke'");
    expect(JSON.parse(revoked[0]?.detail ?? "{}")).toEqual({ deviceId: phone.deviceId, name: "Anna's phone" });
  });

  it("the app removes itself (signed by its own key) and lists the number's other devices by name", async () => {
    const { msisdn, phone, tablet } = await phoneAndTablet();
    const listed = (await (await appRead(tablet, "devices")).json()) as { devices: unknown[] };
    expect(listed.devices).toEqual([
      expect.objectContaining({ name: "Anna's phone", self: false }),
      expect.objectContaining({ name: "Anna's tablet", self: true }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(phone.deviceId); // names only, not the other devices' ids
    // Another device's key cannot remove the tablet.
    const iat = Math.floor(Date.now() / 1000);
    const forged = await signCompactJws(phone.keys.privateKey, { typ: "edge-mfa/device", iat, jti: randomToken(16), remove: true });
    expect((await appApi("device", { msisdn, deviceId: tablet.deviceId, jws: forged })).status).toBe(403);
    const own = await signCompactJws(tablet.keys.privateKey, { typ: "edge-mfa/device", iat, jti: randomToken(16), remove: true });
    expect(await (await appApi("device", { msisdn, deviceId: tablet.deviceId, jws: own })).json()).toEqual({ status: "removed" });
    expect((await env.SUBSCRIBER.getByName(msisdn).devices()).map((d) => d.deviceId)).toEqual([phone.deviceId]);
    // A rename, signed by the device.
    const rename = await signCompactJws(phone.keys.privateKey, { typ: "edge-mfa/device", iat, jti: randomToken(16), name: "Work phone" });
    expect((await appApi("device", { msisdn, deviceId: phone.deviceId, jws: rename })).status).toBe(200);
    expect(await env.SUBSCRIBER.getByName(msisdn).devices()).toEqual([expect.objectContaining({ name: "Work phone" })]);
    // The same signed body again (a copy seen on the wire) is refused, and changes nothing.
    const rename2 = await signCompactJws(phone.keys.privateKey, { typ: "edge-mfa/device", iat, jti: randomToken(16), name: "Old phone" });
    expect((await appApi("device", { msisdn, deviceId: phone.deviceId, jws: rename2 })).status).toBe(200);
    expect((await appApi("device", { msisdn, deviceId: phone.deviceId, jws: rename })).status).toBe(403);
    expect(await env.SUBSCRIBER.getByName(msisdn).devices()).toEqual([expect.objectContaining({ name: "Old phone" })]);
    // An update without its one-time id is refused.
    const bare = await signCompactJws(phone.keys.privateKey, { typ: "edge-mfa/device", iat, name: "No id" });
    expect((await appApi("device", { msisdn, deviceId: phone.deviceId, jws: bare })).status).toBe(403);
    const junk = await signCompactJws(phone.keys.privateKey, { typ: "edge-mfa/device", iat, jti: randomToken(16), name: "bad\u0000name" });
    expect((await appApi("device", { msisdn, deviceId: phone.deviceId, jws: junk })).status).toBe(403);
  });

  it("a join is announced to every device; any of them can refuse it within the window", async () => {
    const { msisdn, phone, tablet } = await phoneAndTablet();
    const before = (await pushMessages(tablet.sub!.id)).length;
    const third = await requestActivation(msisdn, { name: "Unknown laptop" });
    expect(third.res.status).toBe(202);
    const { deviceId } = (await third.res.json()) as { deviceId: string };
    await third.finish();
    const told = (await pushMessages(tablet.sub!.id)).slice(before).map((m) => JSON.parse(m.payload!) as Record<string, string>);
    expect(told).toContainEqual({ r: "replacement" });
    const seen = (await (await appRead(phone, "pending")).json()) as { replacement?: unknown };
    expect(seen.replacement).toMatchObject({ name: "Unknown laptop" });
    const iat = Math.floor(Date.now() / 1000);
    const refuse = await signCompactJws(tablet.keys.privateKey, {
      typ: "edge-mfa/device",
      iat,
      jti: randomToken(16),
      refuseReplacement: true,
    });
    expect(await (await appApi("device", { msisdn, deviceId: tablet.deviceId, jws: refuse })).json()).toEqual({
      status: "replacement_refused",
    });
    const claim = await signCompactJws(third.device.keys.privateKey, { typ: "edge-mfa/device", iat, jti: randomToken(16), claim: true });
    expect((await appApi("claim", { msisdn, deviceId, jws: claim })).status).toBe(404);
    expect(await env.SUBSCRIBER.getByName(msisdn).devices()).toHaveLength(2);
  });

  it("a device of the number can let a join take effect now (signed); the new device then claims at once", async () => {
    const msisdn = freshMsisdn();
    const since = Date.now();
    const phone = await activateDevice(msisdn, { name: "Phone" });
    const tablet = await requestActivation(msisdn, { name: "Tablet" });
    expect(tablet.res.status).toBe(202);
    const { deviceId } = (await tablet.res.json()) as { deviceId: string };
    await tablet.finish();
    const joining = { ...tablet.device, deviceId };
    expect((await claimJoin(joining)).status).toBe(409); // still waiting
    const iat = Math.floor(Date.now() / 1000);
    // The joining device cannot approve itself: only a device of the number can.
    const self = await signCompactJws(joining.keys.privateKey, {
      typ: "edge-mfa/device",
      iat,
      jti: randomToken(16),
      approveReplacement: true,
    });
    expect((await appApi("device", { msisdn, deviceId, jws: self })).status).toBe(403);
    const shown = (await (await appRead(phone, "pending")).json()) as {
      replacement: { requestedAt: number };
    };
    const allow = await signCompactJws(phone.keys.privateKey, {
      typ: "edge-mfa/device",
      iat,
      jti: randomToken(16),
      approveReplacement: shown.replacement.requestedAt,
    });
    expect(await (await appApi("device", { msisdn, deviceId: phone.deviceId, jws: allow })).json()).toEqual({
      status: "replacement_approved",
    });
    expect((await claimJoin(joining)).status).toBe(200);
    expect((await env.SUBSCRIBER.getByName(msisdn).devices()).map((d) => d.name)).toEqual(["Phone", "Tablet"]);
    const actions = (await auditRows(since, "actor = 'authenticator-app'")).map((r) => r.action);
    expect(actions).toEqual([
      "app_device_activated",
      "app_device_replacement_requested",
      "app_device_replacement_approved",
      "app_device_replaced",
    ]);
  });

  it("'Allow now' lets only the join the device was shown take effect, not one that replaced it since", async () => {
    const msisdn = freshMsisdn();
    const phone = await activateDevice(msisdn, { name: "Phone" });
    const tablet = await requestActivation(msisdn, { name: "Tablet" });
    await tablet.finish();
    const shown = (await (await appRead(phone, "pending")).json()) as {
      replacement: { requestedAt: number };
    };
    await new Promise((r) => setTimeout(r, 5));
    // Someone else (who saw an activation SMS) joins in the meantime: their join replaces the tablet's.
    const other = await requestActivation(msisdn, { name: "Tablet" });
    expect(other.res.status).toBe(202);
    const { deviceId } = (await other.res.json()) as { deviceId: string };
    await other.finish();
    const iat = Math.floor(Date.now() / 1000);
    const allow = await signCompactJws(phone.keys.privateKey, {
      typ: "edge-mfa/device",
      iat,
      jti: randomToken(16),
      approveReplacement: shown.replacement.requestedAt,
    });
    expect((await appApi("device", { msisdn, deviceId: phone.deviceId, jws: allow })).status).toBe(403);
    // The other join still waits out its window.
    expect((await claimJoin({ ...other.device, deviceId })).status).toBe(409);
    // A bare "allow whatever is pending" is no longer accepted either.
    const bare = await signCompactJws(phone.keys.privateKey, {
      typ: "edge-mfa/device",
      iat,
      jti: randomToken(16),
      approveReplacement: true,
    });
    expect((await appApi("device", { msisdn, deviceId: phone.deviceId, jws: bare })).status).toBe(403);
    expect((await claimJoin({ ...other.device, deviceId })).status).toBe(409);
  });

  it("caps the devices per number with a clear refusal; the token is kept for after a removal", async () => {
    const msisdn = freshMsisdn();
    const first = await activateDevice(msisdn, { name: "One" });
    await joinDevice(msisdn, { name: "Two" });
    await joinDevice(msisdn, { name: "Three" }); // the test config's cap: 3
    // (Activation codes per number are rate-limited: forget the ones sent so far.)
    await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) => s.storage.delete("activationSends"));
    const fourth = await requestActivation(msisdn, { name: "Four" });
    expect(fourth.res.status).toBe(409);
    expect(await fourth.res.json()).toEqual({ error: "device_limit", max: 3 });
    expect(await env.SUBSCRIBER.getByName(msisdn).devices()).toHaveLength(3);
    // With one removed, the same token and code go through (as a join).
    await admin("DELETE", `/subscribers/${encodeURIComponent(msisdn)}/devices/${first.deviceId}`);
    expect((await appApi("activate", fourth.body)).status).toBe(202);
    await fourth.finish();
  });

  it("a number stored in the one-device shape of earlier releases loads, answers, and moves to the new shape", async () => {
    const msisdn = freshMsisdn();
    const d = await activateDevice(msisdn);
    const seed = seedFromBase32(d.seed);
    // Rewrite storage as the earlier release kept it: the device under "device", its step under "totpStep".
    const usedStep = Math.floor(Date.now() / 30_000);
    await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), async (_i, s) => {
      const devices = (await s.storage.get<Record<string, Record<string, unknown>>>("devices"))!;
      const { name: _name, uv: _uv, totpStep: _step, ...legacy } = devices[d.deviceId]!;
      await s.storage.delete("devices");
      await s.storage.put("device", legacy);
      await s.storage.put("totpStep", usedStep);
    });
    const subscriber = env.SUBSCRIBER.getByName(msisdn);
    expect(await subscriber.devices()).toEqual([expect.objectContaining({ deviceId: d.deviceId, name: "Phone", push: true })]);
    // Its stored step still counts: the current code was used.
    expect(await subscriber.verifyTotp(await totpCode(seed, Date.now()))).toBe(false);
    const pending = callAuth(msisdn, APP);
    const challengeId = await waitForPush(d.sub!);
    expect((await answerInApp(d, challengeId)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
    // A second device joins next to it; the old keys are gone, the device kept.
    await joinDevice(msisdn, { name: "Tablet" });
    const stored = await runInDurableObject(subscriber, async (_i, s) => ({
      device: await s.storage.get("device"),
      totpStep: await s.storage.get("totpStep"),
      devices: Object.keys((await s.storage.get<Record<string, unknown>>("devices")) ?? {}).length,
    }));
    expect(stored).toEqual({ device: undefined, totpStep: undefined, devices: 2 });
  });
});
