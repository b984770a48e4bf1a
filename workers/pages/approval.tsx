import type { Texts } from "../config/schema";
import { Layout } from "./layout";

/** The magic-link page: shows the request and posts the answer (GET alone never decides). */
export function ApprovalPage(props: {
  texts: Texts;
  csrf: string;
  action: string;
  /** Number matching: the number to pick in the app. */
  matchNumber?: number | null;
  /** Where "use the app" posts, when the endpoint allows activation. */
  activateAction?: string | null;
}) {
  const { texts } = props;
  return (
    <Layout title={texts.title}>
      <h1>{texts.title}</h1>
      <p>{texts.authentication}</p>
      {props.matchNumber != null && (
        <div class="match">
          <span class="muted">If the app asks, pick</span>
          <strong id="match-number">{props.matchNumber}</strong>
        </div>
      )}
      <form method="post" action={props.action}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <div class="buttons">
          <button type="submit" name="decision" value="reject" class="reject">
            {texts.buttonReject}
          </button>
          <button type="submit" name="decision" value="accept" class="accept">
            {texts.buttonAccept}
          </button>
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
}) {
  return (
    <Layout title={props.title}>
      <h1>{props.title}</h1>
      <p id="approver-request">{props.text}</p>
      <form method="post" action={props.action}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <div class="buttons">
          <button type="submit" name="decision" value="reject" class="reject">
            {props.buttonReject}
          </button>
          <button type="submit" name="decision" value="accept" class="accept">
            {props.buttonAccept}
          </button>
        </div>
      </form>
    </Layout>
  );
}
