import { seedFrom, TokenInputError, tokenParams, tokenUsername, type NewToken } from "./token-record.ts";

/**
 * Hardware token seeds from CSV. The first line names the columns, in any order:
 *
 *   user,seed_base32,digits,period,algorithm,serial     (or seed_hex instead of seed_base32)
 *
 * `user` and one seed column are required; digits (6|8), period (30|60), algorithm
 * (sha1|sha256|sha512) default to 6, 30, sha1 when the column or value is absent; serial is
 * optional. Blank lines and lines starting with # are skipped. Fields are plain (no quoting):
 * none of these values contains a comma.
 */
const KNOWN = ["user", "seed_base32", "seed_hex", "digits", "period", "algorithm", "serial"] as const;
type Column = (typeof KNOWN)[number];

export function parseTokenCsv(text: string): NewToken[] {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const headerIndex = lines.findIndex((l) => !skipped(l));
  const header = lines[headerIndex];
  if (header === undefined) throw new TokenInputError("CSV: no header line (user,seed_base32,digits,period,algorithm)");
  const where = (i: number) => `CSV line ${i + 1}`;
  const columns = header.split(",").map((c) => c.trim().toLowerCase());
  columns.forEach((c, i) => {
    if (!KNOWN.some((k) => k === c)) throw new TokenInputError(`${where(headerIndex)}: unknown column "${c}" (known: ${KNOWN.join(", ")})`);
    if (columns.indexOf(c) !== i) throw new TokenInputError(`${where(headerIndex)}: column "${c}" appears twice`);
  });
  if (!columns.includes("user")) throw new TokenInputError(`${where(headerIndex)}: the header needs a "user" column`);
  const seedColumn = columns.includes("seed_base32") ? "seed_base32" : "seed_hex";
  if (columns.includes("seed_base32") === columns.includes("seed_hex")) {
    throw new TokenInputError(`${where(headerIndex)}: the header needs exactly one of "seed_base32" or "seed_hex"`);
  }

  const tokens: NewToken[] = [];
  const seen = new Map<string, number>();
  lines.forEach((line, i) => {
    if (i <= headerIndex || skipped(line)) return;
    const fields = line.split(",");
    if (fields.length !== columns.length) {
      throw new TokenInputError(`${where(i)}: ${fields.length} fields, the header has ${columns.length}`);
    }
    const field = (c: Column) => {
      const at = columns.indexOf(c);
      return at >= 0 ? fields[at]?.trim() : undefined;
    };
    const username = tokenUsername(field("user"), where(i));
    const earlier = seen.get(username);
    if (earlier !== undefined) throw new TokenInputError(`${where(i)}: user "${username}" already has a token on line ${earlier + 1}`);
    seen.set(username, i);
    const serial = field("serial");
    tokens.push({
      username,
      seed: seedFrom(field(seedColumn) ?? "", seedColumn === "seed_hex" ? "hex" : "base32", where(i), seedColumn),
      params: tokenParams({ digits: field("digits"), period: field("period"), algorithm: field("algorithm") }, where(i)),
      ...(serial ? { serial } : {}),
      origin: "csv",
    });
  });
  if (tokens.length === 0) throw new TokenInputError("CSV: no tokens after the header");
  return tokens;
}

function skipped(line: string): boolean {
  const t = line.trim();
  return t === "" || t.startsWith("#");
}
