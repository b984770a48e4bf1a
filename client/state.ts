/**
 * The app's state in memory, in one place. Importers read these bindings (ES module bindings
 * are read-only outside this file) and change them only through the functions here:
 * - `view`: the screen shown; set by `show` in ui.ts only.
 * - `device`: this phone's device; set at start (app.ts), on activation and on a claim
 *   (activation.ts), cleared by `forgetDevice` when the edge or the user removes it.
 * - `openChallengeId`: set and cleared by challenge.ts only.
 * - the screen timers: the home and waiting screens start them; leaving those screens
 *   (`show`) or forgetting the device stops them.
 */
import { clearDevice, saveDevice, type StoredDevice } from "./device-store";

/** The app's screens: each is a `view-<name>` section of the page shell. */
export const VIEWS = ["loading", "activate", "waiting", "none", "requested", "home", "challenge", "result"] as const;
export type View = (typeof VIEWS)[number];

export let view: View = "loading";
export let device: StoredDevice | undefined;
/** The challenge on screen, so a repeated push or poll does not reload it. */
export let openChallengeId: string | null = null;
let timers: number[] = [];

export function setView(next: View): void {
  view = next;
}

/** The device loaded at start (undefined when none is stored or storage fails). */
export function setLoadedDevice(loaded: StoredDevice | undefined): void {
  device = loaded;
}

/** Keeps the device in memory, then in IndexedDB. */
export async function rememberDevice(next: StoredDevice): Promise<void> {
  device = next;
  await saveDevice(next);
}

export async function forgetDevice(): Promise<void> {
  await clearDevice();
  device = undefined;
  stopTimers();
}

export function setOpenChallenge(challengeId: string | null): void {
  openChallengeId = challengeId;
}

export function startTimer(callback: () => void, ms: number): void {
  timers.push(window.setInterval(callback, ms));
}

export function stopTimers(): void {
  for (const timer of timers) clearInterval(timer);
  timers = [];
}
