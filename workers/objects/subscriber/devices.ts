/**
 * The number's devices (phone, tablet, ...), each with its own key, push subscription, seed,
 * name and user-verification credential. Stored under "devices"; a number activated before
 * several devices per number has its one device under "device" (and its TOTP step under
 * "totpStep"): it loads as a one-device map and moves to "devices" at the next write.
 */
import { UNNAMED_DEVICE } from "../../../core/device-activation";
import { timingSafeEqualString } from "../../../core/tokens";
import type { DeviceInfo } from "./contract";
import type { DeviceRecord, SubscriberStore } from "./store";

export type Devices = Record<string, DeviceRecord>;

/** The number's devices, from the current key or the single-device shape of earlier releases. */
export async function loadDevices(store: SubscriberStore): Promise<Devices> {
  const devices = await store.get("devices");
  if (devices) return devices;
  const legacy = await store.get("device");
  if (!legacy) return {};
  const step = await store.get("totpStep");
  return { [legacy.id]: step === undefined ? legacy : { ...legacy, totpStep: step } };
}

/** Stores the devices in the current shape; the single-device keys go. */
export async function saveDevices(store: SubscriberStore, devices: Devices): Promise<void> {
  await store.put("devices", devices);
  await store.delete(["device", "totpStep"]);
}

/** The device whose id is `deviceId` (compared in constant time against each), or null. */
export async function findDevice(devices: Devices, deviceId: string): Promise<DeviceRecord | null> {
  let found: DeviceRecord | null = null;
  for (const device of Object.values(devices)) {
    if (await timingSafeEqualString(device.id, deviceId)) found = device;
  }
  return found;
}

/** The number's device `deviceId`, or null. */
export async function deviceById(store: SubscriberStore, deviceId: string): Promise<DeviceRecord | null> {
  return findDevice(await loadDevices(store), deviceId);
}

export function deviceName(device: Pick<DeviceRecord, "name">): string {
  return device.name ?? UNNAMED_DEVICE;
}

/** Public facts about a device (never its seed, key or credential). */
export function deviceInfo(device: DeviceRecord): DeviceInfo {
  return {
    deviceId: device.id,
    name: deviceName(device),
    push: device.subscription !== null,
    userVerification: !!device.uv,
    activatedAt: device.activatedAt,
  };
}

/** The devices, oldest first. */
export function deviceList(devices: Devices): DeviceRecord[] {
  return Object.values(devices).sort((a, b) => a.activatedAt - b.activatedAt);
}
