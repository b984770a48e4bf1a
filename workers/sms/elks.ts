import { z } from "zod";
import { DeliveryError, basicAuth, describeReply, fetchWithTimeout, readReply, type SmsMessage, type SmsProvider } from "./provider";
import { GatewayUrlSchema } from "./secure-url";

/** 46elks (Swedish SMS operator): POST form to /a1/sms with HTTP Basic auth. */
export const ElksSettingsSchema = z.object({
  username: z.string().min(1),
  password: z.string().min(1),
  from: z.string().min(1).max(15),
  apiUrl: GatewayUrlSchema.default("https://api.46elks.com/a1/sms"),
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
    const reply = await readReply(res);
    if (!res.ok) throw new DeliveryError(`46elks: ${describeReply(res, reply)}`);
    let status: unknown;
    try {
      status = (JSON.parse(reply.text) as { status?: unknown }).status;
    } catch {
      throw new DeliveryError(`46elks: unexpected response (${describeReply(res, reply)}, not JSON)`);
    }
    if (status === "failed") throw new DeliveryError("46elks: message status failed");
  }
}
