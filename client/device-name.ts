/**
 * The name the app proposes for this device at activation, from the browser's user agent
 * ("Chrome on Android"); the user can change it. Pure, unit-tested in
 * test/worker/unit/device-name.test.ts.
 */
import { DEVICE_NAME_PATTERN, MAX_DEVICE_NAME } from "../core/contracts/device-name";

const PLATFORMS: Array<[RegExp, string]> = [
  [/iPad/, "iPad"],
  [/iPhone/, "iPhone"],
  [/Android/, "Android"],
  [/Windows/, "Windows"],
  [/Mac OS X|Macintosh/, "Mac"],
  [/CrOS/, "Chromebook"],
  [/Linux/, "Linux"],
];
const BROWSERS: Array<[RegExp, string]> = [
  [/Edg\//, "Edge"],
  [/SamsungBrowser\//, "Samsung Internet"],
  [/Firefox\/|FxiOS\//, "Firefox"],
  [/Chrome\/|CriOS\//, "Chrome"],
  [/Safari\//, "Safari"],
];

export function defaultDeviceName(userAgent: string): string {
  const platform = PLATFORMS.find(([re]) => re.test(userAgent))?.[1];
  const browser = BROWSERS.find(([re]) => re.test(userAgent))?.[1];
  const name = platform && browser ? `${browser} on ${platform}` : (platform ?? browser ?? "My device");
  return name.slice(0, MAX_DEVICE_NAME);
}

/** The name as typed, trimmed; empty or too long or with control characters: null. */
export function cleanDeviceName(typed: string): string | null {
  const name = typed.trim();
  return name.length <= MAX_DEVICE_NAME && DEVICE_NAME_PATTERN.test(name) ? name : null;
}
