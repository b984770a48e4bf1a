import type { Texts } from "../config/schema";
import type { LinkPageMatch } from "../../core/match-policy";
import { Layout } from "./layout";

/**
 * The magic-link page: shows the request and posts the answer (GET alone never decides).
 * With number matching (see lib/match-policy) the Accept is one of three number buttons
 * ("pick"), or, when only this page shows the number, absent ("show": accept in the app). Where
 * the endpoint asks for user verification and the app can give it, absent too ("in_app").
 * Script-free: plain forms with the CSRF token.
 */
export function ApprovalPage(props: {
  texts: Texts;
  csrf: string;
  action: string;
  match: LinkPageMatch;
  /** Where "use the app" posts, when the endpoint allows activation. */
  activateAction?: string | null;
}) {
  const { texts, match } = props;
  const reject = (
    <button type="submit" name="decision" value="reject" class="reject">
      {texts.buttonReject}
    </button>
  );
  return (
    <Layout title={texts.title}>
      <h1>{texts.title}</h1>
      <p>{texts.authentication}</p>
      {match.kind === "in_app" && (
        <p class="muted" id="approve-in-app">
          To approve, open the authenticator app: it asks for your fingerprint, face or device PIN. You can reject here.
        </p>
      )}
      {match.kind === "show" && (
        <div class="match">
          <span class="muted">To approve, open the authenticator app and pick</span>
          <strong id="match-number">{match.number}</strong>
        </div>
      )}
      {match.kind === "pick" && (
        <form method="post" action={props.action} class="match-pick">
          <input type="hidden" name="csrf" value={props.csrf} />
          <input type="hidden" name="decision" value="accept" />
          <p class="muted">To approve, tap the number shown where you are signing in:</p>
          <div class="buttons">
            {match.choices.map((n) => (
              <button type="submit" name="pick" value={String(n)} class="accept">
                {n}
              </button>
            ))}
          </div>
        </form>
      )}
      <form method="post" action={props.action}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <div class="buttons">
          {reject}
          {match.kind === "none" && (
            <button type="submit" name="decision" value="accept" class="accept">
              {texts.buttonAccept}
            </button>
          )}
        </div>
      </form>
      {props.activateAction && (
        <form method="post" action={props.activateAction} class="activate">
          <input type="hidden" name="csrf" value={props.csrf} />
          <p class="muted">Tired of SMS links? Approve sign-ins with a push notification instead.</p>
          <button type="submit" class="secondary">
            Use the app on this phone
          </button>
        </form>
      )}
    </Layout>
  );
}

export function MessagePage(props: { title: string; text: string }) {
  return (
    <Layout title={props.title}>
      <h1>{props.title}</h1>
      <p>{props.text}</p>
    </Layout>
  );
}

/** Assisted Login, after the user's Accept: pick who approves (names only, never numbers). */
export function ChooseApproverPage(props: { title: string; csrf: string; action: string; approvers: Array<{ id: string; name: string }> }) {
  return (
    <Layout title={props.title}>
      <h1>{props.title}</h1>
      <p>Choose who should approve this sign-in. They get a request on their phone.</p>
      <form method="post" action={props.action} class="approvers">
        <input type="hidden" name="csrf" value={props.csrf} />
        <div class="buttons">
          {props.approvers.map((a) => (
            <button type="submit" name="approver" value={a.id} class="secondary">
              {a.name}
            </button>
          ))}
        </div>
      </form>
    </Layout>
  );
}

/** Assisted Login: the approver's own link page. */
export function ApproverRequestPage(props: {
  title: string;
  text: string;
  buttonAccept: string;
  buttonReject: string;
  csrf: string;
  action: string;
  /** Only the app may accept (user verification): Reject alone here. */
  acceptInApp: boolean;
}) {
  return (
    <Layout title={props.title}>
      <h1>{props.title}</h1>
      <p id="approver-request">{props.text}</p>
      {props.acceptInApp && (
        <p class="muted" id="approve-in-app">
          To approve, open the authenticator app: it asks for your fingerprint, face or device PIN. You can reject here.
        </p>
      )}
      <form method="post" action={props.action}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <div class="buttons">
          <button type="submit" name="decision" value="reject" class="reject">
            {props.buttonReject}
          </button>
          {!props.acceptInApp && (
            <button type="submit" name="decision" value="accept" class="accept">
              {props.buttonAccept}
            </button>
          )}
        </div>
      </form>
    </Layout>
  );
}
