/**
 * Removes live secrets from text bound for logs and the audit log: link tokens in `/m/…`
 * paths, bearer tokens, api keys, `activate=` fragments, one-time codes next to the word
 * "code", and any other long base64url run (every token this service mints is one).
 * Pure, so each log writer and the audit writer run the same rules.
 */
const MASK = "[redacted]";

const RULES: [RegExp, string][] = [
  // Link tokens (and anything after them): /m/<token>, /m/<token>/answer, …
  [/\/m\/[^\s"'?#\\]+/g, `/m/${MASK}`],
  // Authorization header values and api keys, however they were written out.
  [/\b(bearer|basic)\s+[^\s"',;\\]+/gi, `$1 ${MASK}`],
  [
    /\b(api[-_]?key|authorization|token|secret|password)(["']?\s*[:=]\s*["']?)(?!bearer\b|basic\b|\[redacted)[^\s"',;&\\]+/gi,
    `$1$2${MASK}`,
  ],
  // The app's activation fragment (#activate=<token>&msisdn=…).
  [/\bactivate=[^&\s"'\\]+/gi, `activate=${MASK}`],
  // One-time codes: "Your login code is 123456", "code":"12345678".
  [/\b(codes?\b[^0-9\n]{0,16}?)\d{6,8}\b/gi, `$1${MASK}`],
];
/**
 * Any other 32+ character base64url run with a digit or a capital in it: link, activation and
 * API tokens are 43 random characters (all lower-case is ~1 in 10^15), while event and action
 * names such as app_device_replacement_requested are lower-case words and stay readable.
 *
 * The rule is /(?=[A-Za-z0-9_-]*[A-Z0-9])[A-Za-z0-9_-]{32,}/g (each maximal run of 32+ such
 * characters with a capital or digit in it becomes MASK; test/worker/unit/redact.test.ts holds
 * the two to the same answers), written as one pass over the characters: the regular
 * expression tries every position of every run (most of a log line), which made it ~75% of
 * the cost of redacting a line, on every log line of the relay and the edge.
 */
export function maskLongTokens(text: string): string {
  let out = "";
  let copied = 0;
  let runStart = -1;
  let strong = false;
  const n = text.length;
  for (let i = 0; i <= n; i++) {
    const kind = i < n ? (RUN_CHAR[text.charCodeAt(i)] ?? 0) : 0;
    if (kind !== 0) {
      if (runStart < 0) {
        runStart = i;
        strong = false;
      }
      if (kind === 2) strong = true;
    } else if (runStart >= 0) {
      if (strong && i - runStart >= 32) {
        out += text.slice(copied, runStart) + MASK;
        copied = i;
      }
      runStart = -1;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** By character code below 128: 0 not a token character, 1 a-z _ -, 2 A-Z 0-9. */
const RUN_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  RUN_CHAR[c] = /[A-Z0-9]/.test(ch) ? 2 : /[a-z_-]/.test(ch) ? 1 : 0;
}

/**
 * `anyLongToken: false` keeps long identifiers (the audit log's device ids, which operators
 * need and see anyway) and applies only the named rules; free text (logs, errors) gets all.
 */
export function redact(text: string, opts: { anyLongToken?: boolean } = {}): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return opts.anyLongToken === false ? out : maskLongTokens(out);
}

/** A request path as it may be logged: redacted and bounded (paths are attacker-chosen). */
export function redactPath(path: string, max = 200): string {
  return cap(redact(path), max);
}

/** Caps free text at `max` characters, marking the cut. */
export function cap(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}
