import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ElksProvider, ElksSettingsSchema } from "../../workers/sms/elks";
import { smsProviderFromEnv } from "../../workers/sms/from-env";
import { HttpGatewayProvider, HttpGatewaySettingsSchema, renderTemplate } from "../../workers/sms/http-gateway";
import { DeliveryError } from "../../workers/sms/provider";
import { TwilioProvider, TwilioSettingsSchema } from "../../workers/sms/twilio";
import { freshMsisdn, gatewayRequests } from "./support/magic-link";

const gw = env.TEST_GATEWAY_URL;
const message = (to: string) => ({ to, text: 'Log in "now" & then\nhttps://x/m/abc', link: "https://x/m/abc" });

describe("generic HTTP gateway", () => {
  it("renders placeholders escaped for the target (JSON, form, URL)", () => {
    const m = message("+46701234567");
    expect(renderTemplate('{"t":"{text}"}', m, (v) => JSON.stringify(v).slice(1, -1))).toBe(
      '{"t":"Log in \\"now\\" & then\\nhttps://x/m/abc"}',
    );
    expect(renderTemplate("to={phone_digits}&l={link}", m, encodeURIComponent)).toBe("to=46701234567&l=https%3A%2F%2Fx%2Fm%2Fabc");
  });

  it("POSTs a form body with basic auth", async () => {
    const to = freshMsisdn();
    const p = new HttpGatewayProvider(
      HttpGatewaySettingsSchema.parse({
        url: `${gw}/form-gw`,
        contentType: "application/x-www-form-urlencoded",
        body: "to={phone}&message={text}",
        username: "user",
        password: "pässword",
      }),
    );
    await p.send(message(to));
    const [r] = await gatewayRequests(to);
    expect(r!.path).toBe("/form-gw");
    expect(r!.text).toBe(message(to).text);
    expect(r!.headers.authorization).toBe(`Basic ${btoa(String.fromCharCode(...new TextEncoder().encode("user:pässword")))}`);
  });

  it("sends GET requests with the message in the URL and custom headers", async () => {
    const to = freshMsisdn();
    const p = new HttpGatewayProvider(
      HttpGatewaySettingsSchema.parse({
        url: `${gw}/get-gw?to={phone}&text={text}`,
        method: "GET",
        headers: { "x-api-key": "k1" },
      }),
    );
    await p.send(message(to));
    const [r] = await gatewayRequests(to);
    expect(r!.method).toBe("GET");
    expect(r!.text).toBe(message(to).text);
    expect(r!.headers["x-api-key"]).toBe("k1");
  });

  it("fails on non-2xx, on a body that misses successMatch, and on timeout", async () => {
    const settings = { url: `${gw}/sms`, body: '{"to":"{phone}","message":"{text}"}', timeoutMs: 300 };
    const plain = new HttpGatewayProvider(HttpGatewaySettingsSchema.parse(settings));
    await expect(plain.send(message(freshMsisdn("0000")))).rejects.toThrow(/503/);
    await expect(plain.send(message(freshMsisdn("0001")))).rejects.toThrow(/timed out after 300 ms/);
    await expect(plain.send(message(freshMsisdn("0002")))).resolves.toBeUndefined(); // 200 is success without a match
    const strict = new HttpGatewayProvider(HttpGatewaySettingsSchema.parse({ ...settings, successMatch: '"status":"created"' }));
    await expect(strict.send(message(freshMsisdn("0002")))).rejects.toBeInstanceOf(DeliveryError);
    await expect(strict.send(message(freshMsisdn()))).resolves.toBeUndefined();
  });

  it("fails cleanly when the gateway cannot be reached", async () => {
    const p = new HttpGatewayProvider(HttpGatewaySettingsSchema.parse({ url: "http://127.0.0.1:9/sms", timeoutMs: 1000 }));
    await expect(p.send(message(freshMsisdn()))).rejects.toBeInstanceOf(DeliveryError);
  });
});

