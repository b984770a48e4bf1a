import { DEFAULT_TEXTS, type Config, type Endpoint, type ResetSettings, siteEncryptionJwk } from "../config/schema";
import { normalizeUsername, USERNAME_MAX } from "../../core/contracts/relay";
import { maskMsisdn } from "../../core/msisdn";
import { randomToken, sha256Hex, isWellFormedToken } from "../../core/tokens";
import type { ResetAttach, ResetView } from "../objects/reset-session/contract";
import { auditAuth } from "../store/audit";
import { resolveEndpoint } from "../store/endpoints";
import { smsProviderFromEnv } from "../sms/from-env";
import { log } from "../lib/log";
import { approverDirectory } from "./approvers";
import { startSession } from "./authenticate";
import { admitByIp, admitByKey } from "./ip-limit";
import { checkPinnedNumber } from "./number-pins";
import type { RelayAsk } from "./reset-relay";
import { RelayLinkError } from "./relay-link";
import type { LinkResult } from "../../core/contracts/relay-link";
import { objectStub } from "../lib/durable-objects";

/**
 * The password reset portal's flow (/reset): username -> the relay site looks the user up
 * (their number must be the one pinned for them) -> an AuthSession proves the phone and gets
 * an approver's Accept (Assisted Login) -> the browser encrypts the new password to the
 * site's key -> the relay changes it -> an SMS tells the user. The edge never holds the
 * password: it forwards a JWE it cannot open.
 *
 * Enumeration: the start answers the same for every username, before anything is looked up;
 * the lookup and the SMS happen after the response (waitUntil), and the waiting page leaves
 * early only on approval, so an unknown user, an unanswered phone and a refusal look alike.
 */

export interface ResetContext {
  env: Env;
  config: Config;
  ask: RelayAsk;
  waitUntil: (p: Promise<unknown>) => void;
  ip: string | null;
  publicOrigin: string;
}

/** A reset-enabled endpoint with what the reset needs from the config. */
export interface ResetEndpoint {
  endpoint: Endpoint;
  reset: ResetSettings;
  site: string;
  encryptionJwk: { kty: string; crv: string; x: string; y: string };
}

/** How long the approval step may take (the AuthSession's own limit is 300 s). */
export const APPROVAL_MS = 300_000;
const LOOKUP_TIMEOUT_MS = 10_000;
const CHANGE_TIMEOUT_MS = 20_000;

/** The endpoint a /reset URL names, if it offers the reset and its relay site has a key. */
export async function resetEndpoint(env: Env, config: Config, name: string): Promise<ResetEndpoint | null> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) return null;
  const endpoint = await resolveEndpoint(env.DB, config.endpoints, name);
  if (!endpoint?.reset) return null;
  const site = endpoint.reset.site ?? endpoint.name;
  const encryptionJwk = siteEncryptionJwk(config, site);
  if (!encryptionJwk) {
    log.error("config_error", { error: `reset on endpoint ${endpoint.name}: no relay of site ${site} has an encryptionJwk` });
    return null;
  }
  if (!endpoint.reset.approvers && !endpoint.assistedLogin) {
    log.error("config_error", { error: `reset on endpoint ${endpoint.name}: no reset.approvers and no assistedLogin approvers` });
    return null;
  }
  return { endpoint, reset: endpoint.reset, site, encryptionJwk };
}

/** The ResetSession of a cookie token (malformed: none). */
export async function resetSessionName(token: string | undefined): Promise<string | null> {
  return token && isWellFormedToken(token) ? sha256Hex(token) : null;
}

function audit(ctx: ResetContext, endpoint: string, result: string, detail: Record<string, unknown>, msisdn = "") {
  ctx.waitUntil(
    auditAuth(ctx.env.DB, { endpoint, msisdn, channel: "reset", result, latencyMs: 0, detail }).catch((e: unknown) =>
      log.error("audit_write_failed", { error: String(e) }),
    ),
  );
}

export type StartOutcome = { kind: "started"; token: string } | { kind: "rate_limited"; retryAfterMs: number } | { kind: "bad_username" };

/**
 * A visitor asks to reset `rawUsername`: limits per client address and per username, a new
 * ResetSession (its token goes in the visitor's cookie), and the lookup after the response.
 */
