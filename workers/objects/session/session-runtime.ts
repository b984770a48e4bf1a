import type { AnswerClaims } from "../../../core/contracts/app-api";
import type { FinalStatus, SessionStatus } from "../../../core/codes";
import { matchChoices } from "../../../core/number-match";
import { randomToken, sha256Hex, timingSafeEqualString } from "../../../core/tokens";
import { type AliasState, aliasAlarm, loadAlias, storeAlias } from "./approver-alias";
import type {
  ActivationGrant,
  SessionOutcome,
  AppDecideOutcome,
  AppView,
  Channel,
  ChooseOutcome,
  DecideOutcome,
  SessionInit,
  SessionView,
} from "../auth-session/contract";
import { outcomeMessage } from "../auth-session/contract";
import { type DeliveryHost, type SessionSubscriber, envDeliveryHost, pushToUser } from "./delivery";
import type { Effect, Step } from "./effects";
import { type EffectHost, runEffect } from "./run-effects";
import {
  type ChallengeRole,
  type Pending,
  type SessionState,
  STATE_KEY,
  approverOf,
  fromStored,
  nonceOf,
  phaseOf,
  pushedChallenge,
} from "./state";
import type { AnsweringDevice, UvProof } from "../subscriber/contract";
import {
  type ApproverLinkSecrets,
  appDecide,
  approverDecide,
  chooseApprover,
  create,
  decide,
  expire,
  issueNonce,
  nextWake,
  userPushed,
  wake,
} from "./transitions";
import { approverView, linkPageView } from "./views";
import { objectStub } from "../../lib/durable-objects";

type FinishedResult = { kind: "finished"; status: FinalStatus };
type Opened = { kind: "pending"; state: Pending } | FinishedResult | { kind: "not_found" };

/**
 * What a session runs on: the object that hosts it gives it its storage keys, its timer and
 * its waiting sockets. For a session in an object of its own (AuthSession) these are the
 * object's own; the session's code is the same wherever it is hosted.
 */
export interface SessionPlace {
  env: Env;
  /** The session's id: the key of its overload lease. */
  id: string;
  /** The session's keys (the state, or an approver link's alias); `deleteAll` removes only them. */
  storage: Pick<DurableObjectStorage, "get" | "put" | "deleteAll">;
  /** Sets the session's one timer (its `alarm()` runs then). */
  wakeAt(at: number): Promise<void>;
  /** The blocking calls' sockets waiting on this session. */
  waiters(): WebSocket[];
  /** Lists a socket as waiting on this session (hibernatable: the host need not stay active). */
  acceptWaiter(ws: WebSocket): void;
  waitUntil(work: Promise<unknown>): void;
  /** A number's Subscriber, as the session reaches it (its host's own methods for the host's number). */
  subscriber(msisdn: string): SessionSubscriber;
}

/**
 * One blocking Magic Link session. It is named by the SHA-256 of its link token, keeps its
 * state in storage and its timers (push grace, expiry, tombstone purge) in one timer, so a
 * restarted host picks up exactly where the old one was; the API call waiting in `wait()`
 * simply calls again after an eviction. Each call loads the state, applies a pure transition
 * (transitions.ts), stores the new state and then carries out the transition's effects.
 */
export class SessionRuntime {
  readonly #place: SessionPlace;
  #state: SessionState | null | undefined;
  #waiters: Array<(status: FinalStatus) => void> = [];
  /** The wake time this instance last set (null: unknown or already fired). */
  #armedAt: number | null = null;
  #delivery: DeliveryHost;
  #effectHost: EffectHost;
  /** Background work (releases) still running; start() waits for it (see there). */
  #background = new Set<Promise<unknown>>();

