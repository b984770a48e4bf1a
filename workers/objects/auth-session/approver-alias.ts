/**
 * The approver-link alias. An Assisted Login approver's link token names an AuthSession object
 * too; that object holds only this alias and forwards the approver's page and answer to the
 * main session, until its own purge time.
 */
export interface AliasState {
  /** The main session's object name. */
  target: string;
  /** This alias object's name (SHA-256 of the approver's token), checked by the main session. */
  self: string;
  purgeAt: number;
}

const ALIAS_KEY = "alias";

export async function loadAlias(storage: DurableObjectStorage): Promise<AliasState | null> {
  return (await storage.get<AliasState>(ALIAS_KEY)) ?? null;
}

export async function storeAlias(storage: DurableObjectStorage, alias: AliasState): Promise<void> {
  await storage.put(ALIAS_KEY, alias);
  await storage.setAlarm(alias.purgeAt);
}

/** The alias object's alarm: gone once its purge time has passed, else woken again then. */
export async function aliasAlarm(storage: DurableObjectStorage, now: number): Promise<void> {
  const alias = await loadAlias(storage);
  if (!alias) return;
  if (now >= alias.purgeAt) await storage.deleteAll();
  else await storage.setAlarm(alias.purgeAt);
}
