/**
 * The pending sessions this Subscriber hosts (docs/decisions/0022), as the pending cap and the
 * push challenges see them: what a stored pending entry (admission.ts) is for a session in an
 * object of its own, kept in memory instead. Nothing here is written: a hosted session's own
 * state says it is pending and which challenge it pushed, so after a restart the index is made
 * again from the stored states (sessions.ts), and admitting or ending a session writes no entry.
 *
 * Invariants: a session is here from its admission until its release (the session's end, or a
 * start that failed); one made again from its state may also have a stored entry from before
 * this index (`stored`), which its release then gives back too. Its challenge is made again
 * only if a device of the number predates the session (sessions.ts): with the last device
 * gone, the challenges are withdrawn (clearChallenges) and stay so across a restart.
 */
export interface HostedEntry {
  /** When it stops counting should it never be released (its deadline plus a margin). */
  until: number;
  /** The challenge pushed to the number's apps, while open. */
  challengeId?: string;
  /** Made again from a stored state: a stored entry of an earlier release may exist too. */
  stored?: true;
}

export class HostedPending {
  readonly #entries = new Map<string, HostedEntry>();

  /** A session admitted here. */
  add(session: string, entry: HostedEntry): void {
    this.#entries.set(session, entry);
  }

  holds(session: string): boolean {
    return this.#entries.has(session);
  }

  /** Whether a stored entry of an earlier release may exist for the session too (see HostedEntry.stored). */
  mayBeStored(session: string): boolean {
    return this.#entries.get(session)?.stored === true;
  }

  /** Sessions that count against the cap at `now` (lapsed ones are dropped). */
  live(now: number): number {
    for (const [session, entry] of this.#entries) if (entry.until <= now) this.#entries.delete(session);
    return this.#entries.size;
  }

  /** Sets the session's challenge; false for a session not held here. */
  open(session: string, challengeId: string): boolean {
    const entry = this.#entries.get(session);
    if (!entry) return false;
    entry.challengeId = challengeId;
    return true;
  }

  /** Closes the session's challenge and answers its id, if one was open. */
  close(session: string): string | undefined {
    const entry = this.#entries.get(session);
    const challengeId = entry?.challengeId;
    if (entry) delete entry.challengeId;
    return challengeId;
  }

  /** No device is left to answer: no challenge is offered any more (as Device.forget does for stored entries). */
  clearChallenges(): void {
    for (const entry of this.#entries.values()) delete entry.challengeId;
  }

  /** The session ended: it no longer counts. Answers what it held, or null if it was not here. */
  release(session: string): HostedEntry | null {
    const entry = this.#entries.get(session);
    if (!entry) return null;
    this.#entries.delete(session);
    return entry;
  }

  /** The session whose open challenge is `challengeId` (live at `now`), or null. */
  sessionOf(challengeId: string, now: number): string | null {
    for (const [session, entry] of this.#entries) if (entry.challengeId === challengeId && entry.until > now) return session;
    return null;
  }

  /** The open challenges (live at `now`). */
  challenges(now: number): string[] {
    const open: string[] = [];
    for (const entry of this.#entries.values()) if (entry.challengeId !== undefined && entry.until > now) open.push(entry.challengeId);
    return open;
  }
}