  constructor(place: SessionPlace) {
    this.#place = place;
    this.#delivery = { ...envDeliveryHost(place.env), subscriber: place.subscriber };
    this.#effectHost = {
      env: place.env,
      get objectId() {
        return place.id;
      },
      delivery: this.#delivery,
      subscriber: place.subscriber,
      current: () => this.#state ?? null,
      notifyWaiters: (status, lease) => {
        for (const resolve of this.#waiters.splice(0)) resolve(status);
        // Each waiting socket gets the outcome once and is closed (see openWait()). The first
        // that takes it also gets the lease, which its call gives back (lease-releases.ts).
        const outcome = this.#outcome(status);
        let handedOff = false;
        for (const ws of place.waiters()) {
          try {
            ws.send(outcomeMessage(lease && !handedOff ? { ...outcome, lease } : outcome));
            if (lease) handedOff = true;
            ws.close(1000, "outcome sent");
          } catch {
            // Gone already: its call reopens the wait and reads the outcome from storage.
          }
        }
        return handedOff;
      },
      background: (work) => {
        const tracked = work.finally(() => this.#background.delete(tracked));
        this.#background.add(tracked);
        place.waitUntil(tracked);
      },
    };
  }

  /**
   * Whether this runtime holds anything worth keeping in its host's memory: a session it has
   * seen in storage, or calls waiting in wait(). A host drops the others (an unknown link's).
   */
  holdsSomething(): boolean {
    return (this.#state !== undefined && this.#state !== null) || this.#waiters.length > 0;
  }

  /** Stores the session and delivers it: push to an active app, else (or also) the SMS link. */
  async start(init: SessionInit): Promise<{ status: SessionStatus; channel: Channel }> {
    if (await this.#load()) throw new Error("session already exists");
    const matchNumber = init.app.matchNumber;
    const choices = matchNumber === null ? null : matchChoices(matchNumber);
    const created = create(init, Date.now(), { csrf: randomToken(), choices });
    const request = { msisdn: init.msisdn, session: init.name, endpoint: init.endpoint, expiresAt: created.expiresAt };
    // Stored before anything leaves: before a push challenge is opened (an app may answer it at
    // once), else in one write together with the delivery decision, before the SMS is sent.
    const pushed =
      init.app.push && init.userPushable !== false ? await pushToUser(this.#delivery, request, () => this.#save(created)) : null;
    const content = { text: init.smsText, link: init.link };
    if (this.#state) await this.#apply((state) => userPushed(state, pushed, content, Date.now()));
    else {
      const step = userPushed(created, pushed, content, Date.now());
      await this.#save(step.state);
      await this.#run(step.effects);
    }
    // A session that ended here (its SMS could not be sent) has freed its slots by the time
    // the caller hears FAILED_DELIVERY; only the answer from a link or app skips the wait.
    await Promise.all(this.#background);
    const state = this.#loaded();
    return { status: state.status, channel: state.channel };
  }

  /**
   * Resolves with the final status; safe to call again after an eviction or restart.
   * Null means there is no such session (never started, or purged after its tombstone).
   */
  async wait(): Promise<FinalStatus | null> {
    const opened = await this.#open();
    if (opened.kind === "not_found") return null;
    if (opened.kind === "finished") return opened.status;
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * wait(), with the device whose answer in the app decided it (read from the state the
   * finish left in memory): one call for the blocking API, not a second one for its log.
   */
  async waitOutcome(): Promise<SessionOutcome | null> {
    const status = await this.wait();
    return status === null ? null : this.#outcome(status);
  }

  /**
   * The blocking call's wait without holding a request open (contract.ts WAIT_URL): a pending
   * session accepts a hibernatable WebSocket and sends the outcome on it when it ends, so the
   * host is not kept active (and billed) while the user decides.
   */
  async openWait(request: Request): Promise<Response> {
    if (request.headers.get("upgrade") !== "websocket") return new Response("websocket upgrade expected", { status: 426 });
    const opened = await this.#open();
    if (opened.kind === "not_found") return new Response(null, { status: 404 });
    if (opened.kind === "finished") return new Response(outcomeMessage(this.#outcome(opened.status)));
    // No await since the session was seen pending: its end cannot slip in before the socket is listed.
    const pair = new WebSocketPair();
    this.#place.acceptWaiter(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  /** The outcome of a finished session, with the deciding device (the finish left it in memory). */
  #outcome(status: FinalStatus): SessionOutcome {
    const state = this.#state;
    const answeredBy = state && state.status !== "pending" ? state.answeredBy : undefined;
    return { status, ...(answeredBy ? { answeredBy } : {}) };
  }

  /** Read-only view for the approval page: a GET (or a link scanner) never changes state. */
  async view(): Promise<SessionView> {
    const alias = await this.#alias();
    if (alias) return objectStub(this.#place.env, "AUTH_SESSION", alias.target).approverView(alias.self);
    const opened = await this.#open();
    return opened.kind === "pending" ? linkPageView(opened.state) : opened;
  }

  /** The user's answer on the link page (see transitions.decide). */
  async decide(decision: "accept" | "reject", csrf: string, pick?: number): Promise<DecideOutcome> {
    const alias = await this.#alias();
    if (alias) return objectStub(this.#place.env, "AUTH_SESSION", alias.target).approverDecide(alias.self, decision, csrf);
    const opened = await this.#open();
    if (opened.kind !== "pending") return opened;
    const csrfValid = await timingSafeEqualString(csrf, opened.state.csrf);
    return this.#apply((state) => decide(state, { decision, pick, csrfValid }, Date.now()));
  }

  /** Lets the holder of the live SMS link activate the app (the route issues the token). */
  async activationGrant(csrf: string): Promise<ActivationGrant> {
    const opened = await this.#open();
    if (opened.kind === "not_found") return opened;
    if (opened.kind !== "pending" || !opened.state.activation) return { kind: "refused" };
    if (phaseOf(opened.state) !== "user") return { kind: "refused" };
    if (!(await timingSafeEqualString(csrf, opened.state.csrf))) return { kind: "refused" };
    return { kind: "granted", msisdn: opened.state.msisdn };
  }

  /**
   * Challenge details for the app (the push carried only the id): the user's challenge, or an
   * Assisted Login approver's, with a fresh single-use nonce the signed answer must carry.
   */
  async appView(challengeId: string, device: AnsweringDevice): Promise<AppView> {
    const opened = await this.#open();
    if (opened.kind !== "pending") return opened;
    const role = await this.#challengeRole(opened.state, challengeId);
    if (!role) return { kind: "not_found" };
    const nonce = randomToken();
    return this.#apply((state) => issueNonce(state, role, device, nonce));
  }

  /**
   * The app's answer, whose device signature (and user-verification assertion, `uv`) the
   * Subscriber already checked (see transitions). The nonce is the answering device's own.
   */
  async appDecide(claims: AnswerClaims, device: AnsweringDevice, uv: UvProof): Promise<AppDecideOutcome> {
    const opened = await this.#open();
    if (opened.kind !== "pending") return opened;
    const role = await this.#challengeRole(opened.state, claims.c);
    const nonce = role ? nonceOf(pushedChallenge(opened.state, role), device.id) : null;
    const nonceValid = !!nonce && (await timingSafeEqualString(nonce, claims.n));
    const fresh = { nonce: randomToken(), approverLink: await newApproverLink() };
    const answer = { role, nonceValid, claims, device, uv };
    return this.#askedOrFinished(await this.#apply((state) => appDecide(state, answer, fresh, Date.now())));
  }

  /** Assisted Login: the user's pick on the link page (same CSRF token as their answer). */
  async chooseApprover(csrf: string, approverId: string): Promise<ChooseOutcome> {
    const opened = await this.#open();
    if (opened.kind !== "pending") return opened;
    const csrfValid = !!opened.state.assisted && (await timingSafeEqualString(csrf, opened.state.csrf));
    const approverLink = await newApproverLink();
    const choice = { approverId, csrfValid };
    return this.#askedOrFinished(await this.#apply((state) => chooseApprover(state, choice, approverLink, Date.now())));
  }

  /** Makes this object the alias of an approver link (see approver-alias.ts). */
  async bindAlias(alias: AliasState): Promise<void> {
    if ((await this.#load()) || (await this.#alias())) throw new Error("link object already in use");
    await storeAlias(this.#place, alias);
  }

  /** The approver's page, reached through their link's alias object. */
  async approverView(link: string): Promise<SessionView> {
    const opened = await this.#open();
    if (opened.kind !== "pending") return opened;
    const asked = approverOf(opened.state);
    if (!asked || !(await timingSafeEqualString(asked.approver.link, link))) return { kind: "not_found" };
    return approverView(opened.state, asked.approver);
  }

  /** The approver's answer: it decides the session (single use like any answer). */
  async approverDecide(link: string, decision: "accept" | "reject", csrf: string): Promise<DecideOutcome> {
    const opened = await this.#open();
    if (opened.kind !== "pending") return opened;
    const approver = approverOf(opened.state)?.approver;
    const linkValid = !!approver && (await timingSafeEqualString(approver.link, link));
    const csrfValid = !!approver && linkValid && (await timingSafeEqualString(csrf, approver.csrf));
    return this.#apply((state) => approverDecide(state, { decision, linkValid, csrfValid }, Date.now()));
  }

  /** The one timer: what it means is transitions.wake, when it fires next is nextWake. */
  async alarm(): Promise<void> {
    this.#armedAt = null; // the timer that fired is spent
    const state = await this.#load();
    if (!state) return aliasAlarm(this.#place, Date.now());
    const woken = wake(state, Date.now());
    if (!woken.state) {
      this.#state = null;
      await this.#place.storage.deleteAll();
      return;
    }
    if (woken.state !== state) await this.#save(woken.state);
    await this.#run(woken.effects);
    await this.#arm(this.#loaded());
  }

  /** The session, ended first if its deadline has passed (before the alarm could fire). */
  async #open(): Promise<Opened> {
    const state = await this.#load();
    if (!state) return { kind: "not_found" };
    if (state.status === "pending" && Date.now() >= state.expiresAt) await this.#apply((pending) => expire(pending, Date.now()));
    const current = this.#loaded();
    return current.status === "pending" ? { kind: "pending", state: current } : { kind: "finished", status: current.status };
  }

  /**
   * Applies a transition only while the session is still pending (an answer may have landed
   * during an await), stores the new state, then carries out the effects.
   */
  async #apply<R>(transition: (state: Pending) => Step<R>): Promise<R | FinishedResult> {
    const state = this.#loaded();
    if (state.status !== "pending") return { kind: "finished", status: state.status };
    const step = transition(state);
    // Durable before anyone hears about it: a crash after this point cannot undo the answer.
    if (step.state !== state) await this.#save(step.state);
    await this.#run(step.effects);
    return step.result;
  }

  /** Effects in order; an effect's outcome may be a next transition (see run-effects.ts). */
  async #run(effects: Effect[]): Promise<void> {
    const run = { leaseHandedOff: false };
    for (const effect of effects) {
      const followUp = await runEffect(effect, this.#effectHost, run);
      if (followUp) await this.#apply(followUp);
    }
  }

  /** An approver was asked, but the session ended meanwhile (e.g. they could not be reached). */
  #askedOrFinished<R extends { kind: string }>(result: R): R | FinishedResult {
    const state = this.#state;
    if (result.kind === "asked" && state && state.status !== "pending") return { kind: "finished", status: state.status };
    return result;
  }

  /** Whose pushed challenge this is: the user's, the approver's (while they are asked), or none. */
  async #challengeRole(state: Pending, challengeId: string): Promise<ChallengeRole | null> {
    for (const role of ["user", "approver"] as const) {
      const challenge = pushedChallenge(state, role);
      if (challenge && (await timingSafeEqualString(challenge.challengeId, challengeId))) return role;
    }
    return null;
  }

  async #alias(): Promise<AliasState | null> {
    if (this.#state) return null;
    return loadAlias(this.#place.storage);
  }

  async #load(): Promise<SessionState | null> {
    if (this.#state === undefined) {
      const stored = await this.#place.storage.get<SessionState>(STATE_KEY);
      this.#state = stored ? fromStored(stored) : null;
    }
    return this.#state;
  }

  /** The loaded state; every caller has loaded it first. */
  #loaded(): SessionState {
    if (!this.#state) throw new Error("session state not loaded");
    return this.#state;
  }

  async #save(state: SessionState): Promise<void> {
    this.#state = state;
    await this.#place.storage.put(STATE_KEY, state);
    await this.#arm(state);
  }

  /** Keeps the one timer at nextWake(state), as one rule for all timers. */
  async #arm(state: SessionState): Promise<void> {
    const at = nextWake(state);
    if (at === this.#armedAt) return;
    this.#armedAt = at; // before the await: storage calls apply in order, so the last one wins
    await this.#place.wakeAt(at);
  }
}

/** A new approver link: the token goes into the link only; its SHA-256 names the alias. */
async function newApproverLink(): Promise<ApproverLinkSecrets> {
  const token = randomToken();
  return { token, hash: await sha256Hex(token), csrf: randomToken() };
}

/**
 * A host's `webSocketClose` for its waiting sockets (the waiting call sends nothing, so the
 * host ignores messages): completes the closing handshake.
 */
export function closeWaiter(ws: WebSocket, code: number): void {
  try {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
  } catch {
    // already closed
  }
}
