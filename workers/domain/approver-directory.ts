import type { Endpoint } from "../config/schema";
import type { Approver } from "../objects/auth-session/contract";
import { sha256Hex } from "../../core/tokens";

export type { Approver };

export type AssistedEndpoint = Pick<Endpoint, "assistedLogin">;

/**
 * Where an Assisted Login endpoint's approvers come from: the endpoint's own list, an LDAP
 * group (a relay resolves it over the relay link) or an Entra ID group (Microsoft Graph).
 * The session snapshots `list()` at its start; ids are opaque to the user.
 */
export interface ApproverDirectory {
  list(endpoint: AssistedEndpoint): Promise<Approver[]>;
  find(endpoint: AssistedEndpoint, id: string): Promise<Approver | null>;
}

/**
 * The directory could not be asked (no relay connected, Graph down, a missing secret) or
 * gave no approver with a number: the Assisted Login call ends FAILED_DELIVERY before the
 * user is asked anything (docs/app.md "Approvers from a directory").
 */
export class ApproverDirectoryUnavailable extends Error {
  override name = "ApproverDirectoryUnavailable";
}

/**
 * A directory member's id: stable while the member stays (a hash of the source and the
 * member's username, not their position, which moves when someone joins or leaves).
 */
export async function memberId(source: string, username: string): Promise<string> {
  return (await sha256Hex(`${source}\n${username.toLowerCase()}`)).slice(0, 24);
}

/** A directory's find(): by id within its (cached) list. */
export async function findIn(dir: ApproverDirectory, endpoint: AssistedEndpoint, id: string): Promise<Approver | null> {
  return (await dir.list(endpoint)).find((a) => a.id === id) ?? null;
}
