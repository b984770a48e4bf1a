import { DurableObject } from "cloudflare:workers";
import type { SmsMessage } from "../sms/provider";

export interface OutboxEntry extends SmsMessage {
  sentAt: number;
}

const KEEP = 200;

/** Dev-only store of the SMS messages the "outbox" provider would have sent (newest first). */
export class DevOutbox extends DurableObject<Env> {
  async record(entry: OutboxEntry): Promise<void> {
    const list = ((await this.ctx.storage.get<OutboxEntry[]>("messages")) ?? []).slice(0, KEEP - 1);
    await this.ctx.storage.put("messages", [entry, ...list]);
  }

  async list(to?: string): Promise<OutboxEntry[]> {
    const list = (await this.ctx.storage.get<OutboxEntry[]>("messages")) ?? [];
    return to ? list.filter((m) => m.to === to) : list;
  }
}
