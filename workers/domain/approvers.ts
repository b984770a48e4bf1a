import type { z } from "zod";
import type { Endpoint, LocalApproversSchema } from "../config/schema";
import type { Approver, ApproverDirectory, AssistedEndpoint } from "./approver-directory";
import { EntraGroupDirectory } from "./approvers-entra";
import { LdapGroupDirectory } from "./approvers-ldap";

export { ApproverDirectoryUnavailable, type Approver, type ApproverDirectory } from "./approver-directory";

const INDEX_ID = /^(0|[1-9]\d{0,3})$/;

function localApprovers(endpoint: AssistedEndpoint): z.infer<typeof LocalApproversSchema>["approvers"] {
  const a = endpoint.assistedLogin;
  return a && "approvers" in a ? a.approvers : [];
}

type LocalApprover = z.infer<typeof LocalApproversSchema>["approvers"][number];

/** A list entry as an Approver; its username, if the operator gave one, names the person. */
function fromList(a: LocalApprover, id: string): Approver {
  return { id, name: a.name, msisdn: a.msisdn, ...(a.username ? { usernames: [a.username] } : {}) };
}

/** The `assistedLogin.approvers` list of the endpoint settings; ids are list positions. */
export class LocalListDirectory implements ApproverDirectory {
  async list(endpoint: AssistedEndpoint): Promise<Approver[]> {
    return localApprovers(endpoint).map((a, i) => fromList(a, String(i)));
  }

  async find(endpoint: AssistedEndpoint, id: string): Promise<Approver | null> {
    if (!INDEX_ID.test(id)) return null;
    const a = localApprovers(endpoint)[Number(id)];
    return a ? fromList(a, id) : null;
  }
}

/** The directory an endpoint's assistedLogin names. */
export function approverDirectory(env: Env, endpoint: Pick<Endpoint, "name" | "assistedLogin">): ApproverDirectory {
  switch (endpoint.assistedLogin?.source) {
    case "ldap":
      return new LdapGroupDirectory(env, endpoint.name);
    case "entra":
      return new EntraGroupDirectory(env);
    default:
      return new LocalListDirectory();
  }
}
