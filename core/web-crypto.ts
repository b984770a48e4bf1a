/**
 * The Web Crypto key type, named the same on Workers, Node and browsers. Core modules run on
 * all three, and the global `CryptoKey` type exists only under DOM or Workers typings.
 */
export type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
