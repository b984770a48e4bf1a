import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { normalizeUsername } from "../../../core/contracts/relay.ts";
import { loadRelayConfig } from "../config.ts";
import { parseTokenCsv } from "./csv-import.ts";
import { enrolmentSheet, newToken } from "./enrolment.ts";
import { createKeyFile, readKeyFile } from "./key-file.ts";
import { parsePskc } from "./pskc-import.ts";
import { TokenInputError, tokenParams, tokenUsername, type NewToken } from "./token-record.ts";
import { TokenStore } from "./token-store.ts";

/** `edge-mfa-relay tokens …`: the local TOTP token store, from the relay host's shell. */
export const TOKENS_USAGE = `  edge-mfa-relay tokens keygen  [--key FILE]       create the key file the seeds are sealed under (new file, mode 0600)
  edge-mfa-relay tokens enrol USER [--digits 6|8] [--period 30|60] [--algorithm sha1|sha256|sha512] [--issuer NAME]
                                                     new token for an authenticator app: prints the otpauth URI, a QR code and the seed, once
  edge-mfa-relay tokens import FILE [--format csv|pskc]
                                                     hardware tokens: CSV (header user,seed_base32|seed_hex,digits,period,algorithm,serial)
                                                     or unencrypted PSKC (RFC 6030); all or nothing
  edge-mfa-relay tokens list                          users with a token (never the seed), last use, lockout
  edge-mfa-relay tokens remove USER
  edge-mfa-relay tokens unlock USER                   clear a user's lockout after wrong codes
  Store: --db FILE --key FILE, else "localTokens" of --config FILE (default relay.json).
`;

type Out = (text: string) => void;

export async function tokensCommand(argv: string[], out: Out): Promise<void> {
  const [sub, ...rest] = argv;
  const { positional, options } = parseArgs(rest);
  const arg = (name: string) => {
    const v = positional[0];
    if (v === undefined) throw new TokenInputError(`tokens ${sub}: missing ${name}`);
    if (positional.length > 1) throw new TokenInputError(`tokens ${sub}: one ${name} only, got ${positional.length}`);
    return v;
  };
  switch (sub) {
    case "keygen": {
      const keyFile = options.key ?? locations(options).keyFile;
      createKeyFile(keyFile);
      return out(
        `key written to ${keyFile} (mode 0600)\n` +
          "back it up, apart from the token database: without it no seed can be read; with it and the database, every seed can\n",
      );
    }
    case "enrol":
    case "enroll": {
      const username = tokenUsername(arg("USER"), "enrol");
      const token = newToken(
        username,
        tokenParams({ digits: options.digits, period: options.period, algorithm: options.algorithm }, "enrol"),
      );
      await withStore(options, (store) => store.add([token], Date.now()));
      const sheet = enrolmentSheet(token, options.issuer ?? "Edge MFA");
      return out(
        `token enrolled for "${username}" (${describe(token)})\n` +
          "scan the QR code with the authenticator app, or type the secret; it is shown only this once:\n\n" +
          `${sheet.qr}\n\nsecret: ${sheet.secret}\nuri:    ${sheet.uri}\n`,
      );
    }
    case "import": {
      const file = arg("FILE");
      const tokens = readTokens(file, options.format);
      await withStore(options, (store) => store.add(tokens, Date.now()));
      return out(`imported ${tokens.length} token(s): ${tokens.map((t) => `${t.username} (${describe(t)})`).join(", ")}\n`);
    }
    case "list":
      return withStore(options, (store) => {
        const rows = store.list();
        if (rows.length === 0) return out("no tokens\n");
        const when = (ms: number | null) => (ms ? new Date(ms).toISOString() : "-");
        const now = Date.now();
        out(
          `${["user", "token", "origin", "serial", "created", "last used", "wrong codes", "locked until"].join("\t")}\n` +
            rows
              .map((r) =>
                [
                  r.username,
                  describe(r),
                  r.origin,
                  r.serial ?? "-",
                  when(r.createdAt),
                  when(r.lastUsedAt),
                  r.failures,
                  r.lockedUntil > now ? when(r.lockedUntil) : "-",
                ].join("\t"),
              )
              .join("\n") +
            "\n",
        );
      });
    case "remove":
    case "unlock": {
      const username = normalizeUsername(arg("USER"));
      const done = await withStore(options, (store) => (sub === "remove" ? store.remove(username) : store.unlock(username)));
      if (!done) throw new TokenInputError(`tokens ${sub}: user "${username}" has no token`);
      return out(sub === "remove" ? `token of "${username}" removed\n` : `lockout of "${username}" cleared\n`);
    }
    default:
      throw new TokenInputError(`tokens: unknown command "${sub ?? ""}"\n${TOKENS_USAGE}`);
  }
}

function describe(t: Pick<NewToken, "params">): string {
  return `${t.params.algorithm}, ${t.params.digits} digits, ${t.params.period} s`;
}

function readTokens(file: string, format: string | undefined): NewToken[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new TokenInputError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const kind = format ?? ([".pskc", ".xml"].includes(extname(file).toLowerCase()) || text.trimStart().startsWith("<") ? "pskc" : "csv");
  if (kind === "csv") return parseTokenCsv(text);
  if (kind === "pskc") return parsePskc(text);
  throw new TokenInputError(`tokens import: --format must be csv or pskc, not "${kind}"`);
}

async function withStore<T>(options: Record<string, string>, fn: (store: TokenStore) => T | Promise<T>): Promise<T> {
  const { dbFile, keyFile } = locations(options);
  const store = new TokenStore(dbFile, readKeyFile(keyFile));
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

function locations(options: Record<string, string>): { dbFile: string; keyFile: string } {
  if (options.db && options.key) return { dbFile: options.db, keyFile: options.key };
  const file = options.config ?? "relay.json";
  const local = loadRelayConfig(file).localTokens;
  if (!local) throw new TokenInputError(`${file} has no "localTokens": {"dbFile": …, "keyFile": …}; add it or pass --db FILE --key FILE`);
  return { dbFile: options.db ?? local.dbFile, keyFile: options.key ?? local.keyFile };
}

const OPTIONS = new Set(["db", "key", "config", "digits", "period", "algorithm", "issuer", "format"]);

function parseArgs(argv: string[]): { positional: string[]; options: Record<string, string> } {
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const name = a.slice(2);
    const value = argv[i + 1];
    if (!OPTIONS.has(name)) throw new TokenInputError(`tokens: unknown option ${a}`);
    if (value === undefined || value.startsWith("--")) throw new TokenInputError(`tokens: ${a} needs a value`);
    options[name] = value;
    i++;
  }
  return { positional, options };
}
