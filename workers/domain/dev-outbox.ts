/** What the "outbox" SMS provider kept instead of sending (DEMO_MODE); `to` filters by number. */
export function outboxMessages(env: Env, to?: string) {
  return env.DEV_OUTBOX.getByName("outbox").list(to);
}
