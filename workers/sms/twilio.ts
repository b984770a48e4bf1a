import { z } from "zod";
import { DeliveryError, basicAuth, describeReply, fetchWithTimeout, readReply, type SmsMessage, type SmsProvider } from "./provider";
import { GatewayUrlSchema } from "./secure-url";

/** Twilio Programmable Messaging: POST form to Accounts/{sid}/Messages.json, Basic auth. */
export const TwilioSettingsSchema = z
  .object({
    accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, "TWILIO_ACCOUNT_SID looks like AC + 32 hex"),
    authToken: z.string().min(1),
    from: z.string().min(1).optional(),
    messagingServiceSid: z.string().min(1).optional(),
    apiBase: GatewayUrlSchema.default("https://api.twilio.com"),
    timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  })
  .refine((s) => s.from || s.messagingServiceSid, "set SMS_FROM or TWILIO_MESSAGING_SERVICE_SID");
export type TwilioSettings = z.infer<typeof TwilioSettingsSchema>;

export class TwilioProvider implements SmsProvider {
  readonly name = "twilio";
  constructor(private readonly settings: TwilioSettings) {}

  async send(message: SmsMessage): Promise<void> {
    const s = this.settings;
    const form = new URLSearchParams({ To: message.to, Body: message.text });
    if (s.messagingServiceSid) form.set("MessagingServiceSid", s.messagingServiceSid);
    else form.set("From", s.from!);
    const url = `${s.apiBase.replace(/\/$/, "")}/2010-04-01/Accounts/${s.accountSid}/Messages.json`;
    const res = await fetchWithTimeout(
      this.name,
      url,
      { method: "POST", headers: { authorization: basicAuth(s.accountSid, s.authToken) }, body: form },
      s.timeoutMs,
    );
    const reply = await readReply(res);
    if (!res.ok) throw new DeliveryError(`twilio: ${describeReply(res, reply)}`);
    try {
      const status = (JSON.parse(reply.text) as { status?: unknown }).status;
      if (status === "failed" || status === "undelivered") throw new DeliveryError(`twilio: status ${status}`);
    } catch (e) {
      if (e instanceof DeliveryError) throw e;
      throw new DeliveryError(`twilio: unexpected response (${describeReply(res, reply)}, not JSON)`);
    }
  }
}
