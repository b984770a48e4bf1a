/**
 * RADIUS packets out of a TLS byte stream (RFC 6613 §2.6.3 via RFC 6614): each packet's
 * Length field (bytes 2-3) says where it ends. Chunks may split a packet or carry several; a
 * Length outside 20..4096 cannot be framed past, so the connection has to be closed (there is
 * no way to find the next packet again).
 */
export const MIN_PACKET = 20;
export const MAX_PACKET = 4096;

export type FrameResult = { packets: Buffer[]; error?: undefined } | { packets: Buffer[]; error: string };

export class FrameReader {
  #pending: Buffer = Buffer.alloc(0);
  #failed = false;

  /** Bytes of a partial packet held (never more than MAX_PACKET - 1). */
  get buffered(): number {
    return this.#pending.length;
  }

  /**
   * Adds a chunk; returns the complete packets it finishes, and an error once a Length is out
   * of range (the packets before it are still returned; nothing is read after it).
   */
  push(chunk: Buffer): FrameResult {
    if (this.#failed) return { packets: [], error: "stream already failed" };
    let data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const packets: Buffer[] = [];
    while (data.length >= 4) {
      const length = data.readUInt16BE(2);
      if (length < MIN_PACKET || length > MAX_PACKET) {
        this.#failed = true;
        this.#pending = Buffer.alloc(0);
        return { packets, error: `invalid length field ${length}` };
      }
      if (data.length < length) break;
      // A copy: the packet outlives the chunk, which node may reuse.
      packets.push(Buffer.from(data.subarray(0, length)));
      data = data.subarray(length);
    }
    this.#pending = Buffer.from(data);
    return { packets };
  }
}
