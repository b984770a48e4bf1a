/**
 * The password reset page's only script (workers/pages/reset.tsx): checks the new password
 * against the policy and the breached list as a courtesy (the relay checks again), then
 * encrypts it to the relay site's public key and submits only the JWE. The password fields
 * have no name, so the browser never sends them; the edge receives a JWE it cannot open.
 */
import { CompactEncrypt, importJWK } from "jose";
import { isBreached, parseBreachedList } from "../core/breached-passwords.ts";
import { RESET_JWE_ALG, RESET_JWE_ENC, RESET_PASSWORD_MAX, type ResetSecret } from "../core/contracts/reset-secret.ts";
import { checkPasswordPolicy, type PasswordPolicy, type PolicyProblem, policyProblemText } from "../core/password-policy.ts";

/** The shipped list (data/breached-passwords.txt), put in by scripts/build-client.mjs. */
declare const __BREACHED_LIST__: string;

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`reset page: #${id} missing`);
  return el;
}

function showProblems(list: HTMLUListElement, texts: string[]): void {
  list.replaceChildren(
    ...texts.map((t) => {
      const li = document.createElement("li");
      li.textContent = t;
      return li;
    }),
  );
  list.hidden = texts.length === 0;
}

function start(): void {
  const form = byId("reset-password", HTMLFormElement);
  const first = byId("new-password", HTMLInputElement);
  const second = byId("confirm-password", HTMLInputElement);
  const jweField = byId("jwe", HTMLInputElement);
  const problems = byId("problems", HTMLUListElement);
  const submit = byId("reset-submit", HTMLButtonElement);
  const { jwk, policy: policyJson, username = "", exp } = form.dataset;
  if (!jwk || !policyJson || !exp) throw new Error("reset page: form data missing");
  const policy = JSON.parse(policyJson) as PasswordPolicy;
  const breached = parseBreachedList(__BREACHED_LIST__);
  submit.disabled = false;

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = first.value;
    const found: PolicyProblem[] = checkPasswordPolicy(password, username, policy);
    if (found.length === 0 && (await isBreached(password, breached))) found.push("breached");
    const texts = found.map((p) => policyProblemText(p, policy));
    if (password !== second.value) texts.push("The two passwords are not the same.");
    if (password.length > RESET_PASSWORD_MAX) texts.push("The password is too long.");
    showProblems(problems, texts);
    if (texts.length > 0) return;
    submit.disabled = true;
    const secret: ResetSecret = { v: 1, u: username, p: password, exp: Number(exp) };
    const key = await importJWK(JSON.parse(jwk) as Record<string, string>, RESET_JWE_ALG);
    jweField.value = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(secret)))
      .setProtectedHeader({ alg: RESET_JWE_ALG, enc: RESET_JWE_ENC })
      .encrypt(key);
    first.value = "";
    second.value = "";
    form.submit();
  });
}

start();
