import type { VapidKeys } from "../config/app-secrets";
import type { PushSubscriptionJson } from "../../core/contracts/app-api";
import { type PushOptions, type PushResult, sendWebPush } from "./web-push";

/** One device's push subscription. */
export interface PushDevice {
  deviceId: string;
  subscription: PushSubscriptionJson;
}

export type SendPush = typeof sendWebPush;

/** Sends the same data to each device, in parallel; each device's outcome (see sendWebPush). */
export function pushToDevices(
  devices: readonly PushDevice[],
  data: Record<string, string>,
  vapid: VapidKeys,
  options: PushOptions,
  send: SendPush = sendWebPush,
): Promise<Array<{ deviceId: string; result: PushResult }>> {
  return Promise.all(
    devices.map(async ({ deviceId, subscription }) => ({ deviceId, result: await send(subscription, data, vapid, options) })),
  );
}
