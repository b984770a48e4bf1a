import { DurableObject } from "cloudflare:workers";
import type { AnswerClaims } from "../../../core/contracts/app-api";
import type { FinalStatus, SessionStatus } from "../../../core/codes";
import type { AliasState } from "../session/approver-alias";
import type {
  ActivationGrant,
  AppDecideOutcome,
  AppView,
  Channel,
  ChooseOutcome,
  DecideOutcome,
  SessionInit,
  SessionOutcome,
  SessionView,
} from "./contract";
import { SessionRuntime, closeWaiter } from "../session/session-runtime";
import { objectStub } from "../../lib/durable-objects";
import type { AnsweringDevice, UvProof } from "../subscriber/contract";

/** Tag of the blocking calls' waiting sockets. */
const WAITER_TAG = "waiter";

/**
 * A session in an object of its own, named by the SHA-256 of its link token (or an approver
 * link's alias, named by its token's): the object's storage, alarm and waiting sockets are
 * the session's (SessionRuntime), and each method is the session's.
 */
export class AuthSession extends DurableObject<Env> {
  #session = new SessionRuntime({
    env: this.env,
    id: this.ctx.id.toString(),
    storage: this.ctx.storage,
    wakeAt: (at) => this.ctx.storage.setAlarm(at),
    waiters: () => this.ctx.getWebSockets(WAITER_TAG),
    acceptWaiter: (ws) => this.ctx.acceptWebSocket(ws, [WAITER_TAG]),
    waitUntil: (work) => this.ctx.waitUntil(work),
    subscriber: (msisdn) => objectStub(this.env, "SUBSCRIBER", msisdn),
  });

  start(init: SessionInit): Promise<{ status: SessionStatus; channel: Channel }> {
    return this.#session.start(init);
  }

  wait(): Promise<FinalStatus | null> {
    return this.#session.wait();
  }

  waitOutcome(): Promise<SessionOutcome | null> {
    return this.#session.waitOutcome();
  }

  /** The blocking call's wait (contract.ts WAIT_URL): a WebSocket upgrade, see SessionRuntime.openWait. */
  override async fetch(request: Request): Promise<Response> {
    return this.#session.openWait(request);
  }

  /** The waiting call sends nothing; whatever arrives is ignored. */
  override async webSocketMessage(): Promise<void> {}

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeWaiter(ws, code);
  }

  view(): Promise<SessionView> {
    return this.#session.view();
  }

  decide(decision: "accept" | "reject", csrf: string, pick?: number): Promise<DecideOutcome> {
    return this.#session.decide(decision, csrf, pick);
  }

  activationGrant(csrf: string): Promise<ActivationGrant> {
    return this.#session.activationGrant(csrf);
  }

  appView(challengeId: string, device: AnsweringDevice): Promise<AppView> {
    return this.#session.appView(challengeId, device);
  }

  appDecide(claims: AnswerClaims, device: AnsweringDevice, uv: UvProof): Promise<AppDecideOutcome> {
    return this.#session.appDecide(claims, device, uv);
  }

  chooseApprover(csrf: string, approverId: string): Promise<ChooseOutcome> {
    return this.#session.chooseApprover(csrf, approverId);
  }

  bindAlias(alias: AliasState): Promise<void> {
    return this.#session.bindAlias(alias);
  }

  approverView(link: string): Promise<SessionView> {
    return this.#session.approverView(link);
  }

  approverDecide(link: string, decision: "accept" | "reject", csrf: string): Promise<DecideOutcome> {
    return this.#session.approverDecide(link, decision, csrf);
  }

  override alarm(): Promise<void> {
    return this.#session.alarm();
  }
}