export async function startReset(ctx: ResetContext, r: ResetEndpoint, rawUsername: string): Promise<StartOutcome> {
  const username = normalizeUsername(rawUsername);
  if (!username || username.length > USERNAME_MAX) return { kind: "bad_username" };
  const byIp = await admitByIp(ctx.env, "reset", ctx.ip, r.reset.perIp);
  if (!byIp.allowed) {
    audit(ctx, r.endpoint.name, "rate_limited", { step: "start", limit: "ip" });
    return { kind: "rate_limited", retryAfterMs: byIp.retryAfterMs };
  }
  // Per username, whoever asks: one limiter object per (endpoint, username), keyed by a hash.
  const userKey = `reset-user:${await sha256Hex(`${r.endpoint.name}\n${username}`)}`;
  const byUser = await admitByKey(ctx.env, userKey, "reset-user", r.reset.perUsername);
  if (!byUser.allowed) {
    audit(ctx, r.endpoint.name, "rate_limited", { step: "start", limit: "username", username });
    return { kind: "rate_limited", retryAfterMs: byUser.retryAfterMs };
  }
  const token = randomToken();
  const name = await sha256Hex(token);
  const now = Date.now();
  const session = objectStub(ctx.env, "RESET_SESSION", name);
  await session.begin({
    endpoint: r.endpoint.name,
    site: r.site,
    username,
    expiresAt: now + r.reset.minutes * 60_000,
    approvalDeadline: now + APPROVAL_MS,
  });
  audit(ctx, r.endpoint.name, "started", { step: "start", username, reset: name.slice(0, 12) });
  ctx.waitUntil(
    lookUpAndAsk(ctx, r, username, name.slice(0, 12))
      .catch((e: unknown) => {
        log.error("reset_lookup_failed", { endpoint: r.endpoint.name, error: String(e) });
        return { kind: "unavailable" } as const;
      })
      .then((a) => session.attach(a)),
  );
  return { kind: "started", token };
}

/** After the response: the relay's lookup, the pin check, and the AuthSession for a real user. */
async function lookUpAndAsk(ctx: ResetContext, r: ResetEndpoint, username: string, reset: string): Promise<ResetAttach> {
  let lookup: LinkResult<"user.lookup">;
  try {
    lookup = await ctx.ask(r.site, "user.lookup", { username }, { timeoutMs: LOOKUP_TIMEOUT_MS });
  } catch (e) {
    audit(ctx, r.endpoint.name, "unavailable", { step: "lookup", username, reset, error: String(e).slice(0, 200) });
    return { kind: "unavailable" };
  }
  if (!lookup.found || !lookup.msisdn) {
    audit(ctx, r.endpoint.name, lookup.found ? "no_number" : "unknown_user", { step: "lookup", username, reset });
    return { kind: "silent" };
  }
  const msisdn = lookup.msisdn;
  // Pinned under the account's own name where the relay gives it: another spelling that finds
  // the same account (a search over uid and mail, say) must meet the same pin, or a number
  // changed in the directory would be pinned afresh under it.
  const pin = await checkPinnedNumber(ctx.env, ctx.waitUntil, {
    endpoint: r.endpoint,
    relay: `site:${r.site}`,
    username: lookup.username ?? username,
    msisdn,
    purpose: "password-reset",
  });
  if (!pin.ok) {
    audit(ctx, r.endpoint.name, "number_changed", { step: "lookup", username, reset }, maskMsisdn(msisdn));
    return { kind: "silent" };
  }
  const approverSource = r.reset.approvers ? { name: r.endpoint.name, assistedLogin: { approvers: r.reset.approvers } } : r.endpoint;
  const texts = {
    ...DEFAULT_TEXTS,
    sms: "Password reset requested for your account. Approve it only if you asked for it:",
    title: "Password reset",
    authentication: `A password reset was requested for the account "${username}". Was it you? If not, reject it.`,
    touchAccept: "Approved. An approver must approve the reset too.",
    touchReject: "Rejected. The password stays as it was.",
  };
  const started = await startSession(
    ctx.env,
    ctx.config,
    {
      msisdn,
      endpoint: r.endpoint,
      texts,
      timeoutMs: APPROVAL_MS,
      app: {
        activation: false,
        push: r.endpoint.usePush ? { graceMs: r.endpoint.pushGraceSeconds * 1000 } : null,
        matchNumber: null,
        callerShowsNumber: false,
      },
      assisted: {
        approvers: () => approverDirectory(ctx.env, approverSource).list(approverSource),
        linkBase: ctx.publicOrigin,
        purpose: "password-reset",
        // Whose password this is: as named, and as the directory names the account found.
        requesterUsernames: [...new Set([username, ...(lookup.username ? [lookup.username] : [])])],
      },
    },
    ctx.publicOrigin,
  );
  if (started.kind === "refused") {
    audit(ctx, r.endpoint.name, "refused", { step: "verify", username, reset, reason: started.reason }, maskMsisdn(msisdn));
    return { kind: "silent" };
  }
  if (started.kind === "no_approvers") {
    audit(ctx, r.endpoint.name, "refused", { step: "verify", username, reset, reason: "no_approvers" }, maskMsisdn(msisdn));
    return { kind: "silent" };
  }
  audit(ctx, r.endpoint.name, "verification_sent", { step: "verify", username, reset, channel: started.channel }, maskMsisdn(msisdn));
  // Assisted (its approvers): always a session object of its own, named in the reset's state.
  return { kind: "started", authSession: started.address.name, msisdn };
}

