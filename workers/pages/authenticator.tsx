import { HtmlDocument } from "./document";

/**
 * Shell of the authenticator web app. Server-rendered, no inline script (CSP script-src
 * 'self'): /app/app.js shows one section at a time and fills in the texts.
 */
export function AuthenticatorPage(props: { vapidPublicKey: string | null; appActivation: boolean }) {
  return (
    <HtmlDocument>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
        <meta name="referrer" content="no-referrer" />
        <meta name="robots" content="noindex, nofollow" />
        <meta name="theme-color" content="#0b6e4f" />
        <title>Edge MFA Authenticator</title>
        <link rel="manifest" href="/app/manifest.webmanifest" />
        <link rel="icon" href="/app/icon.svg" type="image/svg+xml" />
        <link rel="apple-touch-icon" href="/app/icon.svg" />
        <link rel="stylesheet" href="/assets/app.css" />
        <link rel="stylesheet" href="/app/app.css" />
        <script type="module" src="/app/app.js"></script>
      </head>
      <body data-vapid={props.vapidPublicKey ?? ""} data-app-activation={props.appActivation ? "on" : ""}>
        <main class="card">
          <section id="view-loading">
            <p class="muted">Loading…</p>
          </section>

          <section id="view-activate" hidden>
            <h1>Activate this phone</h1>
            <p>
              Approve sign-ins for <strong id="activate-msisdn"></strong> with a notification instead of an SMS link, and get codes that
              work offline.
            </p>
            <p id="activate-has-device" class="warning" hidden>
              This number already has the app on another device. Each of its devices is told and can refuse; this one joins them only after
              a waiting period.
            </p>
            <div id="activate-replace-box" class="warning" hidden>
              <p>
                This browser is already activated for <strong id="activate-stored"></strong>. Activating again replaces it here. Only
                continue if you started this yourself.
              </p>
              <label>
                <input type="checkbox" id="activate-replace" /> Replace the activation in this browser
              </label>
            </div>
            <label for="activate-code">Activation code from the SMS we just sent</label>
            <input id="activate-code" inputmode="numeric" autocomplete="one-time-code" maxlength={6} />
            <label for="activate-name">Name of this device (your other devices see it)</label>
            <input id="activate-name" class="text" maxlength={40} autocomplete="off" />
            <p id="activate-no-uv" class="muted" hidden>
              This device has no fingerprint, face or screen-lock confirmation for web apps. It can still approve most sign-ins, but not for
              services that require that confirmation.
            </p>
            <p class="muted">Allow notifications when your browser asks. Add this app to your home screen to keep it handy.</p>
            <div class="buttons">
              <button type="button" id="activate-btn" class="accept">
                Activate
              </button>
            </div>
          </section>

          <section id="view-waiting" hidden>
            <h1>Waiting to join</h1>
            <p id="waiting-text"></p>
          </section>

          <section id="view-none" hidden>
            <h1>Not activated</h1>
            <p id="none-reason" class="warning" hidden></p>
            <form id="request-form" autocomplete="on" hidden>
              <p>Activate this phone to approve sign-ins with a notification and to get codes that work offline.</p>
              <label for="request-msisdn">Your mobile number, with country code</label>
              <input
                id="request-msisdn"
                name="tel"
                type="tel"
                inputmode="tel"
                autocomplete="tel"
                placeholder="+46701234567"
                maxlength={20}
              />
              <button type="submit" id="request-btn" class="accept">
                Send activation SMS
              </button>
            </form>
            <p id="none-link-help">
              You can also activate from a sign-in: open the link in a sign-in SMS on this phone and tap “Use the app on this phone”.
            </p>
          </section>

          <section id="view-requested" hidden>
            <h1>Check your SMS</h1>
            <p>
              If <strong id="requested-msisdn"></strong> can receive SMS, an activation SMS is on its way. Open its link on this phone, then
              type the code from the same SMS.
            </p>
            <p class="muted" id="requested-help">
              No SMS after a few minutes? Check the number. You can ask again after a minute; a number gets only a few activation SMS an
              hour.
            </p>
            <div class="buttons">
              <button type="button" id="request-other" class="secondary">
                Use another number
              </button>
              <button type="button" id="request-again" class="accept">
                Send again
              </button>
            </div>
          </section>

          <section id="view-home" hidden>
            <h1>Authenticator</h1>
            <p class="muted" id="home-msisdn"></p>
            <p id="connection-notice" class="warning" role="status" hidden></p>
            <div id="replacement-box" class="warning" hidden>
              <p id="replacement-text"></p>
              <div class="buttons">
                <button type="button" id="refuse-btn" class="reject">
                  Refuse: not my device
                </button>
                <button type="button" id="approve-join-btn" class="accept">
                  Allow now: I added it
                </button>
              </div>
            </div>
            <div id="login-code-box" class="otp" aria-live="polite" hidden>
              <span class="muted">Login code</span>
              <strong id="login-code"></strong>
              <span class="muted" id="login-code-text"></span>
            </div>
            <div class="otp" aria-live="polite">
              <span class="muted">One-time code</span>
              <strong id="totp-code">––– –––</strong>
              <div class="bar">
                <div id="totp-bar"></div>
              </div>
              <span class="muted" id="totp-left"></span>
            </div>
            <p class="muted" id="push-status"></p>
            <p id="push-help" class="warning" hidden></p>
            <button type="button" id="push-btn" class="secondary" hidden>
              Turn on notifications
            </button>
            <details>
              <summary>Phone not reachable? Sign a challenge</summary>
              <form id="cr-form" autocomplete="off">
                <label for="cr-input">Code shown on the sign-in screen</label>
                <input id="cr-input" name="challenge" inputmode="numeric" maxlength={16} autocapitalize="characters" />
                <button type="submit" class="accept">
                  Sign
                </button>
              </form>
              <p id="cr-result" aria-live="polite"></p>
            </details>
            <details id="devices-box">
              <summary>Your devices</summary>
              <ul id="devices-list"></ul>
              <p class="muted">To remove another device, open the app on it, or ask your help desk.</p>
            </details>
            <button type="button" id="remove-btn" class="link">
              Remove this device
            </button>
          </section>

          <section id="view-challenge" hidden>
            {/* biome-ignore lint/a11y/useHeadingContent: client/challenge.ts fills the heading with the challenge title */}
            <h1 id="ch-title"></h1>
            <p id="ch-text"></p>
            <p class="muted" id="ch-help">
              Only accept if you are signing in right now. If you are not, reject: someone may have your password.
            </p>
            <div id="ch-numbers" hidden>
              <p>
                <strong>Tap the number shown on the sign-in page.</strong>
              </p>
              <div class="numbers"></div>
            </div>
            <p id="ch-uv-note" class="muted" hidden></p>
            <div id="ch-approvers" hidden>
              <p>
                <strong>Who should approve this sign-in?</strong>
              </p>
              <div class="approvers"></div>
            </div>
            <div class="buttons">
              <button type="button" id="ch-reject" class="reject"></button>
              <button type="button" id="ch-accept" class="accept"></button>
            </div>
          </section>

          <section id="view-result" hidden>
            {/* biome-ignore lint/a11y/useHeadingContent: client/ui.ts fills the heading with the result */}
            <h1 id="result-title"></h1>
            <p id="result-text"></p>
            <div class="buttons">
              <button type="button" id="result-home" class="secondary">
                Done
              </button>
            </div>
          </section>

          <p id="error" role="alert" class="error" hidden></p>
        </main>
      </body>
    </HtmlDocument>
  );
}

