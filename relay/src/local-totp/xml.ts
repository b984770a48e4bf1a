import { TokenInputError } from "./token-record.ts";

/**
 * A small, strict XML reader for PSKC files: elements, attributes, text, CDATA, comments,
 * the five predefined entities and character references, namespaces resolved to URIs.
 * A DOCTYPE is refused outright: no entity expansion (billion laughs), no external entities
 * (XXE). Enough for key containers; not a general XML parser.
 */
export interface XmlElement {
  /** Local name, without prefix. */
  name: string;
  /** Namespace URI ("" when none). */
  ns: string;
  /** Attributes by local name (attributes without prefix have no namespace in XML). */
  attrs: ReadonlyMap<string, string>;
  children: XmlElement[];
  /** The element's own text (CDATA included), child elements' text excluded. */
  text: string;
  /** 1-based line of the start tag, for error messages. */
  line: number;
}

const MAX_DEPTH = 64;
// Sticky: matched where the reader stands, without copying the rest of the file.
const NAME = /[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/y;
const SPACE = /\s*/y;
const ATTRIBUTE = /([A-Za-z_][\w.:-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/y;

export function parseXml(source: string, what: string): XmlElement {
  const lineAt = lineIndex(source);
  const at = (re: RegExp, i: number) => {
    re.lastIndex = i;
    return re.exec(source);
  };
  const fail = (at: number, msg: string): never => {
    throw new TokenInputError(`${what} line ${lineAt(at)}: ${msg}`);
  };
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: Array<{ el: XmlElement; prefixed: string; scope: Map<string, string> }> = [];
  let root: XmlElement | undefined;

  while (i < source.length) {
    if (source.startsWith("<!--", i)) {
      const end = source.indexOf("-->", i + 4);
      if (end < 0) fail(i, "unterminated comment");
      i = end + 3;
    } else if (source.startsWith("<?", i)) {
      const end = source.indexOf("?>", i + 2);
      if (end < 0) fail(i, "unterminated processing instruction");
      i = end + 2;
    } else if (source.startsWith("<!DOCTYPE", i) || source.startsWith("<!ENTITY", i)) {
      fail(i, "DOCTYPE and entity declarations are not accepted in a key file");
    } else if (source.startsWith("<![CDATA[", i)) {
      const end = source.indexOf("]]>", i + 9);
      if (end < 0) fail(i, "unterminated CDATA section");
      const top = stack.at(-1);
      if (!top) fail(i, "text outside the root element");
      else top.el.text += source.slice(i + 9, end);
      i = end + 3;
    } else if (source.startsWith("</", i)) {
      const m = at(NAME, i + 2);
      const end = source.indexOf(">", i);
      const top = stack.pop();
      if (!m || end < 0 || source.slice(i + 2 + m[0].length, end).trim() !== "") fail(i, "malformed end tag");
      else if (!top || top.prefixed !== m[0]) fail(i, `end tag </${m[0]}> does not match <${top?.prefixed ?? "nothing"}>`);
      i = end + 1;
    } else if (source[i] === "<") {
      const start = i;
      const m = at(NAME, i + 1);
      if (!m) fail(i, "malformed start tag");
      const prefixed = m?.[0] ?? "";
      i += 1 + prefixed.length;
      const raw: Array<[string, string]> = [];
      for (;;) {
        const ws = at(SPACE, i)?.[0].length ?? 0;
        i += ws;
        if (source.startsWith("/>", i) || source[i] === ">") break;
        const a = at(ATTRIBUTE, i);
        if (!a || ws === 0) fail(i, `malformed attribute in <${prefixed}>`);
        else {
          raw.push([a[1] ?? "", decodeEntities(a[3] ?? a[4] ?? "", () => fail(i, "unknown entity in an attribute"))]);
          i += a[0].length;
        }
      }
      const selfClosing = source.startsWith("/>", i);
      i += selfClosing ? 2 : 1;
      const scope = new Map(stack.at(-1)?.scope ?? []);
      for (const [k, v] of raw) {
        if (k === "xmlns") scope.set("", v);
        else if (k.startsWith("xmlns:")) scope.set(k.slice(6), v);
      }
      const [prefix, local] = prefixed.includes(":") ? prefixed.split(":") : ["", prefixed];
      const ns = scope.get(prefix ?? "");
      if (prefix && ns === undefined) fail(start, `undeclared namespace prefix "${prefix}"`);
      const attrs = new Map<string, string>();
      for (const [k, v] of raw) if (k !== "xmlns" && !k.startsWith("xmlns:")) attrs.set(k.includes(":") ? (k.split(":")[1] ?? k) : k, v);
      const el: XmlElement = { name: local ?? prefixed, ns: ns ?? "", attrs, children: [], text: "", line: lineAt(start) };
      const parent = stack.at(-1);
      if (parent) parent.el.children.push(el);
      else if (root) fail(start, "a second root element");
      else root = el;
      if (!selfClosing) {
        if (stack.length >= MAX_DEPTH) fail(start, `nested deeper than ${MAX_DEPTH} elements`);
        stack.push({ el, prefixed, scope });
      }
    } else {
      const end = source.indexOf("<", i);
      const text = source.slice(i, end < 0 ? source.length : end);
      const top = stack.at(-1);
      if (top) top.el.text += decodeEntities(text, () => fail(i, "unknown entity in text"));
      else if (text.trim() !== "") fail(i, "text outside the root element");
      i = end < 0 ? source.length : end;
    }
  }
  const open = stack.at(-1);
  if (open) fail(source.length, `<${open.prefixed}> is not closed`);
  if (!root) fail(0, "no root element");
  return root as XmlElement;
}

function decodeEntities(s: string, unknown: () => never): string {
  return s.replace(/&([^;&\s]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(";")) return unknown();
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
    if (name in named) return named[name] ?? "";
    const code = /^#x([0-9a-fA-F]{1,6})$/.exec(name)?.[1] ?? /^#([0-9]{1,7})$/.exec(name)?.[1];
    if (code === undefined) return unknown();
    const cp = Number.parseInt(code, name.startsWith("#x") ? 16 : 10);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : unknown();
  });
}

/** Line numbers by binary search over the line starts: a key file may hold thousands of keys. */
function lineIndex(source: string): (at: number) => number {
  const starts = [0];
  for (let j = source.indexOf("\n"); j >= 0; j = source.indexOf("\n", j + 1)) starts.push(j + 1);
  return (at) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** The child elements named `name` (local name), in order. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}

export function childNamed(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}
