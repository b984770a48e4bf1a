import type { Child } from "hono/jsx";
import { HtmlDocument } from "../document";

/** The hidden field every console form carries; the console rejects a POST without it. */
export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/** The <head> every console page shares: referrers only to itself (see consoleHeaders), no indexing, the same-origin stylesheet. */
function Head(props: { title: string; head?: Child }) {
  return (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="same-origin" />
      <meta name="robots" content="noindex, nofollow" />
      <title>{`${props.title} · edge-mfa admin`}</title>
      <link rel="stylesheet" href="/admin/assets/console.css" />
      {props.head}
    </head>
  );
}

/** Shell of every signed-in console page: navigation, the operator's name, sign-out. */
export function ConsolePage(props: { title: string; operator: string; csrfToken: string; children: Child; head?: Child }) {
  return (
    <HtmlDocument>
      <Head title={props.title} head={props.head} />
      <body>
        <nav class="top">
          <a href="/admin/">Dashboard</a>
          <a href="/admin/endpoints">Endpoints</a>
          <a href="/admin/subscribers">Subscribers</a>
          <a href="/admin/audit">Audit log</a>
          <span class="who">{props.operator}</span>
          <form method="post" action="/admin/logout">
            <CsrfField token={props.csrfToken} />
            <button type="submit" class="plain">
              Sign out
            </button>
          </form>
        </nav>
        <main>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </HtmlDocument>
  );
}

/** A page outside a session (sign-in, refusals): no navigation. */
export function ConsoleBarePage(props: { title: string; children: Child }) {
  return (
    <HtmlDocument>
      <Head title={props.title} />
      <body>
        <main class="narrow">
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </HtmlDocument>
  );
}

/** A refusal or error above a page's content, when there is one. */
export function ErrorLine(props: { text: string | null | undefined }) {
  return props.text ? (
    <p role="alert" class="error">
      {props.text}
    </p>
  ) : null;
}

/** The sign-in form. CONTRACT (other tests rely on it): inputs name="name" and name="secret", one submit button. */
export function ConsoleLoginPage(props: { loginToken: string; error?: string }) {
  return (
    <ConsoleBarePage title="Sign in">
      {props.error ? (
        <p class="banner" role="alert">
          {props.error}
        </p>
      ) : null}
      <form method="post" action="/admin/login">
        <CsrfField token={props.loginToken} />
        <label>
          <span>Operator name</span>
          <input type="text" name="name" autocomplete="username" required maxlength={64} autofocus />
        </label>
        <label>
          <span>Admin token</span>
          <input type="password" name="secret" autocomplete="current-password" required maxlength={512} />
        </label>
        <p>
          <button type="submit">Sign in</button>
        </p>
      </form>
      <p class="muted">Your named admin token, as the admin CLI uses it.</p>
    </ConsoleBarePage>
  );
}

/** A refusal (403) or error, outside or inside a session. */
export function ConsoleMessagePage(props: { title: string; text: string }) {
  return (
    <ConsoleBarePage title={props.title}>
      <p>{props.text}</p>
      <p>
        <a href="/admin/">Back to the console</a>
      </p>
    </ConsoleBarePage>
  );
}