describe("gateway egress rules", () => {
  const json = { body: '{"to":"{phone}","message":"{text}"}' };

  it("never follows a redirect: a 3xx is a failed delivery and nothing reaches the new location", async () => {
    const to = freshMsisdn("0004");
    const p = new HttpGatewayProvider(HttpGatewaySettingsSchema.parse({ url: `${gw}/sms`, ...json }));
    await expect(p.send(message(to))).rejects.toThrow(/302.*redirects are not followed/);
    expect((await gatewayRequests(to)).map((r) => r.path)).toEqual(["/sms"]);
  });

  it("applies SMS_HTTP_SUCCESS_MATCH to the real reply, not a shortened copy", async () => {
    const p = new HttpGatewayProvider(HttpGatewaySettingsSchema.parse({ url: `${gw}/sms`, ...json, successMatch: '"status":"created"}$' }));
    await expect(p.send(message(freshMsisdn("0005")))).resolves.toBeUndefined();
  });

  it("errors name the status and size of the reply, never its text (which echoes the link)", async () => {
    const to = freshMsisdn("0003");
    for (const p of [
      new HttpGatewayProvider(HttpGatewaySettingsSchema.parse({ url: `${gw}/sms`, ...json })),
      new ElksProvider(ElksSettingsSchema.parse({ username: "u", password: "p", from: "Me", apiUrl: `${gw}/a1/sms` })),
      new TwilioProvider(
        TwilioSettingsSchema.parse({ accountSid: `AC${"0".repeat(32)}`, authToken: "t", from: "+15005550006", apiBase: gw }),
      ),
    ]) {
      const err = await p.send(message(to)).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err!.message).toMatch(/500, \d+ bytes/);
      expect(err!.message).not.toContain("/m/abc");
      expect(err!.message).not.toContain("Log in");
    }
  });

  it("requires https for gateway and provider URLs; plain http only to loopback", () => {
    const http = "http://sms.example.com/send";
    expect(HttpGatewaySettingsSchema.safeParse({ url: http }).success).toBe(false);
    expect(ElksSettingsSchema.safeParse({ username: "u", password: "p", from: "Me", apiUrl: http }).success).toBe(false);
    expect(
      TwilioSettingsSchema.safeParse({ accountSid: `AC${"0".repeat(32)}`, authToken: "t", from: "x", apiBase: "http://api.example.com" })
        .success,
    ).toBe(false);
    for (const url of ["https://sms.example.com/send", "http://127.0.0.1:8080/sms", "http://localhost/sms", "http://[::1]:81/sms"]) {
      expect(HttpGatewaySettingsSchema.safeParse({ url }).success, url).toBe(true);
    }
    expect(HttpGatewaySettingsSchema.safeParse({ url: "http://127.0.0.1.example.com/sms" }).success).toBe(false);
    // Loopback to a browser, but a caller asks DNS for it: the SMS (and its link) could leave in clear.
    expect(HttpGatewaySettingsSchema.safeParse({ url: "http://sms.localhost/send" }).success).toBe(false);
  });

  it("text/plain bodies get no CR/LF or other control characters from the values", async () => {
    const to = freshMsisdn();
    const p = new HttpGatewayProvider(
      HttpGatewaySettingsSchema.parse({ url: `${gw}/plain?to={phone}`, contentType: "text/plain", body: "{text}\r\nX-Injected: {phone}" }),
    );
    await p.send({ ...message(to), text: "Line one\r\nX-Injected: yes\u0000" });
    const [r] = await gatewayRequests(to);
    expect(r!.body).toBe(`Line one  X-Injected: yes \r\nX-Injected: ${to}`);
  });
});

describe("46elks", () => {
  it("POSTs from/to/message as a form with basic auth", async () => {
    const to = freshMsisdn();
    const p = new ElksProvider(ElksSettingsSchema.parse({ username: "u123", password: "p456", from: "EdgeMFA", apiUrl: `${gw}/a1/sms` }));
    await p.send(message(to));
    const [r] = await gatewayRequests(to);
    const form = new URLSearchParams(r!.body);
    expect(form.get("from")).toBe("EdgeMFA");
    expect(form.get("message")).toBe(message(to).text);
    expect(r!.headers.authorization).toBe(`Basic ${btoa("u123:p456")}`);
    await expect(p.send(message(freshMsisdn("0002")))).rejects.toThrow(/status failed/);
    await expect(p.send(message(freshMsisdn("0000")))).rejects.toThrow(/503/);
  });
});

describe("Twilio", () => {
  it("POSTs To/From/Body to the account's Messages.json", async () => {
    const to = freshMsisdn();
    const sid = `AC${"0123456789abcdef".repeat(2)}`;
    const p = new TwilioProvider(TwilioSettingsSchema.parse({ accountSid: sid, authToken: "tok", from: "+15005550006", apiBase: gw }));
    await p.send(message(to));
    const [r] = await gatewayRequests(to);
    expect(r!.path).toBe(`/2010-04-01/Accounts/${sid}/Messages.json`);
    const form = new URLSearchParams(r!.body);
    expect(form.get("From")).toBe("+15005550006");
    expect(form.get("Body")).toBe(message(to).text);
    expect(r!.headers.authorization).toBe(`Basic ${btoa(`${sid}:tok`)}`);
  });
  it("validates its settings", () => {
    expect(TwilioSettingsSchema.safeParse({ accountSid: "nope", authToken: "t", from: "x" }).success).toBe(false);
    expect(TwilioSettingsSchema.safeParse({ accountSid: `AC${"0".repeat(32)}`, authToken: "t" }).success).toBe(false);
  });
});

describe("provider selection from env", () => {
  it("builds the configured adapter and explains misconfiguration", () => {
    expect(smsProviderFromEnv(env).name).toBe("http");
    expect(
      smsProviderFromEnv({ ...env, SMS_PROVIDER: "46elks", ELKS_API_USERNAME: "u", ELKS_API_PASSWORD: "p", SMS_FROM: "Me" } as Env).name,
    ).toBe("46elks");
    expect(() => smsProviderFromEnv({ ...env, SMS_PROVIDER: "46elks" } as Env)).toThrow(/46elks" misconfigured/);
    expect(() => smsProviderFromEnv({ ...env, SMS_PROVIDER: "carrier-pigeon" } as Env)).toThrow(/must be one of/);
    expect(() => smsProviderFromEnv({ ...env, SMS_PROVIDER: "outbox", DEMO_MODE: "false" } as Env)).toThrow(/DEMO_MODE/);
    expect(() => smsProviderFromEnv({ ...env, SMS_HTTP_HEADERS: "{bad" } as Env)).toThrow(/SMS_HTTP_HEADERS is not valid JSON/);
  });
});
