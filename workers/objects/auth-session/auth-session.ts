import { DurableObject } from "cloudflare:workers";
import { vapidFromEnv } from "../../config/app-secrets";
import type { Texts } from "../../config/schema";
import type { AnswerClaims, ApproverChoice, ChallengeDetails } from "../../../core/contracts/app-api";
import type { FinalStatus, SessionStatus } from "../../../core/codes";
import { maskMsisdn } from "../../../core/msisdn";
import { judgeAnswer, linkPageMatch, withoutApp, acceptOffered, type LinkPageMatch, type MatchSetup } from "../../../core/match-policy";
import { matchChoices } from "../../../core/number-match";
import { randomToken, sha256Hex, timingSafeEqualString } from "../../../core/tokens";
import { sendWebPush } from "../../push/web-push";
import { pushHostsFromEnv } from "../../lib/push-hosts";
import { smsProviderFromEnv } from "../../sms/from-env";
import type { PushTarget } from "../subscriber/contract";
import type { Subscriber } from "../subscriber/subscriber";
import { log, logEvent } from "../../lib/log";
import type {
  ActivationGrant,
  AppDecideOutcome,
  AppView,
  ApproverPendingView,
  AssistedInit,
  AssistedPhase,
  Channel,
  ChooseApproverView,
  ChooseOutcome,
  DecideOutcome,
  SessionInit,
  SessionView,
} from "./contract";

interface AssistedState extends AssistedInit {
  phase: AssistedPhase;
  /**
   * The picked approver. `link` names the alias object of their link (SHA-256 of its token);
   * `push` is the challenge pushed to their app, if they have one.
   */
  approver?: { name: string; msisdn: string; link: string; csrf: string; push?: PushedChallenge };
}

/** A challenge pushed to an app; `nonce` is the single-use nonce of the last details fetch. */
interface PushedChallenge {
  deviceId: string;
  challengeId: string;
  nonce: string | null;
}

/**
 * The approver's link token names an AuthSession object too; that object holds only this
 * alias and forwards the approver's page and answer to the main session.
 */
interface AliasState {
  target: string;
  self: string;
  purgeAt: number;
}

interface SessionState {
  status: SessionStatus;
  createdAt: number;
  expiresAt: number;
  /** After this the tombstone is deleted and the link reads as unknown. */
  purgeAt: number | null;
  tombstoneMs: number;
  endpoint: string;
  leaseShard: string | null;
  name?: string;
  channel?: Channel;
  /** Pending only: dropped when the session ends (data minimisation). */
  msisdn?: string;
  texts?: Texts;
  csrf?: string;
  activation?: boolean;
  matchNumber?: number | null;
  choices?: number[];
  /** The caller shows matchNumber (match-number); else only the SMS link page does. */
  callerShowsNumber?: boolean;
  /** The challenge pushed to the user's app. */
  push?: PushedChallenge;
  /** The endpoint's push grace period (null: push off), also used for an approver's app. */
  pushGraceMs?: number | null;
  /**
   * The SMS owed as push fallback, to the user or (`to`) to the Assisted Login approver. It
   * holds the link, so it lives only until it is sent or the session ends; SMS-first sessions
   * never store the link at all.
   */
  smsDue?: { at: number; text: string; link: string; to?: string } | null;
  /** Assisted Login only (pending only: holds approver numbers). */
  assisted?: AssistedState;
}


const STATE_KEY = "session";
const ALIAS_KEY = "alias";
/** Bound on one push request; a slow push service must not hold up the SMS fallback. */
const PUSH_TIMEOUT_MS = 5000;
/** An approver's entry in their Subscriber lapses this long after the deadline if never released. */
const APPROVER_ENTRY_MARGIN_MS = 60_000;
const APPROVER_ACCEPTED = "Thank you. The sign-in was approved.";
const APPROVER_REJECTED = "Thank you. The sign-in was rejected.";
const NUMBER_MISMATCH = "The number did not match, so the sign-in was rejected.";

/**
 * One blocking Magic Link session. It is named by the SHA-256 of its link token, keeps its
 * state in storage and its timers (push grace, expiry) in one alarm, so a restarted instance
 * picks up exactly where the old one was; the API call waiting in `wait()` simply calls again
 * after an eviction.
 */
export class AuthSession extends DurableObject<Env> {
  #state: SessionState | null | undefined;
  #waiters: Array<(status: FinalStatus) => void> = [];

