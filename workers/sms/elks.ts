import { z } from "zod";
import { DeliveryError, basicAuth, bodyText, fetchWithTimeout, type SmsMessage, type SmsProvider } from "./provider";

/** 46elks (Swedish SMS operator): POST form to /a1/sms with HTTP Basic auth. */
export const ElksSettingsSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  from: z.string().min(1).max(15),
  apiUrl: z.url().default("https://api.46elks.com/a1/sms"),
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
});
export type ElksSettings = z.infer<typeof ElksSettingsSchema>;

export class ElksProvider implements SmsProvider {
  readonly name = "46elks";
  constructor(private readonly settings: ElksSettings) {}

  async send(message: SmsMessage): Promise<void> {
    const s = this.settings;
    const res = await fetchWithTimeout(
      this.name,
      s.apiUrl,
      {
        method: "POST",
        headers: { authorization: basicAuth(s.username, s.password) },
        body: new URLSearchParams({ from: s.from, to: message.to, message: message.text }),
      },
      s.timeoutMs,
    );
    const text = await bodyText(res);
    if (!res.ok) throw new DeliveryError(`46elks: ${res.status}: ${text}`);
    let status: unknown;
    try {
      status = (JSON.parse(text) as { status?: unknown }).status;
    } catch {
      throw new DeliveryError(`46elks: unexpected response: ${text}`);
    }
    if (status === "failed") throw new DeliveryError(`46elks: message status failed: ${text}`);
  }
}
