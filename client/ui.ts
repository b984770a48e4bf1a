/** The screen: which view shows, the error line, the result screen, and DOM helpers. */
import { setView, stopTimers, type View, VIEWS } from "./state";

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export function show(view: View): void {
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  setView(view);
  if (view !== "home" && view !== "waiting") stopTimers();
}

export function showError(message: string | null): void {
  const el = $("error");
  el.textContent = message ?? "";
  el.hidden = message === null;
}

export function showResult(title: string, text: string): void {
  $("result-title").textContent = title;
  $("result-text").textContent = text;
  show("result");
}

export function button(label: string, className: string, onclick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = label;
  b.onclick = onclick;
  return b;
}