export const AUTHENTICATOR_CSS = `
[hidden] { display: none !important; }
.otp { display: grid; gap: 6px; justify-items: center; padding: 18px; margin: 8px 0 16px; border-radius: 14px;
  background: color-mix(in srgb, var(--accent) 10%, transparent); }
.otp strong { font: 700 2.4rem/1.1 ui-monospace, SFMono-Regular, Menlo, monospace; letter-spacing: .08em; }
.bar { width: 100%; height: 6px; border-radius: 3px; background: color-mix(in srgb, CanvasText 12%, transparent); overflow: hidden; }
#totp-bar { height: 100%; background: var(--accent); transition: width 1s linear; }
details { margin: 16px 0; }
summary { cursor: pointer; font-weight: 600; padding: 10px 0; }
form#cr-form, form#request-form { display: grid; gap: 10px; }
input { font: inherit; font-size: 1.3rem; padding: 12px; border-radius: 10px; letter-spacing: .1em;
  border: 1px solid color-mix(in srgb, CanvasText 30%, transparent); background: Canvas; color: CanvasText; }
#cr-result { font-weight: 600; font-size: 1.2rem; margin-top: 12px; }
.numbers { display: flex; gap: 12px; margin-bottom: 16px; }
button.number { background: var(--accent); font-size: 1.8rem; min-height: 72px; }
.approvers { display: grid; gap: 10px; margin-bottom: 16px; }
button.approver { background: var(--accent); }
button.link { background: none; color: var(--reject); min-height: 44px; font-weight: 500; width: 100%; }
button:disabled { opacity: .5; cursor: wait; }
.error { color: var(--reject); font-weight: 600; margin-top: 16px; }
.warning { border: 2px solid var(--reject); border-radius: 12px; padding: 10px 14px; margin: 12px 0; }
#activate-code, #activate-name, #request-msisdn { width: 100%; box-sizing: border-box; margin: 6px 0 12px; }
input.text { letter-spacing: normal; font-size: 1.1rem; }
#devices-list { padding-left: 1.2em; }
`;

export const MANIFEST = {
  name: "Edge MFA Authenticator",
  short_name: "Authenticator",
  description: "Approve sign-ins with a notification, and get codes that work offline.",
  id: "/app/",
  start_url: "/app/",
  scope: "/app/",
  display: "standalone",
  orientation: "portrait",
  background_color: "#ffffff",
  theme_color: "#0b6e4f",
  icons: [
    { src: "/app/icon.svg", sizes: "any", type: "image/svg+xml", purpose: "any" },
    { src: "/app/icon.svg", sizes: "any", type: "image/svg+xml", purpose: "maskable" },
  ],
};

/** A shield with a check mark; the safe zone keeps it whole as a maskable icon. */
export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">
<rect width="512" height="512" fill="#0b6e4f"/>
<path d="M256 96l128 48v92c0 86-54 150-128 180-74-30-128-94-128-180v-92z" fill="#fff"/>
<path d="M196 262l42 42 82-90" fill="none" stroke="#0b6e4f" stroke-width="32" stroke-linecap="round" stroke-linejoin="round"/>
</svg>`;
