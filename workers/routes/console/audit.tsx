import { Hono } from "hono";
import { z } from "zod";
import { ENDPOINT_NAME } from "../../config/schema";
import { AUDIT_PATH, AUDIT_RESULTS, AuditPage, type AuditFilterValues } from "../../pages/console/audit";
import { type AuditQuery, queryAudit } from "../../store/audit";
import type { ConsoleEnv } from "./context";

/**
 * Console: the audit log with filters and keyset paging (mounted at /admin/audit). A GET form:
 * the URL holds the filters and the cursor, so a page can be bookmarked and shared, and the
 * paging links carry the filters along.
 */
export const consoleAudit = new Hono<ConsoleEnv>();

export const AUDIT_PAGE_SIZE = 50;

/** "2026-11-29T14:05" (what <input type="datetime-local"> sends, seconds optional), read as UTC. */
const UtcMinute = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, "must be a date and time, YYYY-MM-DDTHH:MM (UTC)")
  .refine((s) => !Number.isNaN(Date.parse(`${s}Z`)), "is not a valid date and time");

const empty = z.literal("");
const Filters = z.object({
  kind: z.enum(["auth", "admin"]).or(empty).default(""),
  endpoint: z.string().regex(ENDPOINT_NAME, "endpoint names are 1-64 of A-Z a-z 0-9 . _ -").or(empty).default(""),
  actor: z.string().max(64, "actor: at most 64 characters").default(""),
  action: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, "actions are 1-64 of A-Z a-z 0-9 . _ -, e.g. device.revoke")
    .or(empty)
    .default(""),
  result: z.enum(AUDIT_RESULTS).or(empty).default(""),
  since: UtcMinute.or(empty).default(""),
  until: UtcMinute.or(empty).default(""),
});
const Cursor = z.object({
  before: z.coerce.number().int().positive().optional(),
  after: z.coerce.number().int().positive().optional(),
});

const NO_FILTERS: AuditFilterValues = { kind: "", endpoint: "", actor: "", action: "", result: "", since: "", until: "" };

/** The page's URL for these filters and a cursor (only the filters that are set). */
function href(f: AuditFilterValues, cursor: { before?: number; after?: number }): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
  if (cursor.before !== undefined) q.set("before", String(cursor.before));
  if (cursor.after !== undefined) q.set("after", String(cursor.after));
  const s = q.toString();
  return s ? `${AUDIT_PATH}?${s}` : AUDIT_PATH;
}

consoleAudit.get("/", async (c) => {
  const raw = c.req.query();
  const filters = Filters.safeParse(raw);
  const cursor = Cursor.safeParse(raw);
  const page = (
    props: { filters: AuditFilterValues; entries?: Awaited<ReturnType<typeof queryAudit>>; error?: string },
    status: 200 | 400,
  ) =>
    c.html(
      <AuditPage
        operator={c.get("operator")}
        csrfToken={c.get("csrfToken")}
        filters={props.filters}
        entries={props.entries?.entries ?? []}
        olderHref={props.entries?.next != null ? href(props.filters, { before: props.entries.next }) : null}
        newerHref={props.entries?.prev != null ? href(props.filters, { after: props.entries.prev }) : null}
        {...(props.error ? { error: props.error } : {})}
      />,
      status,
    );
  if (!filters.success || !cursor.success) {
    const issue = (filters.error ?? cursor.error)?.issues[0];
    return page({ filters: NO_FILTERS, error: issue ? `${issue.path.join(".")}: ${issue.message}` : "invalid filter" }, 400);
  }
  const f = filters.data;
  const q: AuditQuery = {
    limit: AUDIT_PAGE_SIZE,
    ...(f.kind ? { kind: f.kind } : {}),
    ...(f.endpoint ? { endpoint: f.endpoint } : {}),
    ...(f.actor ? { actor: f.actor } : {}),
    ...(f.action ? { action: f.action } : {}),
    ...(f.result ? { result: f.result } : {}),
    ...(f.since ? { since: Date.parse(`${f.since}Z`) } : {}),
    ...(f.until ? { until: Date.parse(`${f.until}Z`) } : {}),
    ...(cursor.data.before !== undefined ? { before: cursor.data.before } : {}),
    ...(cursor.data.after !== undefined ? { after: cursor.data.after } : {}),
  };
  return page({ filters: f, entries: await queryAudit(c.env.DB, q) }, 200);
});
