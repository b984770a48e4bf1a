import { describe, expect, it } from "vitest";
import { answer, callAuth, freshMsisdn, openLink, waitForLink } from "./helpers";

describe("spike", () => {
  it("accepts", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn);
    const link = await waitForLink(msisdn);
    const page = await openLink(link);
    expect(page.res.status).toBe(200);
    const res = await answer(link, "accept", page.csrf!);
    expect(res.status).toBe(200);
    const api = await pending;
    expect(await api.json()).toEqual({ code: "TOUCH_ACCEPTED" });
  });
});
