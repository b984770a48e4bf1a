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
