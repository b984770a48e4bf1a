import { Hono } from "hono";
import { generateSecret, generateURI } from "otplib";
import { z } from "zod";
import { isAdmin } from "../lib/admin-auth";
import { MsisdnSchema } from "../lib/auth-params";
import { encryptSeed } from "../lib/seed-crypto";
import { validated } from "./validate";

/** Operator API (bearer admin token). */
export const adminApi = new Hono<{ Bindings: Env }>();

adminApi.use("/admin/v1/*", async (c, next) => {
  if (!(await isAdmin(c.env, c.req.header("authorization")))) return c.json({ error: "unauthorized" }, 401);
  await next();
});

const MsisdnParam = z.object({ msisdn: MsisdnSchema });
const Base32 = z.string().regex(/^[A-Z2-7]{16,128}=*$/, "secret must be base32 (A-Z, 2-7), at least 16 characters");

/**
 * Enrolls an on-prem TOTP token for a number: a new seed is generated (or an existing
 * hardware token's seed imported) and stored encrypted. The seed is returned once, with an
 * otpauth:// URI for authenticator apps; it cannot be read back later.
 */
adminApi.put(
  "/admin/v1/subscribers/:msisdn/totp",
  validated("param", MsisdnParam),
  validated("json", z.object({ secret: Base32.optional() })),
  async (c) => {
    const { msisdn } = c.req.valid("param");
    const secret = c.req.valid("json").secret ?? generateSecret();
    await c.env.SUBSCRIBER.getByName(msisdn).setTotpToken(await encryptSeed(c.env, secret, msisdn));
    console.log(JSON.stringify({ event: "admin", action: "totp_enroll", msisdn: msisdn.slice(0, 4) + "…" }));
    return c.json({ msisdn, secret, uri: generateURI({ issuer: "Edge MFA", label: msisdn, secret }) }, 201);
  },
);

adminApi.delete("/admin/v1/subscribers/:msisdn/totp", validated("param", MsisdnParam), async (c) => {
  const { msisdn } = c.req.valid("param");
  const removed = await c.env.SUBSCRIBER.getByName(msisdn).removeTotpToken();
  console.log(JSON.stringify({ event: "admin", action: "totp_remove", msisdn: msisdn.slice(0, 4) + "…" }));
  return removed ? c.body(null, 204) : c.json({ error: "no TOTP token enrolled" }, 404);
});
