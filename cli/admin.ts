#!/usr/bin/env node
/**
 * Admin CLI for the Edge MFA Worker (wrangler dev or deployed): a thin client of
 * /admin/v1. Prints JSON. Usage: npm run admin -- --help
 */
import { ADMIN_API_BASE } from "../core/contracts/admin-api.ts";
import { readFileSync } from "node:fs";
import { isLoopbackTarget } from "../core/loopback.ts";

const USAGE = `npm run admin -- [--url URL] [--token-file FILE | --token-stdin] <command>

  URL defaults to $EDGE_MFA_URL, else http://localhost:8787. It must be https://; plain
  http:// only to localhost / 127.0.0.1 / ::1 (the token would cross the network in clear).
  The admin token comes from $EDGE_MFA_ADMIN_TOKEN, from FILE (--token-file), or from the
  first line of standard input (--token-stdin); never from the command line, where ps and
  shell history would show it.

  endpoints list
  endpoints show <name>
  endpoints create <name> [settings flags]
  endpoints update <name> [settings flags]
  endpoints delete <name>
      settings flags: --timeout SECONDS  --rate PER_MINUTE/PER_HOUR  --response-style server|cloud
                      --title T --text T --sms-text T --accept-label T --reject-label T
                      --accept-text T --reject-text T  --settings JSON (any other setting)
  tokens list <endpoint>
  tokens create <endpoint> <friendly-name> [--expires YYYY-MM-DD or DD-MM-YYYY]
  tokens revoke <endpoint> <token-id>
  tokens regenerate <endpoint> <token-id>
  subscribers show <msisdn>                    (app devices and on-prem TOTP token)
  devices revoke <msisdn> <device-id>
  totp enroll <msisdn> [--secret BASE32]
  totp remove <msisdn>
  subscribers unlock <msisdn> [--kind offline|sms-otp|all]   lift wrong-code lockouts (after checking who calls)
  users pins [--endpoint NAME]                 RADIUS users' pinned numbers (relay endpoint + username)
  users pending [--endpoint NAME]              only users whose directory reported another number
  users show <endpoint> <username>
  users confirm-number <endpoint> <username> [--msisdn +46…]   make the pending number the pinned one
  users cancel-change <endpoint> <username>    drop the pending number, keep the pin
  users remove-pin <endpoint> <username>       the next login pins the number reported then
  audit [--kind auth|admin] [--endpoint NAME] [--since ISO-TIME] [--until ISO-TIME] [--limit N] [--before ID]
`;

export class UsageError extends Error {}

interface Parsed {
  positional: string[];
  flags: Record<string, string>;
}

export function parseArgs(argv: string[]): Parsed {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") flags.help = "true";
    else if (a === "--token-stdin") flags["token-stdin"] = "true";
    else if (a === "--token" || a.startsWith("--token=")) {
      throw new UsageError(
        "--token is not accepted: a token on the command line is visible in ps and shell history. " +
          "Set EDGE_MFA_ADMIN_TOKEN, or use --token-file FILE or --token-stdin",
      );
    } else if (a.startsWith("--")) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
      flags[a.slice(2)] = v;
      i++;
    } else positional.push(a);
  }
  return { positional, flags };
}

/** Mideye's GUI writes expiry dates DD-MM-YYYY; the API wants YYYY-MM-DD. */
export function normalizeDate(v: string): string {
  const dmy = v.match(/^(\d{2})-(\d{2})-(\d{4})$/);
  return dmy ? `${dmy[3]}-${dmy[2]}-${dmy[1]}` : v;
}

export function settingsFromFlags(f: Record<string, string>): Record<string, unknown> {
  const s: Record<string, unknown> = f.settings ? (JSON.parse(f.settings) as Record<string, unknown>) : {};
  if (f.timeout) s.timeoutSeconds = Number(f.timeout);
  if (f["response-style"]) s.responseStyle = f["response-style"];
  if (f.rate) {
    const m = f.rate.match(/^(\d+)\/(\d+)$/);
    if (!m) throw new UsageError("--rate is PER_MINUTE/PER_HOUR, e.g. 3/20");
    s.rateLimit = { perMinute: Number(m[1]), perHour: Number(m[2]) };
  }
  const texts: Record<string, string> = {};
  const map: Record<string, string> = {
    title: "title",
    text: "authentication",
    "sms-text": "sms",
    "accept-label": "buttonAccept",
    "reject-label": "buttonReject",
    "accept-text": "touchAccept",
    "reject-text": "touchReject",
  };
  for (const [flag, key] of Object.entries(map)) if (f[flag] !== undefined) texts[key] = f[flag]!;
  if (Object.keys(texts).length) s.texts = { ...((s.texts as object) ?? {}), ...texts };
  return s;
}

/** The Worker's base URL: https, or plain http only to a loopback host. */
export function checkedUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`not a URL: ${raw}`);
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackTarget(url.hostname))) return raw.replace(/\/$/, "");
  throw new UsageError(`refusing to send the admin token to ${url.protocol}//${url.host}: use https:// (plain http only to localhost)`);
}

export interface TokenSources {
  env: string | undefined;
  readFile: (path: string) => string;
  readStdin: () => Promise<string>;
}

