import { exports } from "cloudflare:workers";
import { Validator, type Schema } from "@cfworker/json-schema";

/** The parts of an OpenAPI 3.1 document these checks read. */
export interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas?: Record<string, Schema>; securitySchemes?: Record<string, unknown> };
}
export interface Operation {
  responses: Record<
    string,
    { description: string; content?: Record<string, { schema: Schema }>; headers?: Record<string, { required?: boolean }> }
  >;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
export const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** The document as the Worker serves it at /openapi.json. */
export async function fetchDocument(): Promise<OpenApiDoc> {
  const res = await exports.default.fetch(new Request("https://mfa.example.com/openapi.json"));
  if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`);
  return (await res.json()) as OpenApiDoc;
}

/** `schema` with every "#/components/schemas/X" replaced by X itself (the schemas here are not recursive). */
function inline(doc: OpenApiDoc, schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map((s) => inline(doc, s));
  if (schema === null || typeof schema !== "object") return schema;
  const ref = (schema as { $ref?: string }).$ref;
  if (typeof ref === "string") {
    const name = ref.replace("#/components/schemas/", "");
    const target = doc.components.schemas?.[name];
    if (!target) throw new Error(`unresolved $ref ${ref}`);
    return inline(doc, target);
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, inline(doc, v)]));
}

/**
 * The published schemas let clients expect more fields later (no additionalProperties: false);
 * the conformance check does not: every object that names its properties must have no others,
 * so a route that answers a field the document does not name fails here.
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (schema === null || typeof schema !== "object") return schema;
  const out = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === "properties" ? strictProperties(v) : strict(v)]));
  if ("properties" in out && !("additionalProperties" in out) && !("allOf" in out)) out.additionalProperties = false;
  return out;
}
const strictProperties = (props: unknown) =>
  Object.fromEntries(Object.entries(props as Record<string, unknown>).map(([k, v]) => [k, strict(v)]));

/** The JSON Schema a response body must satisfy, strictly (see strict). */
export function responseSchema(doc: OpenApiDoc, schema: Schema): Schema {
  return strict(inline(doc, schema)) as Schema;
}

/** The document's path template for a concrete path ("/admin/v1/endpoints/x" -> "/admin/v1/endpoints/{name}"). */
export function templateFor(doc: OpenApiDoc, method: string, path: string): string {
  const segments = path.split("/");
  const matches = Object.keys(doc.paths).filter((template) => {
    if (!doc.paths[template]?.[method.toLowerCase()]) return false;
    const t = template.split("/");
    return t.length === segments.length && t.every((s, i) => (s.startsWith("{") && segments[i] !== "") || s === segments[i]);
  });
  // A literal segment beats a parameter ("/x/regenerate" over "/x/{id}").
  const params = (template: string) => template.split("{").length;
  matches.sort((a, b) => params(a) - params(b));
  const found = matches[0];
  if (!found) throw new Error(`${method} ${path} is not in the document`);
  return found;
}

/**
 * Checks a real response against the document's response for its method, path and status:
 * the status is documented, the content type is the documented one, required headers are
 * there, and the body validates (draft 2020-12, strictly). Answers the parsed body.
 */
export async function expectConforms(doc: OpenApiDoc, method: string, url: string, res: Response): Promise<unknown> {
  const path = new URL(url, "https://mfa.example.com").pathname;
  const template = templateFor(doc, method, path);
  const operation = doc.paths[template]?.[method.toLowerCase()] as Operation;
  const where = `${method} ${template} -> ${res.status}`;
  const documented = operation.responses[String(res.status)] ?? operation.responses[`${String(res.status)[0]}XX`];
  if (!documented) throw new Error(`${where}: status not documented (documented: ${Object.keys(operation.responses).join(", ")})`);
  for (const [name, header] of Object.entries(documented.headers ?? {})) {
    if (header.required && !res.headers.has(name)) throw new Error(`${where}: header ${name} missing`);
  }
  const text = await res.text();
  if (!documented.content) {
    if (text !== "") throw new Error(`${where}: a body where the document says none: ${text.slice(0, 200)}`);
    return null;
  }
  const type = res.headers.get("content-type")?.split(";")[0]?.trim() ?? "";
  const media = documented.content[type];
  if (!media) throw new Error(`${where}: content type "${type}" not documented (${Object.keys(documented.content).join(", ")})`);
  const body = type.endsWith("json") ? JSON.parse(text) : text;
  const result = new Validator(responseSchema(doc, media.schema), "2020-12", false).validate(body);
  if (!result.valid) {
    const errors = result.errors.map((e) => `${e.instanceLocation}: ${e.error}`).join("; ");
    throw new Error(`${where}: body does not match the document: ${errors}\n${text.slice(0, 500)}`);
  }
  return body;
}
