import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { maskMsisdn } from "../../core/msisdn";
import { activateDevice } from "./support/authenticator-app";
import { freshMsisdn } from "./support/magic-link";
import { CSRF, OPERATOR, adminRows, consoleFetch, consoleGet, consolePost, postFormsCarryCsrf } from "./support/console-app";

/** The console's subscribers page (workers/routes/console/subscribers.tsx): what an operator sees and changes for a number. */

const page = (msisdn: string) => consoleGet(`/admin/subscribers?msisdn=${encodeURIComponent(msisdn)}`);
const SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"; // 20 bytes

describe("lookup", () => {
  it("without a number: the lookup form only", async () => {
    const { status, html } = await consoleGet("/admin/subscribers");
    expect(status).toBe(200);
    expect(html).toContain('name="msisdn"');
    expect(html).not.toContain("App devices");
    expect(html).toContain(OPERATOR);
  });

  it.each(["0701234567", "+46 70 123", "+4670123456789012345", "<script>alert(1)</script>"])(
    "refuses %j with a clear error and shows nothing of any subscriber",
    async (bad) => {
      const { status, html } = await consoleGet(`/admin/subscribers?msisdn=${encodeURIComponent(bad)}`);
      expect(status).toBe(400);
      expect(html).toMatch(/role="alert"[^>]*>Phone number: msisdn must be E.164, e.g. \+46701234567/);
      expect(html).not.toContain("App devices");
      expect(html).not.toContain("<script>alert(1)</script>"); // echoed in the field, escaped
    },
  );

  it("a number with nothing: empty sections, and every POST form carries the CSRF token", async () => {
    const msisdn = freshMsisdn();
    const { status, html } = await page(msisdn);
    expect(status).toBe(200);
    expect(html).toContain(`<h2>${msisdn}</h2>`);
    expect(html).toContain("No activated app devices.");
    expect(html).toContain("No TOTP token enrolled.");
    expect(html).toContain("No RADIUS user is pinned to this number");
    expect(postFormsCarryCsrf(html)).toBe(true);
  });
});

