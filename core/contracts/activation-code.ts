/**
 * The one-time activation code sent by SMS and typed into the app: the app checks its shape
 * before sending, the edge validates it (app-api.ts) and makes it (core/device-activation.ts).
 * No zod here, so the app's bundle can import it.
 */
export const ACTIVATION_CODE_DIGITS = 6;
export const ACTIVATION_CODE_PATTERN = new RegExp(`^\\d{${ACTIVATION_CODE_DIGITS}}$`);
