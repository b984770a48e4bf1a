import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { DEVICE_MAX_AGE_MS } from "../../domain/console-device";
import { ABSOLUTE_MS } from "../../domain/console-session";

/**
 * The console's cookies, both `__Host-` (Secure, Path=/, no Domain: no subdomain can set or
 * read them), HttpOnly and SameSite=Strict. The session cookie holds the session id; the
 * login cookie holds the sign-in form's token (login CSRF: a form posted from elsewhere
 * lacks the matching value). The device cookie holds the device id of this browser's last
 * good sign-in (console-device.ts: it only picks a rate-limit bucket) and outlives sign-out.
 */
const SESSION = "edge-mfa-console";
const LOGIN = "edge-mfa-console-login";
const DEVICE = "edge-mfa-console-device";
const opts = { prefix: "host", path: "/", secure: true, httpOnly: true, sameSite: "Strict" } as const;

export const sessionCookie = (c: Context): string | undefined => getCookie(c, SESSION, "host");
export const setSessionCookie = (c: Context, id: string) => setCookie(c, SESSION, id, { ...opts, maxAge: ABSOLUTE_MS / 1000 });
export const clearSessionCookie = (c: Context) => deleteCookie(c, SESSION, opts);

export const loginCookie = (c: Context): string | undefined => getCookie(c, LOGIN, "host");
export const setLoginCookie = (c: Context, token: string) => setCookie(c, LOGIN, token, { ...opts, maxAge: 3600 });
export const clearLoginCookie = (c: Context) => deleteCookie(c, LOGIN, opts);

export const deviceCookie = (c: Context): string | undefined => getCookie(c, DEVICE, "host");
export const setDeviceCookie = (c: Context, id: string) => setCookie(c, DEVICE, id, { ...opts, maxAge: DEVICE_MAX_AGE_MS / 1000 });
export const clearDeviceCookie = (c: Context) => deleteCookie(c, DEVICE, opts);
