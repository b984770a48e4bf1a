import type { Child } from "hono/jsx";

/** The hidden field every console form carries; the console rejects a POST without it. */
export function CsrfField(props: { token: string }) {
  return <input type="hidden" name="_csrf" value={props.token} />;
}

/** Shell of every signed-in console page: navigation, the operator's name, sign-out. */
export function ConsolePage(props: { title: string; operator: string; csrfToken: string; children: Child; head?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{`${props.title} · edge-mfa admin`}</title>
        {props.head}
      </head>
      <body>
        <nav>
          <a href="/admin/">Dashboard</a> <a href="/admin/endpoints">Endpoints</a> <a href="/admin/subscribers">Subscribers</a>{" "}
          <a href="/admin/audit">Audit log</a> <span>{props.operator}</span>
          <form method="post" action="/admin/logout">
            <CsrfField token={props.csrfToken} />
            <button type="submit">Sign out</button>
          </form>
        </nav>
        <main>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}
