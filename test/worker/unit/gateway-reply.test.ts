import { describe, expect, it } from "vitest";
import { readReply } from "../../../workers/sms/provider";

/** A gateway's reply as read by the SMS adapters (workers/sms/provider.ts readReply): bounded, never altered. */
const enc = new TextEncoder();
/** A body that arrives one chunk per read, then ends (or, `fail`, breaks off). */
const streamOf = (chunks: Uint8Array[], fail = false) => {
  const left = [...chunks];
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = left.shift();
      if (next) controller.enqueue(next);
      else if (fail) controller.error(new Error("connection reset"));
      else controller.close();
    },
  });
};

describe("gateway reply", () => {
  it("a reply that says its length is read whole: the text as sent, its size in bytes", async () => {
    const body = enc.encode('{"status":"created","to":"+46701234567","text":"Logga in på Åre"}');
    const res = new Response(body, { headers: { "content-length": String(body.byteLength) } });
    expect(await readReply(res, 1024)).toEqual({ text: new TextDecoder().decode(body), bytes: body.byteLength, truncated: false });
  });

  it("a reply longer than the bound is cut at the bound, whether or not it says its length", async () => {
    const chunk = enc.encode("x".repeat(700));
    const withLength = new Response(streamOf([chunk, chunk]), { headers: { "content-length": "1400" } });
    expect(await readReply(withLength, 1000)).toEqual({ text: "x".repeat(1000), bytes: 1000, truncated: true });
    const streamed = new Response(streamOf([chunk, chunk]));
    expect(await readReply(streamed, 1000)).toEqual({ text: "x".repeat(1000), bytes: 1000, truncated: true });
  });

  it("a reply without a length within the bound is read to its end", async () => {
    const res = new Response(streamOf([enc.encode("queued "), enc.encode("id=42")]));
    expect(await readReply(res, 1000)).toEqual({ text: "queued id=42", bytes: 12, truncated: false });
  });

  it("a streamed reply cut off mid-body is judged on what arrived", async () => {
    const res = new Response(streamOf([enc.encode("partial")], true));
    expect(await readReply(res, 1000)).toEqual({ text: "partial", bytes: 7, truncated: false });
  });
});
