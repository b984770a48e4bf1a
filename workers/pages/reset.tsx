import type { PasswordPolicy } from "../../core/password-policy";
import { Layout } from "./layout";

/** The password reset portal's pages (/reset). Only the password form runs script (/assets/reset.js). */

const TITLE = "Reset your password";

export function ResetStartPage(props: { action: string; message?: string | null }) {
  return (
    <Layout title={TITLE}>
      <h1>{TITLE}</h1>
      {props.message ? <p>{props.message}</p> : null}
      <p>Enter your username. You will approve the reset on your phone, and an approver must approve it too.</p>
      <form method="post" action={props.action}>
        <input type="hidden" name="step" value="start" />
        <label for="username">Username</label>
        <input type="text" id="username" name="username" autocomplete="username" required maxlength={256} />
        <div class="buttons">
          <button type="submit" class="accept">
            Continue
          </button>
        </div>
      </form>
    </Layout>
  );
}

/** The same page for every username: nothing on it says whether the account exists. */
export function ResetWaitingPage(props: { action: string }) {
  return (
    <Layout title={TITLE} head={<meta http-equiv="refresh" content="3" />}>
      <h1>Approve on your phone</h1>
      <p>
        If the account exists, a request was sent to its phone. Approve it there and choose an approver, who must approve the reset too.
        This page moves on by itself once both have approved.
      </p>
      <p class="muted">
        <a href={`${props.action}?restart=1`}>Start again</a>
      </p>
    </Layout>
  );
}

export function ResetPasswordPage(props: {
  action: string;
  flow: string;
  username: string;
  encryptionJwk: object;
  policy: PasswordPolicy;
  /** Epoch seconds: the reset's deadline, also sealed into the encrypted password. */
  exp: number;
  message: string | null;
}) {
  const p = props.policy;
  return (
    <Layout title={TITLE} head={<script src="/assets/reset.js" defer />}>
      <h1>Choose a new password</h1>
      <p>
        Approved. Choose a new password for <strong>{props.username}</strong>: at least {p.minLength} characters, with at least{" "}
        {p.minClasses} of lower-case letters, upper-case letters, digits and other characters. It is encrypted in this browser so only your
        directory can read it.
      </p>
      {props.message ? (
        <ul class="problems" role="alert">
          <li>{props.message}</li>
        </ul>
      ) : null}
      <ul id="problems" class="problems" role="alert" hidden />
      <form
        id="reset-password"
        method="post"
        action={props.action}
        data-jwk={JSON.stringify(props.encryptionJwk)}
        data-policy={JSON.stringify(props.policy)}
        data-username={props.username}
        data-exp={String(props.exp)}
      >
        <input type="hidden" name="step" value="password" />
        <input type="hidden" name="flow" value={props.flow} />
        <input type="hidden" id="jwe" name="jwe" value="" />
        <input type="text" id="username-hint" autocomplete="username" value={props.username} hidden readonly />
        {/* No name attributes: the browser never submits these two. */}
        <label for="new-password">New password</label>
        <input type="password" id="new-password" autocomplete="new-password" required />
        <label for="confirm-password">New password again</label>
        <input type="password" id="confirm-password" autocomplete="new-password" required />
        <noscript>
          <p>This step needs JavaScript: the new password is encrypted in this browser, so that only your directory can read it.</p>
        </noscript>
        <div class="buttons">
          <button type="submit" id="reset-submit" class="accept" disabled>
            Change password
          </button>
        </div>
      </form>
    </Layout>
  );
}

export function ResetChangingPage() {
  return (
    <Layout title={TITLE} head={<meta http-equiv="refresh" content="3" />}>
      <h1>Changing your password…</h1>
      <p>This page moves on by itself.</p>
    </Layout>
  );
}

export function ResetMessagePage(props: { title: string; text: string; action?: string }) {
  return (
    <Layout title={props.title}>
      <h1>{props.title}</h1>
      <p>{props.text}</p>
      {props.action ? (
        <p class="muted">
          <a href={`${props.action}?restart=1`}>Start a new reset</a>
        </p>
      ) : null}
    </Layout>
  );
}
