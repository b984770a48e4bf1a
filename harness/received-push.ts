/** One push the fake push service received (shared by the Node server and workerd tests). */
export interface ReceivedPush {
  subscription: string;
  receivedAt: number;
  /** The decrypted plaintext, or null if decryption failed (see error). */
  payload: string | null;
  error: string | null;
  vapid: { ok: boolean; error: string | null; claims: Record<string, unknown> | null; publicKey: string | null };
  headers: { ttl: string | null; urgency: string | null; contentEncoding: string | null; contentType: string | null };
  bodyLength: number;
  status: number;
}
