import { env } from "cloudflare:workers";
import type { ReceivedPush } from "../support/fake-push-service";

export type FakeSubscription = { id: string; endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };

/** A subscription at the fake push service; `mode` picks how it answers pushes. */
export async function subscribe(mode: "ok" | "gone" | "missing" | "fail" = "ok"): Promise<FakeSubscription> {
  const res = await fetch(`${env.TEST_PUSH_URL}/_subscribe?mode=${mode}`, { method: "POST" });
  return (await res.json()) as FakeSubscription;
}

/** What the fake push service received (and decrypted) for a subscription. */
export async function pushMessages(subId: string): Promise<ReceivedPush[]> {
  const res = await fetch(`${env.TEST_PUSH_URL}/_messages?sub=${subId}`);
  return (await res.json()) as ReceivedPush[];
}
