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

/** Where an alias is kept: its storage keys and its one timer (a SessionPlace's). */
interface AliasPlace {
  storage: Pick<DurableObjectStorage, "get" | "put" | "deleteAll">;
  wakeAt(at: number): Promise<void>;
}

export async function loadAlias(storage: AliasPlace["storage"]): Promise<AliasState | null> {
  return (await storage.get<AliasState>(ALIAS_KEY)) ?? null;
}

export async function storeAlias(place: AliasPlace, alias: AliasState): Promise<void> {
  await place.storage.put(ALIAS_KEY, alias);
  await place.wakeAt(alias.purgeAt);
}

/** The alias's timer: gone once its purge time has passed, else woken again then. */
export async function aliasAlarm(place: AliasPlace, now: number): Promise<void> {
  const alias = await loadAlias(place.storage);
  if (!alias) return;
  if (now >= alias.purgeAt) await place.storage.deleteAll();
  else await place.wakeAt(alias.purgeAt);
}
