import { z } from "zod";
import { ElksProvider, ElksSettingsSchema } from "./elks";
import { HttpGatewayProvider, HttpGatewaySettingsSchema } from "./http-gateway";
import { OutboxProvider } from "./outbox";
import type { SmsProvider } from "./provider";
import { TwilioProvider, TwilioSettingsSchema } from "./twilio";

export class SmsConfigError extends Error {
  override name = "SmsConfigError";
}

/** Numbers and JSON arrive as strings from vars/secrets; parse them before validation. */
const num = (v: unknown) => (v === undefined || v === "" ? undefined : Number(v));
const json = (name: string, v: unknown) => {
  if (v === undefined || v === "") return undefined;
  try {
    return JSON.parse(String(v));
  } catch {
    throw new SmsConfigError(`${name} is not valid JSON`);
  }
};
const opt = (v: unknown) => (v === undefined || v === "" ? undefined : v);

function parse<T extends z.ZodType>(schema: T, provider: string, input: unknown): z.output<T> {
  const r = schema.safeParse(input);
  if (!r.success) throw new SmsConfigError(`SMS provider "${provider}" misconfigured: ${z.prettifyError(r.error)}`);
  return r.data;
}

/**
 * Builds the configured SMS adapter from vars and secrets (`wrangler secret put` in
 * production, `.dev.vars` locally). Throws SmsConfigError with a readable reason.
 */
export function smsProviderFromEnv(env: Env): SmsProvider {
  const e = env as unknown as Record<string, unknown>;
  const kind = env.SMS_PROVIDER || (env.DEMO_MODE === "true" ? "outbox" : "");
  const timeoutMs = num(e.SMS_TIMEOUT_MS);
  switch (kind) {
    case "http":
      return new HttpGatewayProvider(
        parse(HttpGatewaySettingsSchema, kind, {
          url: e.SMS_HTTP_URL,
          method: opt(e.SMS_HTTP_METHOD),
          contentType: opt(e.SMS_HTTP_CONTENT_TYPE),
          body: opt(e.SMS_HTTP_BODY),
          headers: json("SMS_HTTP_HEADERS", e.SMS_HTTP_HEADERS),
          username: opt(e.SMS_HTTP_USERNAME),
          password: opt(e.SMS_HTTP_PASSWORD),
          bearerToken: opt(e.SMS_HTTP_BEARER_TOKEN),
          successMatch: opt(e.SMS_HTTP_SUCCESS_MATCH),
          timeoutMs,
        }),
      );
    case "46elks":
      return new ElksProvider(
        parse(ElksSettingsSchema, kind, {
          username: e.ELKS_API_USERNAME,
          password: e.ELKS_API_PASSWORD,
          from: e.SMS_FROM,
          apiUrl: opt(e.ELKS_API_URL),
          timeoutMs,
        }),
      );
    case "twilio":
      return new TwilioProvider(
        parse(TwilioSettingsSchema, kind, {
          accountSid: e.TWILIO_ACCOUNT_SID,
          authToken: e.TWILIO_AUTH_TOKEN,
          from: opt(e.SMS_FROM),
          messagingServiceSid: opt(e.TWILIO_MESSAGING_SERVICE_SID),
          apiBase: opt(e.TWILIO_API_BASE),
          timeoutMs,
        }),
      );
    case "outbox":
      if (env.DEMO_MODE !== "true") {
        throw new SmsConfigError('SMS_PROVIDER "outbox" only works with DEMO_MODE=true (it sends nothing)');
      }
      return new OutboxProvider(env);
    default:
      throw new SmsConfigError(`SMS_PROVIDER must be one of http, 46elks, twilio, outbox (got "${kind}")`);
  }
}
