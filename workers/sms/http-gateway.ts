import { z } from "zod";
import { DeliveryError, basicAuth, describeReply, fetchWithTimeout, readReply, type SmsMessage, type SmsProvider } from "./provider";
import { GatewayUrlSchema } from "./secure-url";

/**
 * Generic HTTP SMS gateway, configured like privacyIDEA's HTTP SMS provider: URL, method,
 * auth, headers, a body template with {phone} {phone_digits} {text} {link}, and a success
 * check (2xx status plus an optional regular expression the response body must match).
 */
export const HttpGatewaySettingsSchema = z.object({
  url: GatewayUrlSchema,
  method: z.enum(["GET", "POST", "PUT"]).default("POST"),
  contentType: z.enum(["application/json", "application/x-www-form-urlencoded", "text/plain"]).default("application/json"),
  /** Body template; placeholders are escaped for the content type (JSON string, form, raw). */
  body: z.string().optional(),
  headers: z.record(z.string(), z.string()).default({}),
  username: z.string().optional(),
  password: z.string().optional(),
  bearerToken: z.string().optional(),
  /** Regular expression the response body must match for the send to count as accepted. */
  successMatch: z.string().optional(),
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
});
export type HttpGatewaySettings = z.infer<typeof HttpGatewaySettingsSchema>;

type Escape = (value: string) => string;
const escapers: Record<HttpGatewaySettings["contentType"] | "url", Escape> = {
  "application/json": (v) => JSON.stringify(v).slice(1, -1),
  "application/x-www-form-urlencoded": encodeURIComponent,
  // A raw body has no escaping: CR/LF (and other control characters) in a value could add
  // lines or fields to whatever format the gateway parses, so they become spaces.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point (they become spaces)
  "text/plain": (v) => v.replace(/[\u0000-\u001f\u007f]/g, " "),
  url: encodeURIComponent,
};

export function renderTemplate(template: string, message: SmsMessage, escapeValue: Escape): string {
  const values: Record<string, string> = {
    phone: message.to,
    phone_digits: message.to.replace(/^\+/, ""),
    text: message.text,
    link: message.link,
  };
  return template.replace(/\{(phone_digits|phone|text|link)\}/g, (_, k: string) => escapeValue(values[k] ?? ""));
}

export class HttpGatewayProvider implements SmsProvider {
  readonly name = "http";
  readonly #successMatch: RegExp | undefined;

  constructor(private readonly settings: HttpGatewaySettings) {
    this.#successMatch = settings.successMatch ? new RegExp(settings.successMatch) : undefined;
  }

  async send(message: SmsMessage): Promise<void> {
    const s = this.settings;
    const headers = new Headers(s.headers);
    if (s.username !== undefined) headers.set("authorization", basicAuth(s.username, s.password ?? ""));
    if (s.bearerToken) headers.set("authorization", `Bearer ${s.bearerToken}`);
    const init: RequestInit = { method: s.method, headers };
    if (s.method !== "GET" && s.body !== undefined) {
      headers.set("content-type", s.contentType);
      init.body = renderTemplate(s.body, message, escapers[s.contentType]);
    }
    const url = renderTemplate(s.url, message, escapers.url);
    const res = await fetchWithTimeout(this.name, url, init, s.timeoutMs);
    const reply = await readReply(res);
    if (!res.ok) throw new DeliveryError(`http: gateway answered ${describeReply(res, reply)}`);
    // The real reply (up to the bound), never a shortened copy: a match late in it counts.
    if (this.#successMatch && !this.#successMatch.test(reply.text)) {
      throw new DeliveryError(`http: reply (${describeReply(res, reply)}) did not match SMS_HTTP_SUCCESS_MATCH`);
    }
  }
}
