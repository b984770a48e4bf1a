import { objectStub } from "../lib/durable-objects";

/** What the "outbox" SMS provider kept instead of sending (DEMO_MODE); `to` filters by number. */
export function outboxMessages(env: Env, to?: string) {
  return objectStub(env, "DEV_OUTBOX", "outbox").list(to);
}
