import type { LockKindName, LockView } from "../../objects/subscriber/contract";
import type { DeviceInfo } from "../../objects/subscriber/contract";
import type { PinRow } from "../../store/relay-pins";
import { ConsolePage, CsrfField, ErrorLine } from "./layout";

/** Where the subscribers page lives; every form on it posts below this path. */
export const SUBSCRIBERS_PATH = "/admin/subscribers";

export interface SubscriberView {
  msisdn: string;
  devices: DeviceInfo[];
  totp: boolean;
  locks: Record<LockKindName, LockView>;
  pins: PinRow[];
}

export interface SubscriberPageProps {
  operator: string;
  csrfToken: string;
  /** What the lookup field shows (the number looked up, or what was typed when it was refused). */
  query: string;
  subscriber: SubscriberView | null;
  notice?: string;
  error?: string;
}

const iso = (t: number | null) => (t === null ? "—" : new Date(t).toISOString().replace(".000Z", "Z"));
const LOCK_LABELS: Record<LockKindName, string> = { offline: "Offline codes (TOTP, signed challenges)", smsOtp: "SMS one-time codes" };

/** A one-button form that posts the number (and `fields`) to an action below the page's path. */
function ActionForm(props: { action: string; csrfToken: string; msisdn: string; fields?: Record<string, string>; label: string }) {
  return (
    <form method="post" action={`${SUBSCRIBERS_PATH}/${props.action}`} class="inline">
      <CsrfField token={props.csrfToken} />
      <input type="hidden" name="msisdn" value={props.msisdn} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit">{props.label}</button>
    </form>
  );
}

/** Look up a number; then its devices, lockouts, TOTP token and RADIUS number pins, each with its actions. */
export function SubscriberPage(p: SubscriberPageProps) {
  const s = p.subscriber;
  return (
    <ConsolePage title="Subscribers" operator={p.operator} csrfToken={p.csrfToken}>
      <form method="get" action={SUBSCRIBERS_PATH}>
        <label for="msisdn">Phone number (E.164)</label>{" "}
        <input id="msisdn" name="msisdn" type="tel" value={p.query} placeholder="+46701234567" required />{" "}
        <button type="submit">Look up</button>
      </form>
      <ErrorLine text={p.error} />
      {p.notice ? (
        <p role="status" class="notice">
          {p.notice}
        </p>
      ) : null}
      {s ? <SubscriberDetails s={s} csrfToken={p.csrfToken} /> : null}
    </ConsolePage>
  );
}

function SubscriberDetails({ s, csrfToken }: { s: SubscriberView; csrfToken: string }) {
  return (
    <>
      <h2>{s.msisdn}</h2>
      <section aria-labelledby="devices">
        <h3 id="devices">App devices</h3>
        {s.devices.length === 0 ? (
          <p>No activated app devices.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
                <th scope="col">Push</th>
                <th scope="col">User verification</th>
                <th scope="col">Activated (UTC)</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {s.devices.map((d) => (
                <tr data-device={d.deviceId}>
                  <td>{d.name}</td>
                  <td>
                    <code>{d.deviceId}</code>
                  </td>
                  <td>{d.push ? "yes" : "no"}</td>
                  <td>{d.userVerification ? "yes" : "no"}</td>
                  <td>{iso(d.activatedAt)}</td>
                  <td>
                    <ActionForm
                      action="devices/revoke"
                      csrfToken={csrfToken}
                      msisdn={s.msisdn}
                      fields={{ deviceId: d.deviceId }}
                      label="Revoke"
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="locks">
        <h3 id="locks">Lockouts</h3>
        <table>
          <thead>
            <tr>
              <th scope="col">Codes</th>
              <th scope="col">Wrong codes</th>
              <th scope="col">Locked until (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {(Object.keys(LOCK_LABELS) as LockKindName[]).map((k) => (
              <tr data-lock={k}>
                <td>{LOCK_LABELS[k]}</td>
                <td>{s.locks[k].failures}</td>
                <td>{iso(s.locks[k].lockedUntil)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <ActionForm action="locks/clear" csrfToken={csrfToken} msisdn={s.msisdn} fields={{ kind: "all" }} label="Clear lockouts" />
      </section>

      <section aria-labelledby="totp">
        <h3 id="totp">On-prem TOTP token</h3>
        {s.totp ? (
          <>
            <p>A TOTP token is enrolled.</p>
            <ActionForm action="totp/remove" csrfToken={csrfToken} msisdn={s.msisdn} label="Remove TOTP token" />
          </>
        ) : (
          <p>No TOTP token enrolled.</p>
        )}
        <form method="post" action={`${SUBSCRIBERS_PATH}/totp/enroll`} autocomplete="off">
          <CsrfField token={csrfToken} />
          <input type="hidden" name="msisdn" value={s.msisdn} />
          <label for="seed">{s.totp ? "Replace with the token's base32 seed" : "Enroll a token from its base32 seed"}</label>{" "}
          <input id="seed" name="secret" type="password" required spellcheck={false} autocomplete="off" />{" "}
          <button type="submit">Enroll</button>
        </form>
      </section>

      <section aria-labelledby="pins">
        <h3 id="pins">RADIUS number pins</h3>
        {s.pins.length === 0 ? (
          <p>No RADIUS user is pinned to this number or waiting to change to it.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">User</th>
                <th scope="col">Pinned number</th>
                <th scope="col">Pending number</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {s.pins.map((pin) => {
                const key = { endpoint: pin.endpoint, username: pin.username };
                return (
                  <tr data-pin={`${pin.endpoint}/${pin.username}`}>
                    <td>{pin.endpoint}</td>
                    <td>{pin.username}</td>
                    <td>
                      {pin.msisdn} <span class="muted">since {iso(pin.pinned_at)}</span>
                    </td>
                    <td>{pin.pending_msisdn ? `${pin.pending_msisdn} since ${iso(pin.pending_at)}` : "—"}</td>
                    <td>
                      {pin.pending_msisdn ? (
                        <>
                          <ActionForm
                            action="pins/confirm"
                            csrfToken={csrfToken}
                            msisdn={s.msisdn}
                            fields={{ ...key, pending: pin.pending_msisdn }}
                            label="Confirm change"
                          />
                          <ActionForm action="pins/cancel" csrfToken={csrfToken} msisdn={s.msisdn} fields={key} label="Cancel change" />
                        </>
                      ) : null}
                      <ActionForm action="pins/remove" csrfToken={csrfToken} msisdn={s.msisdn} fields={key} label="Remove pin" />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
