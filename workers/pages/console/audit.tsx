import type { AuditEntry } from "../../store/audit";
import { ConsolePage, ErrorLine } from "./layout";

/** Where the audit page lives; its filter form and paging links point here. */
export const AUDIT_PATH = "/admin/audit";

/** The filters as the form shows them (strings as typed, after validation). */
export interface AuditFilterValues {
  kind: string;
  endpoint: string;
  actor: string;
  action: string;
  result: string;
  since: string;
  until: string;
}

/** Result codes offered in the filter (what the Magic Link API answers). */
export const AUDIT_RESULTS = [
  "TOUCH_ACCEPTED",
  "TOUCH_REJECTED",
  "USER_NOT_RESPONDED",
  "FAILED_DELIVERY",
  "BAD_REQUEST",
  "NO_APPROVER_SELECTED",
  "INVALID_APPROVER",
] as const;

export interface AuditPageProps {
  operator: string;
  csrfToken: string;
  filters: AuditFilterValues;
  entries: AuditEntry[];
  /** Links to the older and newer pages with the same filters, when there are any. */
  olderHref: string | null;
  newerHref: string | null;
  error?: string;
}

const utc = (t: number) => new Date(t).toISOString().replace(".000Z", "Z");

function Select(props: { id: string; label: string; value: string; options: readonly string[] }) {
  return (
    <>
      <label for={props.id}>{props.label}</label>{" "}
      <select id={props.id} name={props.id}>
        <option value="" selected={props.value === ""}>
          any
        </option>
        {props.options.map((o) => (
          <option value={o} selected={props.value === o}>
            {o}
          </option>
        ))}
      </select>{" "}
    </>
  );
}

function Text(props: { id: string; label: string; value: string; type?: string; placeholder?: string }) {
  return (
    <>
      <label for={props.id}>{props.label}</label>{" "}
      <input id={props.id} name={props.id} type={props.type ?? "text"} value={props.value} placeholder={props.placeholder} />{" "}
    </>
  );
}

function Paging(p: Pick<AuditPageProps, "olderHref" | "newerHref">) {
  return (
    <nav aria-label="Audit log pages" class="paging">
      {p.newerHref ? (
        <a href={p.newerHref} rel="prev">
          Newer
        </a>
      ) : null}{" "}
      {p.olderHref ? (
        <a href={p.olderHref} rel="next">
          Older
        </a>
      ) : null}
    </nav>
  );
}

/** The audit log, newest first, with its filters (a GET form: the URL is the view) and keyset paging. */
export function AuditPage(p: AuditPageProps) {
  const f = p.filters;
  return (
    <ConsolePage title="Audit log" operator={p.operator} csrfToken={p.csrfToken}>
      <form method="get" action={AUDIT_PATH} class="filters">
        <Select id="kind" label="Kind" value={f.kind} options={["auth", "admin"]} />
        <Text id="endpoint" label="Endpoint" value={f.endpoint} />
        <Text id="actor" label="Actor" value={f.actor} />
        <Text id="action" label="Action" value={f.action} placeholder="device.revoke" />
        <Select id="result" label="Result" value={f.result} options={AUDIT_RESULTS} />
        <Text id="since" label="From (UTC)" value={f.since} type="datetime-local" />
        <Text id="until" label="Until (UTC)" value={f.until} type="datetime-local" />
        <button type="submit">Filter</button> <a href={AUDIT_PATH}>Clear</a>
      </form>
      <ErrorLine text={p.error} />
      <Paging olderHref={p.olderHref} newerHref={p.newerHref} />
      {p.entries.length === 0 ? (
        <p>No entries.</p>
      ) : (
        <table class="audit">
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Kind</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Number</th>
              <th scope="col">Channel</th>
              <th scope="col">Result</th>
              <th scope="col">Latency (ms)</th>
              <th scope="col">Calls</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {p.entries.map((e) => (
              <tr data-id={String(e.id)}>
                <td>
                  <time datetime={new Date(e.at).toISOString()}>{utc(e.at)}</time>
                </td>
                <td>{e.kind}</td>
                <td>{e.endpoint ?? ""}</td>
                <td>{e.msisdn ?? ""}</td>
                <td>{e.channel ?? ""}</td>
                <td>{e.result ?? ""}</td>
                <td>{e.latency_ms ?? ""}</td>
                <td>{e.count ?? (e.kind === "auth" ? 1 : "")}</td>
                <td>{e.actor ?? ""}</td>
                <td>{e.action ?? ""}</td>
                <td>{e.detail === null ? "" : <code>{JSON.stringify(e.detail)}</code>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Paging olderHref={p.olderHref} newerHref={p.newerHref} />
    </ConsolePage>
  );
}
