import { compactDecrypt } from "jose";
import { z } from "zod";
import { RESET_JWE_ALG, RESET_JWE_ENC, RESET_PASSWORD_MAX, type ResetSecret } from "../../../core/contracts/reset-secret.ts";
import type { LinkArgs, LinkResult } from "../../../core/contracts/relay-link.ts";
import { normalizeUsername } from "../../../core/contracts/relay.ts";
import { type BreachedList, isBreached } from "../../../core/breached-passwords.ts";
import { checkPasswordPolicy, type PasswordPolicy, policyProblemText } from "../../../core/password-policy.ts";
import type { Logger } from "../log.ts";
import { type DirectoryAccounts, DirectoryUnavailableError } from "./directory-accounts.ts";
import type { EncryptionKey } from "./encryption-key.ts";

export interface PasswordChangeDeps {
  key: EncryptionKey;
  policy: PasswordPolicy;
  breached: BreachedList;
  accounts: DirectoryAccounts;
  log: Logger;
  now?: () => number;
}

type Result = LinkResult<"password.change">;
type Refused = Extract<Result, { changed: false }>;

const SecretSchema: z.ZodType<ResetSecret> = z.object({
  v: z.literal(1),
  u: z.string().min(1).max(256),
  p: z.string().min(1).max(RESET_PASSWORD_MAX),
  exp: z.number().int(),
});

const MESSAGE_MAX = 500;
const refused = (reason: Refused["reason"], message: string): Refused => ({
  changed: false,
  reason,
  message: message.slice(0, MESSAGE_MAX),
});

const UNREADABLE = "The new password could not be read. Start the reset again.";
const DIRECTORY_DOWN = "The password could not be changed now. Try again later or contact the help desk.";

/**
 * The relay's "password.change" handler: decrypt the JWE the user's browser made (only this
 * relay's key opens it; the edge that forwarded it never saw the password), check that it is
 * for this username and not expired, check the policy and the breached list again (the page's
 * check is a courtesy the relay cannot trust), then set it in the directory, whose own policy
 * may still refuse it (in words). The password appears in no log line and no error.
 */
export function passwordChangeHandler(deps: PasswordChangeDeps): (args: LinkArgs<"password.change">) => Promise<Result> {
  const now = deps.now ?? Date.now;
  return async (args) => {
    const username = normalizeUsername(args.username);
    let secret: ResetSecret;
    try {
      const { plaintext } = await compactDecrypt(args.jwe, deps.key, {
        keyManagementAlgorithms: [RESET_JWE_ALG],
        contentEncryptionAlgorithms: [RESET_JWE_ENC],
      });
      secret = SecretSchema.parse(JSON.parse(new TextDecoder().decode(plaintext)));
    } catch {
      deps.log.log("warn", "password_change_refused", { username, reason: "undecryptable" });
      return refused("undecryptable", UNREADABLE);
    }
    // A JWE made for another account (or replayed after its step ended) changes nothing.
    if (normalizeUsername(secret.u) !== username) {
      deps.log.log("warn", "password_change_refused", { username, reason: "username_mismatch" });
      return refused("undecryptable", UNREADABLE);
    }
    if (secret.exp * 1000 < now()) {
      deps.log.log("warn", "password_change_refused", { username, reason: "expired" });
      return refused("undecryptable", "The reset took too long. Start the reset again.");
    }

    const problems = checkPasswordPolicy(secret.p, username, deps.policy);
    if (await isBreached(secret.p, deps.breached)) problems.push("breached");
    if (problems.length > 0) {
      deps.log.log("info", "password_change_refused", { username, reason: "local_policy", problems });
      return refused("policy", problems.map((p) => policyProblemText(p, deps.policy)).join(" "));
    }

    try {
      const user = await deps.accounts.find(username);
      if (!user) {
        deps.log.log("info", "password_change_refused", { username, reason: "not_found" });
        return refused("not_found", "The account could not be found in the directory.");
      }
      const set = await deps.accounts.setPassword(user.dn, secret.p);
      if (!set.ok) {
        deps.log.log(set.reason === "policy" ? "info" : "error", "password_change_refused", {
          username,
          reason: `directory_${set.reason}`,
        });
        return refused(set.reason, set.message);
      }
    } catch (e) {
      // The message of an ldapts error carries no request data; the password is not in it.
      const error = e instanceof DirectoryUnavailableError ? e.message : String(e);
      deps.log.log("error", "password_change_failed", { username, error });
      return refused("directory_unavailable", DIRECTORY_DOWN);
    }
    deps.log.log("info", "password_changed", { username });
    return { changed: true };
  };
}
