/** The console's one stylesheet, served same-origin at /admin/assets/console.css (the CSP allows no inline style). */
export const CONSOLE_CSS = `
:root { color-scheme: light dark; --accent: #0b6e4f; --danger: #a4161a; --line: color-mix(in srgb, CanvasText 15%, transparent); }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: Canvas; color: CanvasText; }
nav.top { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; padding: 10px 20px; border-bottom: 1px solid var(--line); }
nav.top a { color: inherit; text-decoration: none; font-weight: 600; }
nav.top a:hover { color: var(--accent); }
nav.top .who { margin-left: auto; opacity: .75; }
nav.top form { margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 20px; }
main.narrow { max-width: 420px; margin-top: 10vh; border: 1px solid var(--line); border-radius: 12px; }
h1 { font-size: 1.4rem; margin: 0 0 16px; }
h2 { font-size: 1.1rem; margin: 28px 0 10px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
fieldset { border: 1px solid var(--line); border-radius: 8px; margin: 0 0 14px; padding: 10px 14px; }
legend { font-weight: 600; }
label { display: block; margin: 6px 0; }
label > span { display: block; font-size: .9rem; opacity: .8; }
label.check { display: flex; gap: 8px; align-items: center; }
label.check > span { display: inline; opacity: 1; font-size: inherit; }
input[type=text], input[type=password], input[type=number], input[type=date], select, textarea {
  font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; width: 100%; max-width: 480px; background: Field; color: FieldText; }
textarea { font-family: ui-monospace, monospace; min-height: 90px; max-width: 100%; }
button { font: inherit; font-weight: 600; padding: 6px 14px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.danger { background: var(--danger); border-color: var(--danger); }
button.plain { background: transparent; color: inherit; border-color: var(--line); }
form.inline { display: inline; }
.error { color: var(--danger); font-size: .9rem; }
.banner { padding: 10px 14px; border-radius: 8px; border: 1px solid var(--danger); margin: 0 0 16px; }
.notice { padding: 10px 14px; border-radius: 8px; border: 1px solid var(--accent); margin: 0 0 16px; }
code.secret { display: block; padding: 10px; font-size: 1rem; word-break: break-all; border: 1px dashed var(--accent); border-radius: 6px; user-select: all; }
.muted { opacity: .7; font-size: .9rem; }
`;