/** The page of the visitor's reset (a GET: changes only what time and the approval changed). */
export async function viewReset(env: Env, token: string | undefined): Promise<ResetView> {
  const name = await resetSessionName(token);
  return name ? objectStub(env, "RESET_SESSION", name).view() : { kind: "not_found" };
}

export type SubmitOutcome = { kind: "done" } | Extract<ResetView, { kind: "password" | "over" | "not_found" }> | { kind: "refused" };

/**
 * A password.change that went out but got no answer (the edge or the relay timed out, or the
 * link closed mid-request) may have changed the password all the same: the user must not be
 * told it was not. Only "no relay connected" and a refusal before the op ran are sure.
 */
function outcomeUnknown(e: unknown): boolean {
  return !(e instanceof RelayLinkError && (e.code === "no_relay" || e.code === "unsupported" || e.code === "bad_request"));
}
const OUTCOME_UNKNOWN =
  "No answer came from the directory in time, so the password may or may not have been changed. Try to sign in with the new password; if that fails, send it again here.";

/** The shape of a compact JWE (five base64url parts; the key part is empty for ECDH-ES): the edge cannot open it. */
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The password form: its flow token (single use), then the JWE to the relay. A refusal by
 * the policy (the relay's or the directory's) returns to the form with its words; success
 * tells the user by SMS. The JWE and the password are neither logged nor audited.
 */
export async function submitPassword(ctx: ResetContext, token: string | undefined, flow: string, jwe: string): Promise<SubmitOutcome> {
  const name = await resetSessionName(token);
  if (!name) return { kind: "not_found" };
  const session = objectStub(ctx.env, "RESET_SESSION", name);
  const claim = await session.claim(flow);
  if (claim.kind !== "claimed") {
    if (claim.kind === "refused") log.warn("reset_form_refused", { reset: name.slice(0, 12) });
    return claim;
  }
  const reset = name.slice(0, 12);
  if (!COMPACT_JWE.test(jwe)) {
    audit(ctx, claim.endpoint, "bad_form", { step: "password", username: claim.username, reset });
    const s = await session.settle({
      changed: false,
      retry: true,
      message: "The new password did not arrive encrypted. Reload the page and try again.",
    });
    return s.kind === "done" ? { kind: "done" } : s;
  }
  audit(ctx, claim.endpoint, "password_submitted", { step: "password", username: claim.username, reset });
  let answer: LinkResult<"password.change">;
  try {
    answer = await ctx.ask(claim.site, "password.change", { username: claim.username, jwe }, { timeoutMs: CHANGE_TIMEOUT_MS });
  } catch (e) {
    const unknown = outcomeUnknown(e);
    audit(ctx, claim.endpoint, unknown ? "outcome_unknown" : "unavailable", {
      step: "change",
      username: claim.username,
      reset,
      error: String(e).slice(0, 200),
    });
    answer = {
      changed: false,
      reason: "directory_unavailable",
      message: unknown ? OUTCOME_UNKNOWN : "The password could not be changed now. Try again in a minute.",
    };
  }
  const settled = await session.settle(
    answer.changed
      ? { changed: true }
      : // Policy refusals and a moment's outage may be retried with the same approval.
        { changed: false, retry: answer.reason === "policy" || answer.reason === "directory_unavailable", message: answer.message },
  );
  if (settled.kind !== "done") {
    audit(ctx, claim.endpoint, answer.changed ? "changed_unrecorded" : `refused_${answer.reason}`, {
      step: "change",
      username: claim.username,
      reset,
    });
    return settled;
  }
  audit(
    ctx,
    claim.endpoint,
    "changed",
    { step: "change", username: claim.username, reset },
    settled.msisdn ? maskMsisdn(settled.msisdn) : "",
  );
  if (settled.msisdn) {
    const to = settled.msisdn;
    ctx.waitUntil(
      smsProviderFromEnv(ctx.env)
        .send({
          to,
          text: `The password of your account "${settled.username}" was changed. If this was not you, call your help desk now.`,
          link: "",
        })
        .catch((e: unknown) => log.error("delivery_failed", { channel: "reset-notice", error: String(e) })),
    );
  }
  return { kind: "done" };
}
