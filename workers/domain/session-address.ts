import type {
  ActivationGrant,
  AppDecideOutcome,
  AppView,
  ChooseOutcome,
  DecideOutcome,
  SessionOutcome,
  SessionView,
} from "../objects/auth-session/contract";
import type { AnswerClaims } from "../../core/contracts/app-api";
import type { AnsweringDevice, UvProof } from "../objects/subscriber/contract";
import { openLinkToken } from "../../core/link-route";
import { isWellFormedToken, sha256Hex } from "../../core/tokens";
import { objectStub } from "../lib/durable-objects";
import { linkKeyOrNull } from "../store/link-key";
import { log } from "../lib/log";

/**
 * Where a session lives (docs/decisions/0022): `host` is the number whose Subscriber hosts it,
 * or null for a session in an AuthSession object of its own (Assisted Login, and links made
 * before sessions moved). `name` is its link token's SHA-256 either way.
 */
export interface SessionAddress {
  name: string;
  host: string | null;
}

/** What the routes and flows ask of a session, wherever it lives. */
export interface SessionApi {
  view(): Promise<SessionView>;
  decide(decision: "accept" | "reject", csrf: string, pick?: number): Promise<DecideOutcome>;
  chooseApprover(csrf: string, approverId: string): Promise<ChooseOutcome>;
  activationGrant(csrf: string): Promise<ActivationGrant>;
  appView(challengeId: string, device: AnsweringDevice): Promise<AppView>;
  appDecide(claims: AnswerClaims, device: AnsweringDevice, uv: UvProof): Promise<AppDecideOutcome>;
  waitOutcome(): Promise<SessionOutcome | null>;
}

export function sessionAt(env: Env, address: SessionAddress): SessionApi {
  const { name, host } = address;
  if (host === null) return objectStub(env, "AUTH_SESSION", name);
  const number = objectStub(env, "SUBSCRIBER", host);
  return {
    view: () => number.sessionView(name),
    decide: (decision, csrf, pick) => number.sessionDecide(name, decision, csrf, pick),
    // Hosted sessions have no approvers (Assisted Login stays in objects of its own).
    chooseApprover: async () => ({ kind: "not_found" }),
    activationGrant: (csrf) => number.sessionActivationGrant(name, csrf),
    appView: (challengeId, device) => number.sessionAppView(name, challengeId, device),
    appDecide: (claims, device, uv) => number.sessionAppDecide(name, claims, device, uv),
    waitOutcome: () => number.sessionWaitOutcome(name),
  };
}

/**
 * Runs `call` on the session behind a link token: in the Subscriber its route names, else (a
 * link of the old shape, one whose route names no session of that name, no link key to be
 * had) in the AuthSession object its hash names, which answers not_found when there is none.
 */
export async function onLinkSession<R extends { kind: string }>(
  env: Env,
  token: string,
  call: (session: SessionApi, address: SessionAddress) => Promise<R>,
): Promise<R | { kind: "not_found" }> {
  if (!isWellFormedToken(token)) return { kind: "not_found" };
  const name = await sha256Hex(token);
  const key = await linkKeyOrNull(env.DB, (e) => log.error("link_key_unavailable", { error: String(e) }));
  const host = key && (await openLinkToken(key, token));
  if (host) {
    const address = { name, host };
    const hosted = await call(sessionAt(env, address), address);
    if (hosted.kind !== "not_found") return hosted;
  }
  const own = { name, host: null };
  return call(sessionAt(env, own), own);
}
