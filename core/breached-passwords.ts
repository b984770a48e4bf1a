/**
 * A breached-password list: upper-case hex SHA-1 digests, one a line, optionally followed by
 * ":count" (the format of the public leaked-password corpora), '#' comments and blank lines
 * ignored. Hashed so a list can be shipped to browsers and relays without being a wordlist in
 * plain sight, and so an operator can drop in a bigger corpus in the same format.
 */
export type BreachedList = ReadonlySet<string>;

const LINE = /^([0-9A-Fa-f]{40})(?::\d+)?$/;

/** Parses a list; a line that is neither a digest, a comment nor blank is an error naming its line. */
export function parseBreachedList(text: string): BreachedList {
  const set = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? "").trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m?.[1]) throw new Error(`breached-password list line ${i + 1}: expected a SHA-1 hex digest`);
    set.add(m[1].toUpperCase());
  }
  return set;
}

export async function sha1HexUpper(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
}

/** The password, exactly as typed, is on the list. */
export async function isBreached(password: string, list: BreachedList): Promise<boolean> {
  return list.has(await sha1HexUpper(password));
}
