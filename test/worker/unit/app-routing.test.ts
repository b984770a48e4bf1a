import { describe, expect, it } from "vitest";
import { isAppUrl, routeFromHash, serverForgotDevice } from "../../../client/app-routing";

const ORIGIN = "https://mfa.example.com";

describe("authenticator app routing decisions", () => {
  it("a notification tap goes to a window showing the app, not any same-origin page", () => {
    expect(isAppUrl(`${ORIGIN}/app/`, ORIGIN)).toBe(true);
    expect(isAppUrl(`${ORIGIN}/app/#c=abc`, ORIGIN)).toBe(true);
    expect(isAppUrl(`${ORIGIN}/m/${"A".repeat(43)}`, ORIGIN)).toBe(false);
    expect(isAppUrl(`${ORIGIN}/dev/outbox`, ORIGIN)).toBe(false);
    expect(isAppUrl(`${ORIGIN}/app/app.js`, ORIGIN)).toBe(false);
    expect(isAppUrl("https://evil.example/app/", ORIGIN)).toBe(false);
    expect(isAppUrl("not a url", ORIGIN)).toBe(false);
  });

  it("the app forgets its device only on the server's unknown_device answer", () => {
    expect(serverForgotDevice(404, { error: "unknown_device" })).toBe(true);
    expect(serverForgotDevice(404, { error: "unknown_challenge" })).toBe(false);
    expect(serverForgotDevice(404, {})).toBe(false); // a proxy's or a misrouted 404
    expect(serverForgotDevice(403, { error: "unknown_device" })).toBe(false);
    expect(serverForgotDevice(429, { error: "rate_limited" })).toBe(false);
  });

  it("the URL fragment routes to an activation only with a well-formed token and a number", () => {
    const token = "t".repeat(43);
    expect(routeFromHash(`#activate=${token}&msisdn=%2B46701234567`)).toEqual({ kind: "activate", msisdn: "+46701234567", token });
    expect(routeFromHash(`#activate=short&msisdn=%2B46701234567`)).toEqual({ kind: "home" });
    expect(routeFromHash(`#activate=${token}`)).toEqual({ kind: "home" });
    expect(routeFromHash(`#c=${token}`)).toEqual({ kind: "challenge", challengeId: token });
    expect(routeFromHash("#c=")).toEqual({ kind: "home" });
    expect(routeFromHash("")).toEqual({ kind: "home" });
  });
});
