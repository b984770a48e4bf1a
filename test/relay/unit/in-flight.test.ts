import { describe, expect, it } from "vitest";
import { InFlight } from "../../../relay/src/in-flight.ts";

describe("InFlight: the work a shutdown waits for", () => {
  it("is idle at once with nothing begun, and once every piece has ended", async () => {
    const work = new InFlight();
    await work.idle();
    const a = work.begin();
    const b = work.begin();
    expect(work.size).toBe(2);
    let idle = false;
    const waiting = work.idle().then(() => (idle = true));
    a();
    a(); // ending twice counts once
    await Promise.resolve();
    expect(idle).toBe(false);
    expect(work.size).toBe(1);
    b();
    await waiting;
    expect(work.size).toBe(0);
  });

  it("waits until nothing is in flight, work begun after the wait included; a later wait waits for later work", async () => {
    const work = new InFlight();
    const first = work.begin();
    let firstIdle = false;
    const waiting = work.idle().then(() => (firstIdle = true));
    const second = work.begin();
    first();
    await Promise.resolve();
    expect(firstIdle).toBe(false); // the work begun after the wait still runs
    second();
    await waiting;
    const late = work.begin();
    let idle = false;
    void work.idle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    late();
    await Promise.resolve();
    expect(idle).toBe(true);
  });
});
