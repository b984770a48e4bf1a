import { describe, expect, it } from "vitest";
import { ndjsonResponse } from "../../../workers/lib/ndjson-stream";

/** The streamed NDJSON answer of the batched Touch: lines as they come, the end only at the end. */
type Line = { i: number };
const gate = () => {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
};

describe("ndjsonResponse", () => {
  it("sends each line when it is emitted, ends the body when the run ends, and keeps the run alive until then", async () => {
    const kept: Promise<unknown>[] = [];
    const second = gate();
    const res = ndjsonResponse<Line>(
      "application/x-ndjson",
      (p) => kept.push(p),
      async (emit) => {
        emit({ i: 1 });
        await second.opened;
        emit({ i: 0 });
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    expect(kept.length).toBe(1);
    if (!res.body) throw new Error("no body");
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    // The first line arrives while the run still waits for the second.
    expect((await reader.read()).value).toBe('{"i":1}\n');
    second.open();
    expect((await reader.read()).value).toBe('{"i":0}\n');
    expect((await reader.read()).done).toBe(true);
    await kept[0];
  });

  it("a run that fails breaks the body instead of ending it as if complete", async () => {
    const res = ndjsonResponse<Line>(
      "application/x-ndjson",
      () => {},
      async (emit) => {
        emit({ i: 0 });
        throw new Error("boom");
      },
    );
    if (!res.body) throw new Error("no body");
    const reader = res.body.getReader();
    await expect(
      (async () => {
        while (!(await reader.read()).done);
      })(),
    ).rejects.toThrow("boom");
  });

  it("a reader that went away does not stop the run", async () => {
    const later = gate();
    let emitted = 0;
    const kept: Promise<unknown>[] = [];
    const res = ndjsonResponse<Line>(
      "application/x-ndjson",
      (p) => kept.push(p),
      async (emit) => {
        await later.opened;
        emit({ i: 0 });
        emitted++;
      },
    );
    await res.body?.cancel();
    later.open();
    await kept[0];
    expect(emitted).toBe(1);
  });
});
