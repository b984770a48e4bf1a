import { readFileSync } from "node:fs";
import { type BreachedList, parseBreachedList } from "../../../core/breached-passwords.ts";
import type { PasswordResetConfig, RelayConfig } from "../config.ts";
import type { Logger } from "../log.ts";
import { LdapDirectoryAccounts } from "./directory-accounts.ts";
import { loadEncryptionKey } from "./encryption-key.ts";
import { passwordChangeHandler } from "./password-change.ts";
import { userLookupHandler } from "./user-lookup.ts";

/** The breached-password list shipped in the repository (data/breached-passwords.txt). */
export const SHIPPED_BREACHED_LIST = new URL("../../../data/breached-passwords.txt", import.meta.url);

export function loadBreachedList(file: string | URL): BreachedList {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`passwordReset.breachedListFile: cannot read ${String(file)}: ${(e as Error).message}`);
  }
  try {
    return parseBreachedList(text);
  } catch (e) {
    throw new Error(`passwordReset.breachedListFile ${String(file)}: ${(e as Error).message}`);
  }
}

/**
 * The relay-link operations the password reset needs, for the link dispatcher to register
 * by op name. Loads the key and the list at start-up, so a bad file fails the start, not a reset.
 */
export async function passwordResetHandlers(cfg: PasswordResetConfig, users: RelayConfig["users"], log: Logger) {
  const accounts = new LdapDirectoryAccounts(cfg);
  const key = await loadEncryptionKey(cfg.encryptionKeyFile);
  const breached = loadBreachedList(cfg.breachedListFile ?? SHIPPED_BREACHED_LIST);
  return {
    "user.lookup": userLookupHandler({ accounts, users, log }),
    "password.change": passwordChangeHandler({ key, policy: cfg.policy, breached, accounts, log }),
  } as const;
}
