import type { SmsMessage, SmsProvider } from "./provider";
import { objectStub } from "../lib/durable-objects";
import { log } from "../lib/log";

/**
 * Dev-only "provider": keeps messages in the DevOutbox Durable Object (shown at /dev/outbox)
 * and prints them to the wrangler dev console, so the flow can be tried without a gateway.
 */
export class OutboxProvider implements SmsProvider {
  readonly name = "outbox";
  constructor(private readonly env: Env) {}

  async send(message: SmsMessage): Promise<void> {
    // Redacted like every log line: the link itself is on /dev/outbox.
    log.info("dev_outbox_sms", { to: message.to, text: message.text });
    await objectStub(this.env, "DEV_OUTBOX", "outbox").record({ ...message, sentAt: Date.now() });
  }
}
