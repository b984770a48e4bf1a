import { spawn } from "node:child_process";

/**
 * Drives FreeRADIUS's radclient (Debian freeradius-utils), a real RADIUS client, and parses
 * what it printed. `attrs` is radclient's input syntax, e.g. 'User-Name = "alice"'.
 */
export interface RadclientResult {
  /** "Access-Accept" | "Access-Reject" | "Access-Challenge" | "Accounting-Response" | null when no reply came. */
  code: string | null;
  replyMessage: string | null;
  /** State attribute as radclient prints it ("0x..."), for the next round. */
  state: string | null;
  output: string;
  exitCode: number | null;
}

export async function radclient(
  target: string,
  secret: string,
  attrs: string[],
  opts: { timeoutSeconds?: number; retries?: number; code?: "auth" | "status" | "acct" } = {},
): Promise<RadclientResult> {
  const args = ["-x", "-t", String(opts.timeoutSeconds ?? 60), "-r", String(opts.retries ?? 1), target, opts.code ?? "auth", secret];
  const child = spawn("radclient", args, { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  child.stdin.end(`${attrs.join(", ")}\n`);
  const exitCode = await new Promise<number | null>((r) => child.on("close", r));
  const code = output.match(/Received (Access-\w+|Accounting-Response)/)?.[1] ?? null;
  const replyMessage = output.match(/Reply-Message = "([^"]*)"/)?.[1] ?? null;
  const state = output.match(/State = (0x[0-9a-f]+)/)?.[1] ?? null;
  return { code, replyMessage, state, output, exitCode };
}

/** Asks radclient 3.2 to sign the request with a Message-Authenticator (the relay requires one). */
export const SIGNED = "Message-Authenticator = 0x00";

/** A signed Access-Request in radclient's syntax: the user, the password, then any more attributes. */
export function accessRequest(user: string, password: string, ...more: string[]): string[] {
  return [`User-Name = "${user}"`, `User-Password = "${password}"`, SIGNED, ...more];
}