  /** Stores the session and delivers it: push to an active app, else (or also) the SMS link. */
  async start(init: SessionInit): Promise<{ status: SessionStatus; channel: Channel }> {
    if (await this.#load()) throw new Error("session already exists");
    const now = Date.now();
    const matchNumber = init.app.matchNumber;
    await this.#save({
      status: "pending",
      createdAt: now,
      expiresAt: now + init.timeoutMs,
      purgeAt: null,
      tombstoneMs: init.tombstoneMs,
      endpoint: init.endpoint,
      leaseShard: init.leaseShard,
      name: init.name,
      channel: "sms",
      msisdn: init.msisdn,
      texts: init.texts,
      csrf: randomToken(),
      activation: init.app.activation,
      pushGraceMs: init.app.push?.graceMs ?? null,
      matchNumber,
      choices: matchNumber === null ? undefined : matchChoices(matchNumber),
      callerShowsNumber: init.app.callerShowsNumber,
      ...(init.assisted ? { assisted: { ...init.assisted, phase: "user" as const } } : {}),
    });
    await this.ctx.storage.setAlarm(now + init.timeoutMs);

    const pushed = init.app.push ? await this.#push(init) : false;
    if (!pushed) {
      // No app holds the challenge: a number only the link page would show matches nothing.
      if (!this.#state!.push) await this.#matchWithoutApp();
      await this.#sendSms(init.smsText, init.link, { failSession: true });
    } else if (matchNumber !== null && !init.app.callerShowsNumber) {
      // The number to pick is shown only on the SMS link page, so the user needs it now.
      await this.#update((s) => ({ ...s, channel: "push+sms" }));
      await this.#sendSms(init.smsText, init.link, { failSession: false });
    } else {
      const at = Date.now() + init.app.push!.graceMs;
      await this.#update((s) => ({ ...s, smsDue: { at, text: init.smsText, link: init.link } }));
      // Unless the app already answered (then the alarm is the tombstone purge, keep it).
      if (this.#state!.status === "pending") await this.ctx.storage.setAlarm(Math.min(at, this.#state!.expiresAt));
    }
    return { status: this.#state!.status, channel: this.#state!.channel ?? "sms" };
  }

  /**
   * Resolves with the final status; safe to call again after an eviction or restart.
   * Null means there is no such session (never started, or purged after its tombstone).
   */
  async wait(): Promise<FinalStatus | null> {
    const state = await this.#load();
    if (!state) return null;
    if (state.status !== "pending") return state.status;
    if (Date.now() >= state.expiresAt) return this.#finish(this.#expiredStatus());
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Read-only view for the approval page: a GET (or a link scanner) never changes state. */
  async view(): Promise<SessionView> {
    const alias = await this.#alias();
    if (alias) return this.env.AUTH_SESSION.getByName(alias.target).approverView(alias.self);
    const state = await this.#pendingState();
    if (state.kind !== "pending") return state;
    const s = state.state;
    if (s.assisted && s.assisted.phase !== "user") return this.#assistedView(s);
    return {
      kind: "pending",
      texts: s.texts!,
      csrf: s.csrf!,
      expiresAt: s.expiresAt,
      activation: s.activation ?? false,
      match: linkPageMatch(this.#matchSetup(s)),
    };
  }

  /**
   * The user's answer on the link page. Single use: only the first valid answer counts. With
   * number matching an Accept counts only with the right `pick`, on a page that offers one.
   */
  async decide(decision: "accept" | "reject", csrf: string, pick?: number): Promise<DecideOutcome> {
    const alias = await this.#alias();
    if (alias) return this.env.AUTH_SESSION.getByName(alias.target).approverDecide(alias.self, decision, csrf);
    const state = await this.#pendingState();
    if (state.kind !== "pending") return state;
    if (!(await timingSafeEqualString(csrf, state.state.csrf!))) return { kind: "forbidden" };
    // Re-check after the await: another answer may have landed in between.
    if (this.#state!.status !== "pending") return { kind: "finished", status: this.#state!.status as FinalStatus };
    const assisted = this.#state!.assisted;
    // The user answered already (single use): show where the sign-in stands, change nothing.
    if (assisted && assisted.phase !== "user") return this.#assistedView(this.#state!);
    const setup = this.#matchSetup(this.#state!);
    const { status, mismatch } = judgeAnswer(setup.matchNumber, decision, pick, acceptOffered(linkPageMatch(setup)));
    if (mismatch) log.warn("number_mismatch", { channel: "link", endpoint: this.#state!.endpoint });
    if (assisted && status === "accepted") {
      await this.#update((s) => ({ ...s, assisted: { ...s.assisted!, phase: "choose_approver" } }));
      return this.#assistedView(this.#state!);
    }
    const texts = state.state.texts!;
    await this.#finish(status);
    return { kind: "decided", status, text: mismatch ? NUMBER_MISMATCH : status === "accepted" ? texts.touchAccept : texts.touchReject };
  }

  /** Lets the holder of the live SMS link activate the app (the route issues the token). */
  async activationGrant(csrf: string): Promise<ActivationGrant> {
    const state = await this.#pendingState();
    if (state.kind === "not_found") return state;
    if (state.kind !== "pending" || !state.state.activation) return { kind: "refused" };
    if (state.state.assisted && state.state.assisted.phase !== "user") return { kind: "refused" };
    if (!(await timingSafeEqualString(csrf, state.state.csrf!))) return { kind: "refused" };
    return { kind: "granted", msisdn: state.state.msisdn! };
  }

  /**
   * Challenge details for the app (the push carried only the id): the user's challenge, or an
   * Assisted Login approver's. Each fetch issues a fresh single-use nonce the signed answer
   * must carry; earlier nonces stop working.
   */
  async appView(challengeId: string): Promise<AppView> {
    const state = await this.#pendingState();
    if (state.kind !== "pending") return state;
    const s = state.state;
    const role = await this.#challengeRole(s, challengeId);
    if (!role) return { kind: "not_found" };
    const nonce = randomToken();
    await this.#setNonce(role, nonce);
    const t = s.texts!;
    const common = { title: t.title, buttonAccept: t.buttonAccept, buttonReject: t.buttonReject, nonce, expiresAt: s.expiresAt };
    if (role === "approver") {
      return { kind: "pending", role, step: "answer", text: this.#approverAsk(s), choices: null, approvers: null, ...common };
    }
    const choosing = s.assisted?.phase === "choose_approver";
    return {
      kind: "pending",
      role,
      step: choosing ? "choose_approver" : "answer",
      text: t.authentication,
      choices: choosing ? null : (s.choices ?? null),
      approvers: s.assisted ? this.#approverChoices(s) : null,
      ...common,
    };
  }

  /**
   * The app's answer, whose device signature the Subscriber already checked. The nonce is
   * consumed before anything else; with number matching an Accept with the wrong pick is
   * recorded as a rejection (someone may be trying to get a blind approval). On an Assisted
   * Login endpoint the user's Accept leads to the approver pick (in the same answer as `a`, or
   * in a next one), and the approver's own app answer decides.
   */
  async appDecide(claims: AnswerClaims): Promise<AppDecideOutcome> {
    const state = await this.#pendingState();
    if (state.kind !== "pending") return state;
    const role = await this.#challengeRole(state.state, claims.c);
    if (!role) return { kind: "not_found" };
    const nonce = role === "user" ? state.state.push!.nonce : state.state.assisted!.approver!.push!.nonce;
    if (!nonce || !(await timingSafeEqualString(nonce, claims.n))) return { kind: "stale_nonce" };
    if (this.#state!.status !== "pending") return { kind: "finished", status: this.#state!.status as FinalStatus };
    await this.#setNonce(role, null);
    const s = this.#state!;
    const texts = s.texts!;

    if (role === "approver") {
      const status = claims.d === "accept" ? "accepted" : "rejected";
      await this.#finish(status);
      return { kind: "decided", status, numberMismatch: false, text: status === "accepted" ? APPROVER_ACCEPTED : APPROVER_REJECTED };
    }
    const phase = s.assisted?.phase;
    if (phase === "approver_pending") return { kind: "not_found" }; // the user's part is done
    const expected = phase === "choose_approver" ? null : (s.matchNumber ?? null);
    const { status: judged, mismatch: numberMismatch } = judgeAnswer(expected, claims.d, claims.m);
    const accepted = judged === "accepted";
    if (accepted && s.assisted) {
      if (phase === "user") {
        // The user's own SMS fallback is moot now; the approver step may still use the link page.
        await this.#update((cur) => ({ ...cur, smsDue: null, assisted: { ...cur.assisted!, phase: "choose_approver" } }));
      }
      if (claims.a !== undefined) return this.#pickApprover(claims.a);
      const next = randomToken();
      await this.#setNonce("user", next);
      return { kind: "choose_approver", title: texts.title, approvers: this.#approverChoices(this.#state!), nonce: next };
    }
    const status = accepted ? "accepted" : "rejected";
    await this.#finish(status);
    return {
      kind: "decided",
      status,
      numberMismatch,
      text: numberMismatch
        ? NUMBER_MISMATCH
        : status === "accepted"
          ? texts.touchAccept
          : texts.touchReject,
    };
  }

  /** Assisted Login: the user's pick on the link page (same CSRF token as their answer). */
  async chooseApprover(csrf: string, approverId: string): Promise<ChooseOutcome> {
    const state = await this.#pendingState();
    if (state.kind !== "pending") return state;
    const s = state.state;
    if (!s.assisted || !(await timingSafeEqualString(csrf, s.csrf!))) return { kind: "forbidden" };
    const cur = this.#state!;
    if (cur.status !== "pending") return { kind: "finished", status: cur.status as FinalStatus };
    const phase = cur.assisted!.phase;
    if (phase === "user") return { kind: "forbidden" };
    if (phase === "approver_pending") return this.#assistedView(cur) as ApproverPendingView;
    const picked = await this.#pickApprover(approverId);
    return picked.kind === "asked" ? { kind: "asked", title: cur.texts!.title, approverName: picked.approverName } : picked;
  }

  /**
   * The user (who accepted, on the link page or in the app) picked an approver. An id not in
   * the list, the user's own number, or an approver who cannot be reached ends the session as
   * invalid_approver. Otherwise the approver gets a single-use link of their own, and a push
   * first if they have the app (the link follows after the grace period, as for users).
   */
  async #pickApprover(approverId: string): Promise<{ kind: "asked"; approverName: string } | { kind: "finished"; status: FinalStatus }> {
    const cur = this.#state!;
    const assisted = cur.assisted!;
    const approver = assisted.approvers.find((a) => a.id === approverId);
    if (!approver || approver.msisdn === cur.msisdn) {
      log.warn("invalid_approver", { endpoint: cur.endpoint, reason: approver ? "self" : "unknown_id" });
      return { kind: "finished", status: await this.#finish("invalid_approver") };
    }
    const token = randomToken();
    const link = await sha256Hex(token);
    const approverCsrf = randomToken();
    // Stored before anything is sent: a restart from here on is in approver_pending.
    await this.#update((st) => ({
      ...st,
      smsDue: null,
      assisted: { ...st.assisted!, phase: "approver_pending", approver: { name: approver.name, msisdn: approver.msisdn, link, csrf: approverCsrf } },
    }));
    if (this.#state!.status !== "pending") return { kind: "finished", status: this.#state!.status as FinalStatus };
    // The user's part is answered: their app stops offering the challenge.
    if (cur.push) {
      await this.env.SUBSCRIBER.getByName(cur.msisdn!).closeChallenge(cur.name!).catch((e: unknown) => {
        log.warn("close_challenge_failed", { note: "lapses on its own", error: String(e) });
      });
    }
    try {
      await this.env.AUTH_SESSION.getByName(link).bindAlias({
        target: cur.name!,
        self: link,
        purgeAt: cur.expiresAt + cur.tombstoneMs,
      });
      const url = `${assisted.linkBase}/m/${token}`;
      await this.#deliverToApprover(approver.msisdn, `${cur.texts!.title}: ${this.#approverAsk(cur)}\n${url}`, url);
    } catch (e) {
      log.error("approver_delivery_failed", { endpoint: cur.endpoint, error: String(e) });
      return { kind: "finished", status: await this.#finish("invalid_approver") };
    }
    return this.#state!.status === "pending"
      ? { kind: "asked", approverName: approver.name }
      : { kind: "finished", status: this.#state!.status as FinalStatus };
  }

  /**
   * Push to the approver's app if the endpoint uses push and they have one (the SMS link is
   * then owed after the grace period); else, or if the push fails, the SMS link now. Throws
   * if that SMS cannot be sent.
   */
  async #deliverToApprover(msisdn: string, text: string, link: string): Promise<void> {
    const cur = this.#state!;
    const grace = cur.pushGraceMs ?? null;
    const pushed =
      grace === null
        ? null
        : await this.#pushTo(msisdn, { endpoint: cur.endpoint, role: "approver" }, (sub) =>
            sub.approverTarget(cur.name!, cur.expiresAt + APPROVER_ENTRY_MARGIN_MS),
          );
    // The SMS waits for the grace period only if the push went out.
    const due = pushed?.delivered && grace !== null ? { at: Date.now() + grace, text, link, to: msisdn } : null;
    if (pushed) {
      // The challenge exists either way (as for users): an app opened by hand can answer it.
      const push = { deviceId: pushed.target.deviceId, challengeId: pushed.target.challengeId, nonce: null };
      await this.#update((st) => ({
        ...st,
        ...(due ? { smsDue: due } : {}),
        assisted: { ...st.assisted!, approver: { ...st.assisted!.approver!, push } },
      }));
    }
    if (due) {
      if (this.#state!.status === "pending") await this.ctx.storage.setAlarm(Math.min(due.at, this.#state!.expiresAt));
      return;
    }
    await smsProviderFromEnv(this.env).send({ to: msisdn, text, link });
  }

  /** Makes this object the alias of an approver link (see AliasState). */
  async bindAlias(alias: AliasState): Promise<void> {
    if ((await this.#load()) || (await this.#alias())) throw new Error("link object already in use");
    await this.ctx.storage.put(ALIAS_KEY, alias);
    await this.ctx.storage.setAlarm(alias.purgeAt);
  }

  /** The approver's page, reached through their link's alias object. */
  async approverView(link: string): Promise<SessionView> {
    const state = await this.#pendingState();
    if (state.kind !== "pending") return state;
    const s = state.state;
    const approver = s.assisted?.phase === "approver_pending" ? s.assisted.approver : undefined;
    if (!approver || !(await timingSafeEqualString(approver.link, link))) return { kind: "not_found" };
    const t = s.texts!;
    return {
      kind: "approver",
      title: t.title,
      text: this.#approverAsk(s),
      buttonAccept: t.buttonAccept,
      buttonReject: t.buttonReject,
      csrf: approver.csrf,
    };
  }

  /** The approver's answer: it decides the session (single use like any answer). */
  async approverDecide(link: string, decision: "accept" | "reject", csrf: string): Promise<DecideOutcome> {
    const state = await this.#pendingState();
    if (state.kind !== "pending") return state;
    const approver = state.state.assisted?.phase === "approver_pending" ? state.state.assisted.approver : undefined;
    if (!approver || !(await timingSafeEqualString(approver.link, link))) return { kind: "not_found" };
    if (!(await timingSafeEqualString(csrf, approver.csrf))) return { kind: "forbidden" };
    if (this.#state!.status !== "pending") return { kind: "finished", status: this.#state!.status as FinalStatus };
    const status = decision === "accept" ? "accepted" : "rejected";
    await this.#finish(status);
    return { kind: "decided", status, text: status === "accepted" ? APPROVER_ACCEPTED : APPROVER_REJECTED };
  }

  override async alarm(): Promise<void> {
    const state = await this.#load();
    if (!state) {
      const alias = await this.#alias();
      if (alias && Date.now() >= alias.purgeAt) await this.ctx.storage.deleteAll();
      else if (alias) await this.ctx.storage.setAlarm(alias.purgeAt);
      return;
    }
    const now = Date.now();
    if (state.status === "pending") {
      if (now >= state.expiresAt) return void (await this.#finish(this.#expiredStatus()));
      const due = state.smsDue;
      if (due && now >= due.at) {
        // Cleared before sending, so a retried alarm cannot send the SMS twice.
        await this.#update((s) => ({ ...s, smsDue: null, channel: due.to ? s.channel : "push+sms" }));
        log.info("push_grace_elapsed", { endpoint: state.endpoint, role: due.to ? "approver" : "user" });
        await this.#sendSms(due.text, due.link, { failSession: false, to: due.to });
      }
      const cur = this.#state!;
      if (cur.status === "pending") await this.ctx.storage.setAlarm(Math.min(cur.smsDue?.at ?? Infinity, cur.expiresAt));
    } else if (state.purgeAt !== null && now >= state.purgeAt) {
      this.#state = null;
      await this.ctx.storage.deleteAll();
    } else if (state.purgeAt !== null) {
      await this.ctx.storage.setAlarm(state.purgeAt);
    }
  }

  /** Pushes the challenge id if the number has an app; false means "use SMS". */
  async #push(init: SessionInit): Promise<boolean> {
    const pushed = await this.#pushTo(init.msisdn, { endpoint: init.endpoint, role: "user" }, (sub) => sub.pushTarget(init.name));
    if (!pushed) return false;
    // The challenge exists either way: an app opened by hand can still answer it.
    const { deviceId, challengeId } = pushed.target;
    await this.#update((s) => ({ ...s, push: { deviceId, challengeId, nonce: null } }));
    if (!pushed.delivered) return false;
    await this.#update((s) => ({ ...s, channel: "push" }));
    return true;
  }

  /**
   * Opens a challenge in the number's Subscriber (`open`) and pushes its id to the device.
   * Null: no push (not configured, no device, or the push service says the device is gone,
   * which forgets it). `delivered: false`: the push failed, but the challenge exists.
   */
  async #pushTo(
    msisdn: string,
    log: { endpoint: string; role: "user" | "approver" },
    open: (subscriber: DurableObjectStub<Subscriber>) => Promise<PushTarget | null>,
  ): Promise<{ target: PushTarget; delivered: boolean } | null> {
    let vapid;
    try {
      vapid = vapidFromEnv(this.env);
      pushHostsFromEnv(this.env); // a bad PUSH_HOST_ALLOWLIST is a configuration error too
    } catch (e) {
      logEvent("error", "push_misconfigured", { error: String(e) });
      return null;
    }
    if (!vapid) return null;
    const subscriber = this.env.SUBSCRIBER.getByName(msisdn);
    const target = await open(subscriber);
    if (!target) return null;
    const ttlSeconds = Math.ceil((this.#state!.expiresAt - Date.now()) / 1000);
    const result = await sendWebPush(target.subscription, { c: target.challengeId }, vapid, {
      ttlSeconds,
      timeoutMs: PUSH_TIMEOUT_MS,
      allowedHosts: pushHostsFromEnv(this.env),
    });
    if (result.kind === "gone") {
      // The push service says the subscription is dead: the app was removed or reset.
      await subscriber.forgetDevice(target.deviceId);
      logEvent("warn", "push_gone", { ...log, status: result.status });
      return null;
    }
    if (result.kind === "failed") {
      logEvent("warn", "push_failed", { ...log, error: result.reason });
      return { target, delivered: false };
    }
    return { target, delivered: true };
  }

  /** The SMS link to the user, or (`to`) to the Assisted Login approver. */
  async #sendSms(text: string, link: string, opts: { failSession: boolean; to?: string }): Promise<void> {
    const msisdn = opts.to ?? this.#state?.msisdn;
    if (!msisdn || this.#state!.status !== "pending") return;
    try {
      await smsProviderFromEnv(this.env).send({ to: msisdn, text, link });
    } catch (e) {
      log.error("delivery_failed", { endpoint: this.#state!.endpoint, error: String(e) });
      if (opts.failSession && this.#state!.status === "pending") await this.#finish("failed_delivery");
    }
  }

  async #pendingState(): Promise<
    { kind: "pending"; state: SessionState } | { kind: "finished"; status: FinalStatus } | { kind: "not_found" }
  > {
    const state = await this.#load();
    if (!state) return { kind: "not_found" };
    if (state.status === "pending" && Date.now() >= state.expiresAt) await this.#finish(this.#expiredStatus());
    const cur = this.#state!;
    if (cur.status !== "pending") return { kind: "finished", status: cur.status };
    return { kind: "pending", state: cur };
  }

  #matchSetup(s: SessionState): MatchSetup {
    return { matchNumber: s.matchNumber ?? null, choices: s.choices ?? null, callerShowsNumber: s.callerShowsNumber ?? false };
  }

  /** No app was asked: number matching continues only where the caller shows the number (logged). */
  async #matchWithoutApp(): Promise<void> {
    const before = this.#matchSetup(this.#state!);
    const after = withoutApp(before);
    if (after.matchNumber === before.matchNumber) return;
    log.info("number_matching_off", { endpoint: this.#state!.endpoint, reason: "no_app" });
    await this.#update((s) => ({ ...s, matchNumber: null, choices: undefined }));
  }

  /** What a deadline means: with the user's Accept but no approver picked, NO_APPROVER_SELECTED. */
  #expiredStatus(): FinalStatus {
    return this.#state?.assisted?.phase === "choose_approver" ? "no_approver_selected" : "expired";
  }

  #assistedView(s: SessionState): ChooseApproverView | ApproverPendingView {
    const assisted = s.assisted!;
    if (assisted.phase === "approver_pending") {
      return { kind: "approver_pending", title: s.texts!.title, approverName: assisted.approver!.name };
    }
    return {
      kind: "choose_approver",
      title: s.texts!.title,
      csrf: s.csrf!,
      approvers: this.#approverChoices(s),
    };
  }

  /** Names and opaque ids only; the user's own number is not offered as an approver. */
  #approverChoices(s: SessionState): ApproverChoice[] {
    return s.assisted!.approvers.filter((a) => a.msisdn !== s.msisdn).map((a) => ({ id: a.id, name: a.name }));
  }

  /** What the approver is asked (SMS, link page, app): the user's number, masked. */
  #approverAsk(s: SessionState): string {
    return `${maskMsisdn(s.msisdn!)} asks you to approve a sign-in.`;
  }

  /** Whose pushed challenge this is: the user's, the approver's (while they are asked), or none. */
  async #challengeRole(s: SessionState, challengeId: string): Promise<"user" | "approver" | null> {
    if (s.push && (await timingSafeEqualString(s.push.challengeId, challengeId))) return "user";
    const asked = s.assisted?.phase === "approver_pending" ? s.assisted.approver?.push : undefined;
    if (asked && (await timingSafeEqualString(asked.challengeId, challengeId))) return "approver";
    return null;
  }

  async #setNonce(role: "user" | "approver", nonce: string | null): Promise<void> {
    await this.#update((cur) =>
      role === "user"
        ? { ...cur, push: { ...cur.push!, nonce } }
        : { ...cur, assisted: { ...cur.assisted!, approver: { ...cur.assisted!.approver!, push: { ...cur.assisted!.approver!.push!, nonce } } } },
    );
  }

  async #alias(): Promise<AliasState | null> {
    if (this.#state) return null;
    return (await this.ctx.storage.get<AliasState>(ALIAS_KEY)) ?? null;
  }

  /** Changes the state only while still pending: an answer may have landed during an await. */
  async #update(change: (s: SessionState) => SessionState): Promise<void> {
    const cur = this.#state;
    if (!cur || cur.status !== "pending") return;
    await this.#save(change(cur));
  }

  async #finish(status: FinalStatus): Promise<FinalStatus> {
    const state = this.#state!;
    if (state.status !== "pending") return state.status;
    const now = Date.now();
    const finished: SessionState = {
      status,
      createdAt: state.createdAt,
      expiresAt: state.expiresAt,
      purgeAt: now + state.tombstoneMs,
      tombstoneMs: state.tombstoneMs,
      endpoint: state.endpoint,
      leaseShard: state.leaseShard,
      name: state.name,
      channel: state.channel,
    };
    // Durable before anyone hears about it: a crash after this point cannot undo the answer.
    await this.#save(finished);
    await this.ctx.storage.setAlarm(finished.purgeAt!);
    for (const resolve of this.#waiters.splice(0)) resolve(status);
    const releases: Promise<unknown>[] = [];
    if (state.leaseShard) releases.push(this.env.LOAD_SHARD.getByName(state.leaseShard).release(this.ctx.id.toString()));
    if (state.msisdn && state.name) releases.push(this.env.SUBSCRIBER.getByName(state.msisdn).release(state.name));
    const approver = state.assisted?.approver;
    // Also when the push did not go out: a "gone" push leaves the entry approverTarget opened.
    if (approver && state.name) releases.push(this.env.SUBSCRIBER.getByName(approver.msisdn).release(state.name));
    for (const r of await Promise.allSettled(releases)) {
      if (r.status === "rejected") log.warn("release_failed", { note: "expires on its own", error: String(r.reason) });
    }
    return status;
  }

  async #load(): Promise<SessionState | null> {
    if (this.#state === undefined) this.#state = (await this.ctx.storage.get<SessionState>(STATE_KEY)) ?? null;
    return this.#state;
  }

  async #save(state: SessionState): Promise<void> {
    this.#state = state;
    await this.ctx.storage.put(STATE_KEY, state);
  }
}
