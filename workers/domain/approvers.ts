import type { Endpoint } from "../config/schema";
import type { Approver } from "../objects/auth-session/contract";

export type { Approver };

/**
 * Where an Assisted Login endpoint's approvers come from. Only the endpoint's own list for
 * now; an LDAP or Entra ID directory can implement the same two calls later.
 */
export interface ApproverDirectory {
  list(endpoint: Pick<Endpoint, "assistedLogin">): Promise<Approver[]>;
  find(endpoint: Pick<Endpoint, "assistedLogin">, id: string): Promise<Approver | null>;
}

const INDEX_ID = /^(0|[1-9]\d{0,3})$/;

/** The `assistedLogin.approvers` list of the endpoint settings; ids are list positions. */
export class LocalListDirectory implements ApproverDirectory {
  async list(endpoint: Pick<Endpoint, "assistedLogin">): Promise<Approver[]> {
    return (endpoint.assistedLogin?.approvers ?? []).map((a, i) => ({ id: String(i), name: a.name, msisdn: a.msisdn }));
  }

  async find(endpoint: Pick<Endpoint, "assistedLogin">, id: string): Promise<Approver | null> {
    if (!INDEX_ID.test(id)) return null;
    const a = endpoint.assistedLogin?.approvers[Number(id)];
    return a ? { id, name: a.name, msisdn: a.msisdn } : null;
  }
}

/** The directory an endpoint uses (one kind so far). */
export function approverDirectory(_endpoint: Pick<Endpoint, "assistedLogin">): ApproverDirectory {
  return new LocalListDirectory();
}
