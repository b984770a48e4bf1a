/** Result of checking the user's password on-prem (the first factor). */
export type FirstFactorResult =
  | {
      ok: true;
      /** From the directory, when it has one. */
      msisdn?: string;
      /** The directory's name of the account (LDAP: its usernameAttribute), when it has one: the user's key. */
      user?: string;
    }
  | { ok: false; reason: string };

export interface FirstFactor {
  readonly name: string;
  /**
   * True when a successful verify() means the user exists and proved their password to a
   * directory (LDAP, upstream RADIUS). Only then may an E.164 username serve as the number.
   */
  readonly vouchesForUser?: boolean;
  /** Resolves ok:false for wrong credentials; throws when the backend cannot be asked. */
  verify(user: string, password: string): Promise<FirstFactorResult>;
}

export class FirstFactorUnavailableError extends Error {
  override name = "FirstFactorUnavailableError";
}