describe("devices", () => {
  it("lists the number's devices; revoke removes one, audited under the operator's name", async () => {
    const msisdn = freshMsisdn();
    const phone = await activateDevice(msisdn, { name: "Work phone" });
    const before = await page(msisdn);
    expect(before.html).toContain(`data-device="${phone.deviceId}"`);
    expect(before.html).toContain("Work phone");
    expect(postFormsCarryCsrf(before.html)).toBe(true);

    const res = await consolePost("/admin/subscribers/devices/revoke", { msisdn, deviceId: phone.deviceId });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/admin/subscribers?msisdn=${encodeURIComponent(msisdn)}&done=revoked`);
    const after = await consoleGet(res.headers.get("location") ?? "");
    expect(after.html).toContain("Device revoked.");
    expect(after.html).not.toContain(`data-device="${phone.deviceId}"`);

    const [row] = await adminRows("device.revoke");
    expect(row).toMatchObject({ actor: OPERATOR, msisdn: maskMsisdn(msisdn) });
    expect(JSON.parse(row?.detail ?? "{}")).toEqual({ deviceId: phone.deviceId, name: "Work phone" });

    // Again: nothing to revoke, nothing audited.
    const count = (await adminRows("device.revoke")).length;
    const again = await consolePost("/admin/subscribers/devices/revoke", { msisdn, deviceId: phone.deviceId });
    expect(again.headers.get("location")).toContain("done=no-device");
    expect(await adminRows("device.revoke")).toHaveLength(count);
  });

  it("a forged field is refused before any change: bad number, empty device id", async () => {
    const bad = await consolePost("/admin/subscribers/devices/revoke", { msisdn: "not-a-number", deviceId: "x" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("msisdn: msisdn must be E.164");
    const msisdn = freshMsisdn();
    const empty = await consolePost("/admin/subscribers/devices/revoke", { msisdn, deviceId: "" });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("deviceId:");
  });
});

describe("lockouts", () => {
  it("clear lockouts is audited even when nothing was locked", async () => {
    const msisdn = freshMsisdn();
    const res = await consolePost("/admin/subscribers/locks/clear", { msisdn, kind: "all" });
    expect(res.headers.get("location")).toContain("done=not-locked");
    const [row] = await adminRows("subscriber.unlock");
    expect(row).toMatchObject({ actor: OPERATOR, msisdn: maskMsisdn(msisdn) });
    expect(JSON.parse(row?.detail ?? "{}")).toEqual({ requested: ["offline", "smsOtp"], cleared: [] });
    expect((await consolePost("/admin/subscribers/locks/clear", { msisdn, kind: "everything" })).status).toBe(400);
  });
});

describe("TOTP tokens", () => {
  it("enrolls from a base32 seed (spaces and lower case tolerated), then removes it; both audited; the seed is never shown", async () => {
    const msisdn = freshMsisdn();
    const grouped = SEED.toLowerCase().replace(/(.{4})/g, "$1 ");
    const res = await consolePost("/admin/subscribers/totp/enroll", { msisdn, secret: grouped });
    expect(res.headers.get("location")).toContain("done=enrolled");
    const after = await page(msisdn);
    expect(after.html).toContain("A TOTP token is enrolled.");
    expect(after.html).not.toContain(SEED);
    expect((await adminRows("totp.enroll"))[0]).toMatchObject({ actor: OPERATOR, msisdn: maskMsisdn(msisdn) });

    const removed = await consolePost("/admin/subscribers/totp/remove", { msisdn });
    expect(removed.headers.get("location")).toContain("done=totp-removed");
    expect((await page(msisdn)).html).toContain("No TOTP token enrolled.");
    expect((await adminRows("totp.remove"))[0]).toMatchObject({ actor: OPERATOR, msisdn: maskMsisdn(msisdn) });
    expect((await consolePost("/admin/subscribers/totp/remove", { msisdn })).headers.get("location")).toContain("done=no-totp");
  });

  it.each([
    ["not base32", "THIS-IS-NOT-BASE32!", "the seed must be base32"],
    ["too short", "JBSWY3DPEHPK3PXP", "the seed must decode to 16-64 bytes"],
  ])("refuses a seed that is %s, without echoing it or enrolling", async (_what, secret, message) => {
    const msisdn = freshMsisdn();
    const enrolled = (await adminRows("totp.enroll")).length;
    const res = await consolePost("/admin/subscribers/totp/enroll", { msisdn, secret });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain(`secret: ${message}`);
    expect(html).not.toContain(secret);
    expect(html).toContain("No TOTP token enrolled.");
    expect(await adminRows("totp.enroll")).toHaveLength(enrolled);
  });
});

describe("RADIUS number pins", () => {
  async function pin(username: string, msisdn: string, pending: string | null) {
    await env.DB.prepare(
      "INSERT INTO relay_pins (endpoint, username, msisdn, pinned_at, pending_msisdn, pending_at) VALUES ('default', ?, ?, ?, ?, ?)",
    )
      .bind(username, msisdn, Date.now() - 86_400_000, pending, pending ? Date.now() : null)
      .run();
  }
  const pinOf = (username: string) =>
    env.DB.prepare("SELECT msisdn, pending_msisdn FROM relay_pins WHERE endpoint = 'default' AND username = ?")
      .bind(username)
      .first<{ msisdn: string; pending_msisdn: string | null }>();

  it("lists the pins that hold the number (pinned or pending); confirm takes only the pending number shown", async () => {
    const old = freshMsisdn();
    const fresh = freshMsisdn();
    const user = `u-${crypto.randomUUID().slice(0, 8)}`;
    await pin(user, old, fresh);

    for (const number of [old, fresh]) {
      const { html } = await page(number);
      expect(html).toContain(`data-pin="default/${user}"`);
      expect(html).toContain("Confirm change");
    }

    // The page showed `fresh`; a form claiming another pending number changes nothing.
    const stale = await consolePost("/admin/subscribers/pins/confirm", {
      msisdn: fresh,
      endpoint: "default",
      username: user,
      pending: old,
    });
    expect(stale.headers.get("location")).toContain("done=pending-changed");
    expect(await pinOf(user)).toEqual({ msisdn: old, pending_msisdn: fresh });

    const ok = await consolePost("/admin/subscribers/pins/confirm", { msisdn: fresh, endpoint: "default", username: user, pending: fresh });
    expect(ok.headers.get("location")).toContain("done=confirmed");
    expect(await pinOf(user)).toEqual({ msisdn: fresh, pending_msisdn: null });
    const [row] = await adminRows("relay_pin.confirm");
    expect(row).toMatchObject({ actor: OPERATOR, msisdn: maskMsisdn(fresh) });
    expect(JSON.parse(row?.detail ?? "{}")).toEqual({ username: user, previous: maskMsisdn(old) });
    expect((await page(old)).html).not.toContain(`data-pin="default/${user}"`);
  });

  it("cancel withdraws the pending number, remove deletes the pin; both audited", async () => {
    const number = freshMsisdn();
    const other = freshMsisdn();
    const user = `u-${crypto.randomUUID().slice(0, 8)}`;
    await pin(user, number, other);
    const fields = { msisdn: number, endpoint: "default", username: user };

    expect((await consolePost("/admin/subscribers/pins/cancel", fields)).headers.get("location")).toContain("done=cancelled");
    expect(await pinOf(user)).toEqual({ msisdn: number, pending_msisdn: null });
    expect((await adminRows("relay_pin.cancel_change"))[0]).toMatchObject({ actor: OPERATOR, msisdn: maskMsisdn(other) });
    expect((await consolePost("/admin/subscribers/pins/cancel", fields)).headers.get("location")).toContain("done=no-pending");

    expect((await consolePost("/admin/subscribers/pins/remove", fields)).headers.get("location")).toContain("done=pin-removed");
    expect(await pinOf(user)).toBeNull();
    expect((await adminRows("relay_pin.remove"))[0]).toMatchObject({ actor: OPERATOR, msisdn: maskMsisdn(number) });
    expect((await consolePost("/admin/subscribers/pins/remove", fields)).headers.get("location")).toContain("done=no-pin");
  });

  it("refuses a malformed endpoint name", async () => {
    const res = await consolePost("/admin/subscribers/pins/remove", { msisdn: freshMsisdn(), endpoint: "bad name'", username: "x" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("endpoint: endpoint names are");
  });
});

it("notices are a fixed set: an unknown one shows nothing", async () => {
  const msisdn = freshMsisdn();
  const { html } = await consoleGet(`/admin/subscribers?msisdn=${encodeURIComponent(msisdn)}&done=${encodeURIComponent("<b>pwned</b>")}`);
  expect(html).not.toContain("pwned");
  expect(html).not.toContain('role="status"');
});

it("a POST that is not a form changes nothing", async () => {
  const res = await consoleFetch("/admin/subscribers/devices/revoke", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ msisdn: freshMsisdn(), deviceId: "x", _csrf: CSRF }),
  });
  expect(res.status).toBe(400);
  expect(await res.text()).toContain("msisdn:");
});
