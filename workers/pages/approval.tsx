import type { Texts } from "../config/schema";
import { Layout } from "./layout";

/** The magic-link page: shows the request and posts the answer (GET alone never decides). */
export function ApprovalPage(props: { texts: Texts; csrf: string; action: string }) {
  const { texts } = props;
  return (
    <Layout title={texts.title}>
      <h1>{texts.title}</h1>
      <p>{texts.authentication}</p>
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
