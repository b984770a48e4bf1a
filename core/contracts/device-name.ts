/**
 * A device's name (the user's own words, e.g. "Anna's tablet"): the app checks it before
 * sending, the edge validates it (app-api.ts). No zod here, so the app's bundle can import it.
 */
export const MAX_DEVICE_NAME = 40;
/** Printable text only: no control, format or unassigned characters. */
export const DEVICE_NAME_PATTERN = /^[^\p{C}]+$/u;
