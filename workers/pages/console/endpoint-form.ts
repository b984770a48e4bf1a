import type { z } from "zod";
import { DEFAULT_TEXTS, type EndpointSettings, type Texts } from "../../config/schema";

/**
 * The endpoint form <-> EndpointSettingsSchema input, pure. The form has one field per
 * setting; the two nested profiles (Assisted Login approvers, password reset) are JSON text
 * areas. The result is validated by the admin API's own schema (EndpointSettingsSchema), and
 * its issues come back per field via fieldErrors.
 */
export const TEXT_KEYS = Object.keys(DEFAULT_TEXTS) as (keyof Texts)[];
export const BOOLEAN_FIELDS = ["enableActivation", "usePush", "numberMatching", "offlineCodes"] as const;
export const JSON_FIELDS = ["assistedLogin", "reset"] as const;

export type FormValues = Record<string, string>;
export type FieldErrors = Record<string, string>;

/** Only string fields of a parsed form body (files and repeats are ignored). */
export function formValues(body: Record<string, unknown>): FormValues {
  const out: FormValues = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  return out;
}

/** An integer field: empty is "not set"; anything else that is not an integer goes to the schema as text, which names the field. */
function integer(v: string | undefined): number | string | undefined {
  const s = v?.trim() ?? "";
  if (s === "") return undefined;
  return /^-?\d{1,12}$/.test(s) ? Number(s) : s;
}

/** The schema input for a form (every setting present, so a cleared optional one is removed), or the JSON fields that do not parse. */
export function settingsInput(form: FormValues): { input: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const texts: Record<string, string> = {};
  for (const k of TEXT_KEYS) {
    const v = form[`texts.${k}`];
    if (v !== undefined && v !== "") texts[k] = v;
  }
  const perMinute = integer(form["rateLimit.perMinute"]);
  const perHour = integer(form["rateLimit.perHour"]);
  const input: Record<string, unknown> = {
    timeoutSeconds: integer(form.timeoutSeconds),
    rateLimit: perMinute === undefined && perHour === undefined ? undefined : { perMinute, perHour },
    texts,
    responseStyle: form.responseStyle || undefined,
    pushGraceSeconds: integer(form.pushGraceSeconds),
    appApproval: form.appApproval || undefined,
    uvFallback: form.uvFallback || undefined,
    maxPending: integer(form.maxPending),
    numberChange: form.numberChange || undefined,
    numberChangeNoticeHours: integer(form.numberChangeNoticeHours),
  };
  // An unticked checkbox sends nothing: absent means false.
  for (const k of BOOLEAN_FIELDS) input[k] = form[k] === "on" || form[k] === "true";
  for (const k of JSON_FIELDS) {
    const text = form[k]?.trim() ?? "";
    if (text === "") {
      input[k] = undefined;
      continue;
    }
    try {
      input[k] = JSON.parse(text);
    } catch {
      input[k] = undefined; // the schema still checks every other field
      errors[k] = "must be JSON (an object), or empty for none";
    }
  }
  return { input, errors };
}

/** The schema's issues by form field: the first message for each (nested JSON profiles report under their text area, with the path inside). */
export function fieldErrors(error: z.core.$ZodError): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    const [head, ...rest] = issue.path.map(String);
    if (head === undefined) {
      out._form ??= issue.message;
      continue;
    }
    const json = (JSON_FIELDS as readonly string[]).includes(head);
    const field = json ? head : [head, ...rest].join(".");
    out[field] ??= json && rest.length > 0 ? `${rest.join(".")}: ${issue.message}` : issue.message;
  }
  return out;
}

/** Form values showing stored settings (the edit form's initial state). */
export function formFromSettings(s: EndpointSettings): FormValues {
  const form: FormValues = {
    timeoutSeconds: String(s.timeoutSeconds),
    "rateLimit.perMinute": s.rateLimit ? String(s.rateLimit.perMinute) : "",
    "rateLimit.perHour": s.rateLimit ? String(s.rateLimit.perHour) : "",
    responseStyle: s.responseStyle,
    pushGraceSeconds: String(s.pushGraceSeconds),
    appApproval: s.appApproval,
    uvFallback: s.uvFallback,
    maxPending: s.maxPending === undefined ? "" : String(s.maxPending),
    numberChange: s.numberChange,
    numberChangeNoticeHours: String(s.numberChangeNoticeHours),
    assistedLogin: s.assistedLogin ? JSON.stringify(s.assistedLogin, null, 2) : "",
    reset: s.reset ? JSON.stringify(s.reset, null, 2) : "",
  };
  for (const k of TEXT_KEYS) form[`texts.${k}`] = s.texts[k] ?? "";
  for (const k of BOOLEAN_FIELDS) if (s[k]) form[k] = "on";
  return form;
}
