/**
 * A directory's refusal of a new password, in words for the person resetting it. OpenLDAP's
 * ppolicy overlay and Active Directory put the reason in the diagnostic message; the raw text
 * is not shown (it may name server internals), only one of these sentences.
 */
export type DirectoryKind = "openldap" | "ad";

export interface Refusal {
  reason: "policy" | "directory_unavailable";
  message: string;
}

const RULES: Array<{ match: RegExp; message: string }> = [
  { match: /in history|pwdInHistory|password history/i, message: "You have used this password before. Choose one you have not used." },
  {
    match: /not being changed from existing value/i,
    message: "The new password is the same as the current one. Choose a different password.",
  },
  { match: /too short|passwordTooShort/i, message: "The password is too short for the directory's password policy." },
  { match: /too young|pwdMinAge|passwordTooYoung/i, message: "The password was changed too recently. Try again later." },
  {
    match: /quality|insufficientPasswordQuality/i,
    message: "The directory refused the password: it is too short or too simple for the password policy. Choose a longer one.",
  },
  {
    // AD: "0000052D: Constraint violation - check_password_restrictions: the password does not meet
    // the complexity policy / history / length requirements" (the same code for all three).
    match: /0000052D/i,
    message: "The directory refused the password: it is too short, too simple, or was used before. Choose another one.",
  },
];

/** LDAP result codes that mean "this password" (19 constraintViolation, 53 unwillingToPerform with ppolicy). */
const POLICY_CODES = new Set([19, 53]);

export function refusalInWords(code: number | undefined, diagnostic: string): Refusal {
  for (const rule of RULES) if (rule.match.test(diagnostic)) return { reason: "policy", message: rule.message };
  if (code !== undefined && POLICY_CODES.has(code)) {
    return { reason: "policy", message: "The directory refused the password under its password policy. Choose another one." };
  }
  return { reason: "directory_unavailable", message: "The password could not be changed now. Try again later or contact the help desk." };
}
