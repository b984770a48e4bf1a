import { zValidator } from "@hono/zod-validator";
import type { Context, ValidationTargets } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { BadRequestReason } from "../../core/codes";
import { loadConfig } from "../config/load";
import { MessagePage } from "../pages/approval";
import { badRequest, refuseUnauthenticated } from "./respond";

/**
 * What a route answers when its input does not validate. Each API keeps its own contract for
 * that, so each renderer below is named for the contract it honours.
 */
export type FailureRenderer = (
  c: Context<{ Bindings: Env }>,
  error: z.core.$ZodError,
  target: keyof ValidationTargets,
) => Response | Promise<Response>;

/** zod validation of one part of the request; a failure is answered by `onFailure`, never by hono's bare 400. */
export function validate<T extends z.ZodType, Target extends keyof ValidationTargets>(
  target: Target,
  schema: T,
  onFailure: FailureRenderer,
) {
  // zValidator types the hook's context without our bindings; every route here has them.
  const validated = zValidator(target, schema, (result, c: Context) => (result.success ? undefined : onFailure(c, result.error, target)));
  if (target !== "form") return validated;
  return (async (c, next) => {
    await cacheUrlencodedForm(c);
    return validated(c, next);
  }) as typeof validated;
}

const URLENCODED = "application/x-www-form-urlencoded";
const BODY_TEXT = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * A urlencoded form (what an HTML form posts) parsed with URLSearchParams into the request's
 * form cache, which hono's form validator reads before parsing the body itself (its own
 * parse wraps the body in a Response to call formData(): more work per link-page answer, #16).
 * The same WHATWG parser either way; every pair is kept, so a repeated field still reaches
 * the schema as a list and is refused. Other content types are left to hono. The body was
 * capped before (bodyCap).
 */
async function cacheUrlencodedForm(c: Context): Promise<void> {
  const type = c.req.header("content-type");
  if (!type || type.split(";", 1)[0]?.trim().toLowerCase() !== URLENCODED) return;
  const cache = c.req.bodyCache as { formData?: Promise<FormData> };
  if (cache.formData) return;
  const form = new FormData();
  // Bytes decoded as the form parser does (UTF-8 without BOM); text() would make workerd warn.
  const body = BODY_TEXT.decode(await c.req.arrayBuffer());
  for (const [name, value] of new URLSearchParams(body)) form.append(name, value);
  cache.formData = Promise.resolve(form);
}

/** A 400 listing what was wrong, field by field (`where` names a field-less issue's target). */
export function invalidRequest(c: Context, error: z.core.$ZodError, where: string) {
  const issues = error.issues.map((i) => `${i.path.join(".") || where}: ${i.message}`);
  return c.json({ error: "invalid request" as const, issues }, 400);
}

/** Admin and relay APIs: 400 {"error":"invalid request","issues":["field: message", ...]}. */
export const issueList: FailureRenderer = (c, error, target) => invalidRequest(c, error, target);

/** App API: 400 {"error": code}, nothing more (the app shows its own message). */
export const jsonError =
  (code: string): FailureRenderer =>
  (c) =>
    c.json({ error: code }, 400);

/** Offline-code API: Mideye's BAD_REQUEST for `reason` (its status, X-MFA-Reason), not audited. */
export const mideyeBadRequest =
  (reason: BadRequestReason): FailureRenderer =>
  (c) =>
    badRequest(c, reason);

/**
 * Magic Link API: bad parameters are checked before the key, so they are refused as an
 * unauthenticated failure (counted per IP, BAD_REQUEST; a bad number is "invalid_msisdn").
 */
export const magicLinkBadRequest: FailureRenderer = (c, error) => {
  const msisdnIssue = error.issues.some((i) => i.path[0] === "msisdn");
  const requested = c.req.param("endpoint") ?? loadConfig(c.env).defaultEndpoint;
  return refuseUnauthenticated(c, {
    requested,
    endpoint: null,
    reason: msisdnIssue ? "invalid_msisdn" : "invalid_parameter",
    msisdn: null,
    latencyMs: 0,
  });
};

/** Link pages: a plain HTML message page. */
export const htmlPage =
  (status: ContentfulStatusCode, title: string, text: string): FailureRenderer =>
  (c) =>
    c.html(<MessagePage title={title} text={text} />, status);
