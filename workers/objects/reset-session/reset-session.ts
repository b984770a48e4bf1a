import { DurableObject } from "cloudflare:workers";
import { randomToken, sha256Hex } from "../../../core/tokens";
import type { ResetAttach, ResetClaim, ResetInit, ResetSettle, ResetSettled, ResetView } from "./contract";
import { advanced, attached, claimed, created, type ResetState, settled, viewOf } from "./state";
import { objectStub } from "../../lib/durable-objects";

/** How long a finished reset's state is kept (so its page still says how it ended). */
const KEEP_MS = 10 * 60_000;
const KEY = "reset";

/**
 * One visitor's password reset (see state.ts for the phases). Named by the SHA-256 of the
 * cookie token, so only that browser reaches it; the flow token in its password form is
 * single use. It reads the AuthSession's outcome through that object's contract (view()).
 */
export class ResetSession extends DurableObject<Env> {
  async begin(init: ResetInit): Promise<void> {
    if (this.#load()) throw new Error("reset already exists");
    this.#save(created(init, randomToken()));
    await this.ctx.storage.setAlarm(init.expiresAt + KEEP_MS);
  }

  async attach(a: ResetAttach): Promise<void> {
    const state = this.#load();
    if (state) this.#save(attached(state, a, await sha256Hex(`decoy:${randomToken()}`)));
  }

  async view(): Promise<ResetView> {
    const state = this.#load();
    if (!state) return { kind: "not_found" };
    const next = advanced(state, Date.now(), await this.#approved(state), randomToken());
    if (next !== state) this.#save(next);
    return viewOf(next);
  }

  async claim(flow: string): Promise<ResetClaim> {
    const state = this.#load();
    if (!state) return { kind: "not_found" };
    const step = claimed(state, flow, Date.now(), randomToken());
    if (step.state !== state) this.#save(step.state);
    return step.result;
  }

  async settle(s: ResetSettle): Promise<ResetSettled> {
    const state = this.#load();
    if (!state) return { kind: "not_found" };
    const next = settled(state, s, Date.now());
    this.#save(next);
    if (next.phase === "done") return { kind: "done", endpoint: next.endpoint, username: next.username, msisdn: next.msisdn };
    return viewOf(next) as Extract<ResetSettled, { kind: "password" | "over" }>;
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  /** The phone and the approver accepted: the AuthSession finished "accepted". */
  async #approved(state: ResetState): Promise<boolean> {
    if (state.phase !== "verifying" || !state.authSession) return false;
    const v = await objectStub(this.env, "AUTH_SESSION", state.authSession).view();
    return v.kind === "finished" && v.status === "accepted";
  }

  #load(): ResetState | null {
    return this.ctx.storage.kv.get<ResetState>(KEY) ?? null;
  }

  #save(state: ResetState): void {
    this.ctx.storage.kv.put(KEY, state);
  }
}
