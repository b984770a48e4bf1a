/**
 * The new-password rules of the reset portal: length, character classes, not containing the
 * username, not on a breached-password list (breached-passwords.ts). The page checks them as a
 * courtesy (the edge never sees the password); the relay checks them again before it changes
 * anything, and the directory applies its own policy after that. Zod-free: the reset page's
 * script bundles this file; the config schema is password-policy-schema.ts.
 */
export interface PasswordPolicy {
  /** Characters (code points), not bytes. */
  minLength: number;
  maxLength: number;
  /** Of lower case, upper case, digits and other characters, at least this many. */
  minClasses: number;
  /** Refuse a password that contains the username (case-insensitive; usernames of 3+ characters). */
  forbidUsername: boolean;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = { minLength: 12, maxLength: 256, minClasses: 3, forbidUsername: true };

export type PolicyProblem = "too_short" | "too_long" | "too_few_classes" | "contains_username" | "breached";

/** Number of character classes (lower, upper, digit, other) a password uses. */
export function characterClasses(password: string): number {
  let n = 0;
  if (/\p{Ll}/u.test(password)) n++;
  if (/\p{Lu}/u.test(password)) n++;
  if (/\p{Nd}/u.test(password)) n++;
  if (/[^\p{Ll}\p{Lu}\p{Nd}]/u.test(password)) n++;
  return n;
}

/** What the policy finds wrong with a password (empty: it passes). The breached check is separate: it hashes. */
export function checkPasswordPolicy(password: string, username: string, policy: PasswordPolicy): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const length = [...password].length;
  if (length < policy.minLength) problems.push("too_short");
  if (length > policy.maxLength) problems.push("too_long");
  if (characterClasses(password) < policy.minClasses) problems.push("too_few_classes");
  const user = username.trim().toLowerCase();
  if (policy.forbidUsername && user.length >= 3 && password.toLowerCase().includes(user)) problems.push("contains_username");
  return problems;
}

/** Each problem in words for the person choosing the password. */
export function policyProblemText(problem: PolicyProblem, policy: PasswordPolicy): string {
  switch (problem) {
    case "too_short":
      return `The password must be at least ${policy.minLength} characters long.`;
    case "too_long":
      return `The password must be at most ${policy.maxLength} characters long.`;
    case "too_few_classes":
      return `The password must use at least ${policy.minClasses} of: lower-case letters, upper-case letters, digits, other characters.`;
    case "contains_username":
      return "The password must not contain your username.";
    case "breached":
      return "This password appears in a list of leaked or common passwords. Choose another one.";
  }
}
