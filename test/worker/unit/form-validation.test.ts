import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { validate } from "../../../workers/routes/validate";

/**
 * Form validation as the link pages and the reset portal use it (`validate("form", …)`): a
 * urlencoded form is parsed with URLSearchParams before hono's validator (which would wrap the
 * body in a Response to parse it), with the same answers as hono's own parse.
 */
const Form = z.object({ decision: z.enum(["accept", "reject"]), csrf: z.string().min(1), note: z.string().optional() });

function formApp() {
  const app = new Hono();
  app.post(
    "/",
    validate("form", Form, (c, error) => c.json({ refused: error.issues.map((i) => i.path.join(".")) }, 400)),
    (c) => c.json(c.req.valid("form")),
  );
  return app;
}

const post = (body: BodyInit, type?: string) =>
  formApp().request("/", { method: "POST", body, headers: type ? { "content-type": type } : {} });

afterEach(() => vi.restoreAllMocks());

describe("validate('form')", () => {
  it("parses a urlencoded form without hono's Response round trip, decoding as the form parser does", async () => {
    const viaResponse = vi.spyOn(Response.prototype, "formData");
    const res = await post("decision=accept&csrf=a%2Bb+c&note=%C3%A5%20%F0%9F%98%80", "application/x-www-form-urlencoded");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ decision: "accept", csrf: "a+b c", note: "å 😀" });
    expect(viaResponse).not.toHaveBeenCalled();
  });

  it("takes the media type whatever its case and parameters", async () => {
    const res = await post("decision=reject&csrf=x", "Application/X-WWW-Form-Urlencoded; charset=UTF-8");
    expect(await res.json()).toEqual({ decision: "reject", csrf: "x" });
  });

  it("refuses a repeated field (a list reaches the schema) and a missing one", async () => {
    const twice = await post("decision=accept&decision=reject&csrf=x", "application/x-www-form-urlencoded");
    expect(twice.status).toBe(400);
    expect(await twice.json()).toEqual({ refused: ["decision"] });
    const missing = await post("decision=accept", "application/x-www-form-urlencoded");
    expect(await missing.json()).toEqual({ refused: ["csrf"] });
  });

  it("still takes multipart forms through hono's parse, and refuses a body that is no form", async () => {
    const form = new FormData();
    form.append("decision", "accept");
    form.append("csrf", "m");
    const multipart = await formApp().request("/", { method: "POST", body: form });
    expect(await multipart.json()).toEqual({ decision: "accept", csrf: "m" });
    const json = await post(JSON.stringify({ decision: "accept", csrf: "j" }), "application/json");
    expect(json.status).toBe(400);
  });
});
