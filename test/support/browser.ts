import { chromium, type Browser } from "playwright-core";

/**
 * Debian's Chromium, headless, for the browser tests. The networking flags keep it from
 * reaching for Google services, which this closed network refuses (noisy and slow).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
