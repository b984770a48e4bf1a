import type { Child } from "hono/jsx";
import type { EndpointRow, TokenRow } from "../../store/endpoints";
import { tokenStatus } from "../../lib/api-keys";
import { BOOLEAN_FIELDS, TEXT_KEYS, type FieldErrors, type FormValues } from "./endpoint-form";
import { ConsolePage, CsrfField } from "./layout";

type Session = { operator: string; csrfToken: string };
export interface StaticEndpointView {
  name: string;
  timeoutSeconds: number;
  responseStyle: string;
  apiKeys: number;
}

const when = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");

export function EndpointListPage(props: Session & { endpoints: EndpointRow[]; fromConfig: StaticEndpointView[]; notice?: string }) {
  return (
    <ConsolePage title="Endpoints" operator={props.operator} csrfToken={props.csrfToken}>
      {props.notice ? <p class="notice">{props.notice}</p> : null}
      <p>
        <a href="/admin/endpoints/new">New endpoint</a>
      </p>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Timeout</th>
            <th>Response style</th>
            <th>Updated (UTC)</th>
          </tr>
        </thead>
        <tbody>
          {props.endpoints.map((e) => (
            <tr>
              <td>
                <a href={`/admin/endpoints/${encodeURIComponent(e.name)}`}>{e.name}</a>
              </td>
              <td>{e.settings.timeoutSeconds} s</td>
              <td>{e.settings.responseStyle}</td>
              <td>{when(e.updated_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.endpoints.length === 0 ? <p class="muted">No endpoints managed here yet.</p> : null}
      <h2>From MFA_CONFIG (read-only)</h2>
      <p class="muted">Change these in the deployment's MFA_CONFIG.</p>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Timeout</th>
            <th>Response style</th>
            <th>API keys</th>
          </tr>
        </thead>
        <tbody>
          {props.fromConfig.map((e) => (
            <tr>
              <td>{e.name}</td>
              <td>{e.timeoutSeconds} s</td>
              <td>{e.responseStyle}</td>
              <td>{e.apiKeys}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </ConsolePage>
  );
}

function Err(props: { errors: FieldErrors; field: string }) {
  const e = props.errors[props.field];
  return e ? (
    <span class="error" id={`err-${props.field}`}>
      {e}
    </span>
  ) : null;
}

function Text(props: { label: string; field: string; values: FormValues; errors: FieldErrors; type?: string; hint?: string }) {
  return (
    <label>
      <span>{props.label}</span>
      <input type={props.type ?? "text"} name={props.field} value={props.values[props.field] ?? ""} />
      {props.hint ? <span class="muted">{props.hint}</span> : null}
      <Err errors={props.errors} field={props.field} />
    </label>
  );
}

function Choice(props: { label: string; field: string; options: string[]; values: FormValues; errors: FieldErrors }) {
  return (
    <label>
      <span>{props.label}</span>
      <select name={props.field}>
        {props.options.map((o) => (
          <option value={o} selected={props.values[props.field] === o}>
            {o}
          </option>
        ))}
      </select>
      <Err errors={props.errors} field={props.field} />
    </label>
  );
}

const BOOLEAN_LABELS: Record<(typeof BOOLEAN_FIELDS)[number], string> = {
  enableActivation: "The SMS link page offers to activate the authenticator app",
  usePush: "Numbers with an activated app get a push instead of the SMS link",
  numberMatching: "Number matching: the app asks for the number shown at sign-in",
  offlineCodes: "Its API keys may check offline codes (/api/offline)",
};

/** Every EndpointSettingsSchema setting as a form field. */
function SettingsFields(props: { values: FormValues; errors: FieldErrors }) {
  const { values, errors } = props;
  return (
    <>
      <fieldset>
        <legend>Timing and limits</legend>
        <Text label="Timeout (seconds, 15-300)" field="timeoutSeconds" type="number" values={values} errors={errors} />
        <Text
          label="Rate limit per number: per minute"
          field="rateLimit.perMinute"
          type="number"
          values={values}
          errors={errors}
          hint="Empty: the global limit."
        />
        <Text label="Rate limit per number: per hour" field="rateLimit.perHour" type="number" values={values} errors={errors} />
        <Text
          label="Max pending sessions of this endpoint"
          field="maxPending"
          type="number"
          values={values}
          errors={errors}
          hint="Empty: only the global cap."
        />
        <Text
          label="Push grace (seconds before the SMS link is sent too)"
          field="pushGraceSeconds"
          type="number"
          values={values}
          errors={errors}
        />
      </fieldset>
      <fieldset>
        <legend>Texts</legend>
        <p class="muted">Empty: the default text.</p>
        {TEXT_KEYS.map((k) => (
          <Text label={k} field={`texts.${k}`} values={values} errors={errors} />
        ))}
      </fieldset>
      <fieldset>
        <legend>Behaviour</legend>
        <Choice label="Response style" field="responseStyle" options={["server", "cloud"]} values={values} errors={errors} />
        <Choice
          label="What an Accept in the app needs"
          field="appApproval"
          options={["tap", "user-verification"]}
          values={values}
          errors={errors}
        />
        <Choice label="Without a platform authenticator" field="uvFallback" options={["refuse", "tap"]} values={values} errors={errors} />
        <Choice
          label="RADIUS number change"
          field="numberChange"
          options={["confirm", "accept-after-notice"]}
          values={values}
          errors={errors}
        />
        <Text
          label="Notice hours before a number change applies"
          field="numberChangeNoticeHours"
          type="number"
          values={values}
          errors={errors}
        />
        {BOOLEAN_FIELDS.map((k) => (
          <label class="check">
            <input type="checkbox" name={k} checked={values[k] === "on"} />
            <span>{BOOLEAN_LABELS[k]}</span>
            <Err errors={errors} field={k} />
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Assisted Login profile</legend>
        <label>
          <span>Approvers as JSON: a list, an LDAP group or an Entra ID group (docs/api.md). Empty: no Assisted Login.</span>
          <textarea name="assistedLogin">{values.assistedLogin ?? ""}</textarea>
          <Err errors={errors} field="assistedLogin" />
        </label>
      </fieldset>
      <fieldset>
        <legend>Password reset portal</legend>
        <label>
          <span>Settings as JSON (docs/operations.md). Empty: off.</span>
          <textarea name="reset">{values.reset ?? ""}</textarea>
          <Err errors={errors} field="reset" />
        </label>
      </fieldset>
    </>
  );
}

function FormErrors(props: { errors: FieldErrors }) {
  const n = Object.keys(props.errors).length;
  if (n === 0) return null;
  return (
    <p class="banner" role="alert">
      {props.errors._form ?? `Not saved: ${n === 1 ? "one field needs" : `${n} fields need`} attention.`}
    </p>
  );
}

export function NewEndpointPage(props: Session & { values: FormValues; errors: FieldErrors }) {
  return (
    <ConsolePage title="New endpoint" operator={props.operator} csrfToken={props.csrfToken}>
      <FormErrors errors={props.errors} />
      <form method="post" action="/admin/endpoints">
        <CsrfField token={props.csrfToken} />
        <Text label="Name (A-Z a-z 0-9 . _ -)" field="name" values={props.values} errors={props.errors} />
        <SettingsFields values={props.values} errors={props.errors} />
        <button type="submit">Create endpoint</button>
      </form>
    </ConsolePage>
  );
}

export function EditEndpointPage(
  props: Session & {
    name: string;
    values: FormValues;
    errors: FieldErrors;
    tokens: TokenRow[];
    tokenErrors?: FieldErrors;
    notice?: string;
  },
) {
  const base = `/admin/endpoints/${encodeURIComponent(props.name)}`;
  const now = Date.now();
  const tokenErrors = props.tokenErrors ?? {};
  return (
    <ConsolePage title={`Endpoint ${props.name}`} operator={props.operator} csrfToken={props.csrfToken}>
      {props.notice ? <p class="notice">{props.notice}</p> : null}
      <FormErrors errors={props.errors} />
      <form method="post" action={base}>
        <CsrfField token={props.csrfToken} />
        <SettingsFields values={props.values} errors={props.errors} />
        <button type="submit">Save</button>
      </form>

      <h2>API tokens</h2>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Expires (last valid day)</th>
            <th>Created (UTC)</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.tokens.map((t) => {
            const status = tokenStatus(t, now);
            return (
              <tr data-token-id={t.id}>
                <td>{t.name}</td>
                <td>{t.expires ?? "never"}</td>
                <td>{when(t.created_at)}</td>
                <td>{status}</td>
                <td>
                  {status === "revoked" ? null : (
                    <>
                      <form class="inline" method="post" action={`${base}/tokens/${encodeURIComponent(t.id)}/regenerate`}>
                        <CsrfField token={props.csrfToken} />
                        <button type="submit" class="plain">
                          Regenerate
                        </button>
                      </form>{" "}
                      <form class="inline" method="post" action={`${base}/tokens/${encodeURIComponent(t.id)}/revoke`}>
                        <CsrfField token={props.csrfToken} />
                        <button type="submit" class="danger">
                          Revoke
                        </button>
                      </form>
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>New API token</h2>
      <form method="post" action={`${base}/tokens`}>
        <CsrfField token={props.csrfToken} />
        <label>
          <span>Token name</span>
          <input type="text" name="tokenName" maxlength={100} required />
          <Err errors={tokenErrors} field="name" />
        </label>
        <label>
          <span>Expires (last valid day, UTC; empty: never)</span>
          <input type="date" name="expires" />
          <Err errors={tokenErrors} field="expires" />
        </label>
        <button type="submit">Create token</button>
      </form>

      <h2>Delete endpoint</h2>
      <form method="post" action={`${base}/delete`}>
        <CsrfField token={props.csrfToken} />
        <p class="muted">Deletes the endpoint and all its API tokens; clients using them are refused at once.</p>
        <button type="submit" class="danger">
          Delete {props.name}
        </button>
      </form>
    </ConsolePage>
  );
}

/** The one time a token's secret is shown (the page is not cached and the secret never reaches a URL). */
export function TokenSecretPage(props: Session & { endpoint: string; tokenName: string; secret: string; regenerated: boolean }): Child {
  return (
    <ConsolePage title={props.regenerated ? "Token regenerated" : "Token created"} operator={props.operator} csrfToken={props.csrfToken}>
      <p class="notice">
        Copy the secret of <strong>{props.tokenName}</strong> now: it is shown this once and never again.
        {props.regenerated ? " The old secret no longer works." : ""}
      </p>
      <code class="secret" id="token-secret">
        {props.secret}
      </code>
      <p>
        Clients send it as the <code>api-key</code> header to <code>/api/sfwa/auth/{props.endpoint}</code>.
      </p>
      <p>
        <a href={`/admin/endpoints/${encodeURIComponent(props.endpoint)}`}>Back to {props.endpoint}</a>
      </p>
    </ConsolePage>
  );
}
