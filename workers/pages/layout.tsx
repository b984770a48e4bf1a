import type { Child } from "hono/jsx";
import { HtmlDocument } from "./document";

/** Shared shell of every page: mobile viewport, no referrer, one same-origin stylesheet. */
export function Layout(props: { title: string; children: Child; head?: Child }) {
  return (
    <HtmlDocument>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="robots" content="noindex, nofollow" />
        <title>{props.title}</title>
        <link rel="stylesheet" href="/assets/app.css" />
        {props.head}
      </head>
      <body>
        <main class="card">{props.children}</main>
      </body>
    </HtmlDocument>
  );
}

export const APP_CSS = `
:root { color-scheme: light dark; --accent: #0b6e4f; --reject: #a4161a; }
* { box-sizing: border-box; }
body { margin: 0; font: 17px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  background: Canvas; color: CanvasText; display: flex; min-height: 100vh; align-items: center;
  justify-content: center; padding: 16px; }
.card { width: 100%; max-width: 420px; padding: 24px; border-radius: 16px;
  border: 1px solid color-mix(in srgb, CanvasText 15%, transparent); }
h1 { font-size: 1.35rem; margin: 0 0 12px; }
p { margin: 0 0 20px; white-space: pre-line; overflow-wrap: anywhere; }
.buttons { display: flex; gap: 12px; }
button { flex: 1; min-height: 52px; font: inherit; font-weight: 600; border: 0; border-radius: 12px;
  color: #fff; cursor: pointer; overflow-wrap: anywhere; }
button.accept { background: var(--accent); }
button.reject { background: var(--reject); }
.muted { opacity: .7; font-size: .9rem; }
button.secondary { background: transparent; color: var(--accent); border: 2px solid var(--accent); }
form.activate { margin-top: 28px; padding-top: 16px; border-top: 1px solid color-mix(in srgb, CanvasText 15%, transparent); }
form.activate p { margin-bottom: 12px; }
.match { display: flex; align-items: center; justify-content: space-between; gap: 12px; margin: 0 0 20px;
  padding: 12px 16px; border-radius: 12px; background: color-mix(in srgb, var(--accent) 12%, transparent); }
.match strong { font-size: 2.2rem; letter-spacing: .05em; }
table { width: 100%; border-collapse: collapse; font-size: .9rem; }
td, th { text-align: left; padding: 6px 4px; vertical-align: top; border-bottom: 1px solid color-mix(in srgb, CanvasText 15%, transparent); }
.wide { max-width: 960px; }
label { display: block; margin: 0 0 6px; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; min-height: 48px; font: inherit; padding: 8px 12px; margin: 0 0 16px;
  border-radius: 10px; border: 1px solid color-mix(in srgb, CanvasText 35%, transparent); background: Field; color: FieldText; }
ul.problems { color: var(--reject); padding-left: 20px; margin: 0 0 16px; }
button:disabled { opacity: .5; cursor: default; }
`;
