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
// Any other 32+ character base64url run with a digit or a capital in it: link, activation and
// API tokens are 43 random characters (all lower-case is ~1 in 10^15), while event and action
// names such as app_device_replacement_requested are lower-case words and stay readable.
const ANY_LONG_TOKEN: [RegExp, string] = [/(?=[A-Za-z0-9_-]*[A-Z0-9])[A-Za-z0-9_-]{32,}/g, MASK];

/**
 * `anyLongToken: false` keeps long identifiers (the audit log's device ids, which operators
 * need and see anyway) and applies only the named rules; free text (logs, errors) gets all.
 */
export function redact(text: string, opts: { anyLongToken?: boolean } = {}): string {
  let out = text;
  for (const [pattern, replacement] of opts.anyLongToken === false ? RULES : [...RULES, ANY_LONG_TOKEN]) {
    out = out.replace(pattern, replacement);
  }
  return out;
}

/** A request path as it may be logged: redacted and bounded (paths are attacker-chosen). */
export function redactPath(path: string, max = 200): string {
  return cap(redact(path), max);
}

/** Caps free text at `max` characters, marking the cut. */
export function cap(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}
