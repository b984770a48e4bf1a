import { type Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { z } from "zod";
import { loadConfig } from "../config/load";
import { USERNAME_MAX } from "../../core/contracts/relay";
import { clientIp } from "../lib/client-ip";
import { type ResetContext, type ResetEndpoint, resetEndpoint, startReset, submitPassword, viewReset } from "../domain/password-reset";
import type { RelayAsk } from "../domain/reset-relay";
import type { ResetOverReason, ResetView } from "../objects/reset-session/contract";
import { ResetChangingPage, ResetMessagePage, ResetPasswordPage, ResetStartPage, ResetWaitingPage } from "../pages/reset";
import { bodyCap } from "./body-limit";
import { publicBaseUrl } from "./respond";
import { htmlPage, validate } from "./validate";

/**
 * The password reset portal: /reset (the default endpoint's) and /reset/<endpoint>. One URL
 * per endpoint: a GET shows the visitor's current step (their reset is named by a cookie),
 * a POST carries the step it answers. Forms must come from our own origin (hono/csrf), and
 * the password form's flow token is single use and bound to the cookie's reset.
 */
type Env_ = { Bindings: Env };

/** The cookie naming the visitor's reset: host-only, HTTPS only, never sent cross-site, no script access. */
const COOKIE = "__Host-edge-mfa-reset";

const OVER: Record<ResetOverReason, { title: string; text: string }> = {
  not_approved: {
    title: "Reset not approved",
    text: "The reset was not approved in time, so the password stays as it was. You can start again.",
  },
  expired: { title: "Reset expired", text: "The reset took too long, so the password stays as it was. You can start again." },
  unavailable: {
    title: "Reset not available",
    text: "Password reset is not available right now. Try again later or contact the help desk.",
  },
  failed: { title: "Password not changed", text: "The password could not be changed. Contact the help desk." },
};

const StepForm = z.discriminatedUnion("step", [
  z.object({ step: z.literal("start"), username: z.string().min(1).max(USERNAME_MAX) }),
  z.object({ step: z.literal("password"), flow: z.string().min(1).max(100), jwe: z.string().min(1).max(8192) }),
]);

const badForm = htmlPage(400, "Bad request", "The form was incomplete. Go back and try again.");

export function resetPortal(relayAskFor: (env: Env) => RelayAsk) {
  const portal = new Hono<Env_>();
  // The JWE of a long password fits in well under 16 KB.
  portal.use(bodyCap(16 * 1024));
  portal.use(csrf());

  const context = (c: Context<Env_>): ResetContext => ({
    env: c.env,
    config: loadConfig(c.env),
    ask: relayAskFor(c.env),
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    ip: clientIp(c.req.raw.headers),
    publicOrigin: publicBaseUrl(c),
  });

  async function endpointOf(c: Context<Env_>): Promise<{ ctx: ResetContext; r: ResetEndpoint } | null> {
    const ctx = context(c);
    const r = await resetEndpoint(c.env, ctx.config, c.req.param("endpoint") ?? ctx.config.defaultEndpoint);
    return r ? { ctx, r } : null;
  }

  const notOffered = (c: Context) => c.html(<ResetMessagePage title="Not found" text="There is no password reset here." />, 404);

  function render(c: Context<Env_>, r: ResetEndpoint, view: ResetView, status: 200 | 403 | 422 = 200) {
    const action = c.req.path;
    if (view.kind !== "not_found" && view.endpoint !== r.endpoint.name) return c.html(<ResetStartPage action={action} />);
    switch (view.kind) {
      case "not_found":
        return c.html(<ResetStartPage action={action} />);
      case "waiting":
        return c.html(<ResetWaitingPage action={action} />);
      case "password":
        return c.html(
          <ResetPasswordPage
            action={action}
            flow={view.flow}
            username={view.username}
            encryptionJwk={r.encryptionJwk}
            policy={r.reset.policy}
            exp={Math.floor(view.expiresAt / 1000)}
            message={view.message}
          />,
          status,
        );
      case "changing":
        return c.html(<ResetChangingPage />);
      case "done":
        return c.html(<ResetMessagePage title="Password changed" text="Your password was changed. Sign in with the new password." />);
      case "over": {
        const o = OVER[view.reason];
        return c.html(<ResetMessagePage title={o.title} text={view.message ?? o.text} action={action} />, status);
      }
    }
  }

  async function show(c: Context<Env_>) {
    const found = await endpointOf(c);
    if (!found) return notOffered(c);
    if (c.req.query("restart") !== undefined) return c.html(<ResetStartPage action={c.req.path} />);
    return render(c, found.r, await viewReset(c.env, getCookie(c, COOKIE)));
  }

  async function answer(c: Context<Env_>, form: z.infer<typeof StepForm>) {
    const found = await endpointOf(c);
    if (!found) return notOffered(c);
    const { ctx, r } = found;
    if (form.step === "start") {
      const started = await startReset(ctx, r, form.username);
      if (started.kind === "bad_username") return c.html(<ResetStartPage action={c.req.path} message="Enter your username." />, 400);
      if (started.kind === "rate_limited") {
        c.header("retry-after", String(Math.ceil(started.retryAfterMs / 1000)));
        return c.html(<ResetMessagePage title="Too many resets" text="Too many password resets were asked for. Try again later." />, 429);
      }
      setCookie(c, COOKIE, started.token, {
        path: "/",
        secure: true,
        httpOnly: true,
        sameSite: "Strict",
        maxAge: r.reset.minutes * 60 + 600,
      });
      return c.redirect(c.req.path, 303);
    }
    const outcome = await submitPassword(ctx, getCookie(c, COOKIE), form.flow, form.jwe);
    switch (outcome.kind) {
      case "done":
        return render(c, r, { kind: "done", endpoint: r.endpoint.name });
      case "refused":
        return c.html(
          <ResetMessagePage
            title="Form already used"
            text="This form was already sent, or it does not belong to this reset. Open the reset page again."
            action={c.req.path}
          />,
          403,
        );
      case "password":
        return render(c, r, outcome, 422);
      default:
        return render(c, r, outcome);
    }
  }

  portal.get("/", show);
  portal.get("/:endpoint", show);
  portal.post("/", validate("form", StepForm, badForm), (c) => answer(c, c.req.valid("form")));
  portal.post("/:endpoint", validate("form", StepForm, badForm), (c) => answer(c, c.req.valid("form")));
  return portal;
}