/** The admin token from --token-file, --token-stdin or $EDGE_MFA_ADMIN_TOKEN (in that order). */
export async function adminToken(flags: Record<string, string>, sources: TokenSources): Promise<string> {
  let token: string | undefined;
  if (flags["token-file"]) token = sources.readFile(flags["token-file"]).split(/\r?\n/)[0];
  else if (flags["token-stdin"]) token = (await sources.readStdin()).split(/\r?\n/)[0];
  else token = sources.env;
  token = token?.trim();
  if (!token) throw new UsageError("no admin token: set EDGE_MFA_ADMIN_TOKEN, or use --token-file FILE or --token-stdin");
  return token;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

type Call = { method: string; path: string; body?: unknown };

/** Maps a command line to one admin API call. */
export function toCall(p: Parsed): Call {
  const [group, action, a, b] = p.positional;
  const f = p.flags;
  const need = (v: string | undefined, what: string) => {
    if (!v) throw new UsageError(`missing ${what}`);
    return encodeURIComponent(v);
  };
  switch (`${group} ${action ?? ""}`.trim()) {
    case "endpoints list":
      return { method: "GET", path: "/endpoints" };
    case "endpoints show":
      return { method: "GET", path: `/endpoints/${need(a, "endpoint name")}` };
    case "endpoints create":
      return { method: "POST", path: "/endpoints", body: { name: decodeURIComponent(need(a, "endpoint name")), ...settingsFromFlags(f) } };
    case "endpoints update":
      return { method: "PATCH", path: `/endpoints/${need(a, "endpoint name")}`, body: settingsFromFlags(f) };
    case "endpoints delete":
      return { method: "DELETE", path: `/endpoints/${need(a, "endpoint name")}` };
    case "tokens list":
      return { method: "GET", path: `/endpoints/${need(a, "endpoint name")}/tokens` };
    case "tokens create":
      return {
        method: "POST",
        path: `/endpoints/${need(a, "endpoint name")}/tokens`,
        body: { name: decodeURIComponent(need(b, "friendly name")), ...(f.expires ? { expires: normalizeDate(f.expires) } : {}) },
      };
    case "tokens revoke":
      return { method: "DELETE", path: `/endpoints/${need(a, "endpoint name")}/tokens/${need(b, "token id")}` };
    case "tokens regenerate":
      return { method: "POST", path: `/endpoints/${need(a, "endpoint name")}/tokens/${need(b, "token id")}/regenerate` };
    case "devices revoke":
      return { method: "DELETE", path: `/subscribers/${need(a, "msisdn")}/devices/${need(b, "device id")}` };
    case "subscribers show":
      return { method: "GET", path: `/subscribers/${need(a, "msisdn")}` };
    case "totp enroll":
      return { method: "PUT", path: `/subscribers/${need(a, "msisdn")}/totp`, body: f.secret ? { secret: f.secret } : {} };
    case "totp remove":
      return { method: "DELETE", path: `/subscribers/${need(a, "msisdn")}/totp` };
    case "subscribers unlock": {
      const kind = f.kind ?? "all";
      if (!["offline", "sms-otp", "all"].includes(kind)) throw new UsageError(`--kind must be offline, sms-otp or all, not "${kind}"`);
      return { method: "DELETE", path: `/subscribers/${need(a, "msisdn")}/locks?kind=${kind}` };
    }
    case "users pins":
    case "users pending": {
      const q = new URLSearchParams();
      if (f.endpoint) q.set("endpoint", f.endpoint);
      if (action === "pending") q.set("pending", "true");
      return { method: "GET", path: `/relay-pins${q.size ? `?${q}` : ""}` };
    }
    case "users show":
      return { method: "GET", path: `/relay-pins/${need(a, "endpoint name")}/${need(b, "username")}` };
    case "users confirm-number":
      return {
        method: "POST",
        path: `/relay-pins/${need(a, "endpoint name")}/${need(b, "username")}/confirm`,
        body: f.msisdn ? { msisdn: f.msisdn } : {},
      };
    case "users cancel-change":
      return { method: "DELETE", path: `/relay-pins/${need(a, "endpoint name")}/${need(b, "username")}/pending` };
    case "users remove-pin":
      return { method: "DELETE", path: `/relay-pins/${need(a, "endpoint name")}/${need(b, "username")}` };
    default:
      if (group === "audit" && action === undefined) {
        const q = new URLSearchParams();
        for (const k of ["kind", "endpoint", "since", "until", "limit", "before"]) if (f[k]) q.set(k, f[k]!);
        return { method: "GET", path: `/audit${q.size ? `?${q}` : ""}` };
      }
      throw new UsageError(`unknown command: ${p.positional.join(" ") || "(none)"}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv);
  if (parsed.flags.help || parsed.positional.length === 0) {
    process.stdout.write(USAGE);
    return parsed.flags.help ? 0 : 2;
  }
  const url = checkedUrl(parsed.flags.url ?? process.env.EDGE_MFA_URL ?? "http://localhost:8787");
  const call = toCall(parsed);
  const token = await adminToken(parsed.flags, {
    env: process.env.EDGE_MFA_ADMIN_TOKEN,
    readFile: (path) => readFileSync(path, "utf8"),
    readStdin,
  });
  const res = await fetch(`${url}${ADMIN_API_BASE}${call.path}`, {
    method: call.method,
    redirect: "error", // a redirect could carry the token elsewhere (or to plain http)
    headers: { authorization: `Bearer ${token}`, ...(call.body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
  });
  const text = await res.text();
  const out = text ? JSON.stringify(JSON.parse(text), null, 2) : JSON.stringify({ ok: true, status: res.status });
  (res.ok ? process.stdout : process.stderr).write(`${out}\n`);
  return res.ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(
        `${e instanceof Error ? e.message : String(e)}\n${e instanceof UsageError ? "\nrun with --help for usage\n" : ""}`,
      );
      process.exit(e instanceof UsageError ? 2 : 1);
    },
  );
}
