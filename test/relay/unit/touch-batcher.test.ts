import { describe, expect, it } from "vitest";
import { TouchBatcher } from "../../../relay/src/touch-batcher.ts";

/**
 * The Touch batcher (relay/src/touch-batcher.ts) without HTTP: the logins of one event-loop
 * round go as one batch, a lone one as a single call, never more than `max` in one call.
 */
type Sent = { kind: "one"; logins: string[] } | { kind: "batch"; logins: string[] };

function recorder(opts: { max: number; now?: () => number }) {
  const sent: Sent[] = [];
  const batcher = new TouchBatcher<string, string>({
    max: opts.max,
    now: opts.now,
    sendOne: async (login) => {
      sent.push({ kind: "one", logins: [login] });
      return `one:${login}`;
    },
    sendBatch: (logins) => {
      sent.push({ kind: "batch", logins });
      return logins.map((login, i) =>
        login.startsWith("bad") ? Promise.reject(new Error(login)) : Promise.resolve(`batch:${login}@${i}`),
      );
    },
  });
  return { sent, batcher };
}

const nextRound = () => new Promise((r) => setImmediate(r));

describe("TouchBatcher", () => {
  it("sends the logins of one round as one batch, each getting its own answer", async () => {
    const { sent, batcher } = recorder({ max: 32 });
    const answers = Promise.all(["a", "b", "c"].map((l) => batcher.send(l)));
    expect(sent).toEqual([]);
    expect(await answers).toEqual(["batch:a@0", "batch:b@1", "batch:c@2"]);
    expect(sent).toEqual([{ kind: "batch", logins: ["a", "b", "c"] }]);
  });

  it("sends a lone login as a single call", async () => {
    const { sent, batcher } = recorder({ max: 32 });
    expect(await batcher.send("a")).toBe("one:a");
    expect(sent).toEqual([{ kind: "one", logins: ["a"] }]);
  });

  it("never puts more than max in one call: a full queue goes at once, the rest with the round", async () => {
    const { sent, batcher } = recorder({ max: 2 });
    const answers = Promise.all(["a", "b", "c", "d", "e"].map((l) => batcher.send(l)));
    // Two full batches went before the round ended.
    expect(sent).toEqual([
      { kind: "batch", logins: ["a", "b"] },
      { kind: "batch", logins: ["c", "d"] },
    ]);
    expect(await answers).toEqual(["batch:a@0", "batch:b@1", "batch:c@0", "batch:d@1", "one:e"]);
    expect(sent.at(-1)).toEqual({ kind: "one", logins: ["e"] });
  });

  it("starts a new batch in the next round", async () => {
    const { sent, batcher } = recorder({ max: 32 });
    const first = Promise.all([batcher.send("a"), batcher.send("b")]);
    await nextRound();
    const second = Promise.all([batcher.send("c"), batcher.send("d")]);
    await Promise.all([first, second]);
    expect(sent).toEqual([
      { kind: "batch", logins: ["a", "b"] },
      { kind: "batch", logins: ["c", "d"] },
    ]);
  });

  it("max 1 turns batching off: every login alone, at once", async () => {
    const { sent, batcher } = recorder({ max: 1 });
    const answers = Promise.all([batcher.send("a"), batcher.send("b")]);
    expect(sent).toEqual([
      { kind: "one", logins: ["a"] },
      { kind: "one", logins: ["b"] },
    ]);
    expect(await answers).toEqual(["one:a", "one:b"]);
  });

  it("one login's refusal is its own: the others of the batch keep their answers", async () => {
    const { batcher } = recorder({ max: 32 });
    const [a, bad, c] = await Promise.allSettled([batcher.send("a"), batcher.send("bad1"), batcher.send("c")]);
    expect(a).toEqual({ status: "fulfilled", value: "batch:a@0" });
    expect(bad).toMatchObject({ status: "rejected", reason: { message: "bad1" } });
    expect(c).toEqual({ status: "fulfilled", value: "batch:c@2" });
  });

  it("a batch that cannot be sent rejects each of its logins", async () => {
    const batcher = new TouchBatcher<string, string>({
      max: 32,
      sendOne: async () => "one",
      sendBatch: () => {
        throw new Error("no batch");
      },
    });
    const results = await Promise.allSettled([batcher.send("a"), batcher.send("b")]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  it("sendAloneFor: every login alone until the time has passed, then batches again", async () => {
    let now = 1_000;
    const { sent, batcher } = recorder({ max: 32, now: () => now });
    batcher.sendAloneFor(600_000);
    await Promise.all([batcher.send("a"), batcher.send("b")]);
    expect(sent.map((s) => s.kind)).toEqual(["one", "one"]);
    now += 600_000;
    await Promise.all([batcher.send("c"), batcher.send("d")]);
    expect(sent.at(-1)).toEqual({ kind: "batch", logins: ["c", "d"] });
  });

  it("a login marked alone goes by itself at once; the round's others still batch", async () => {
    const sent: Sent[] = [];
    const batcher = new TouchBatcher<string, string>({
      max: 32,
      alone: (login) => login.startsWith("odd"),
      sendOne: async (login) => {
        sent.push({ kind: "one", logins: [login] });
        return login;
      },
      sendBatch: (logins) => {
        sent.push({ kind: "batch", logins });
        return logins.map((l) => Promise.resolve(l));
      },
    });
    const answers = Promise.all(["a", "odd", "b"].map((l) => batcher.send(l)));
    expect(sent).toEqual([{ kind: "one", logins: ["odd"] }]);
    expect(await answers).toEqual(["a", "odd", "b"]);
    expect(sent.at(-1)).toEqual({ kind: "batch", logins: ["a", "b"] });
  });

  it("refuses a max below 1", () => {
    expect(() => recorder({ max: 0 })).toThrow(/max/);
  });
});
