import { describe, expect, it } from "vitest";
import { TOUCH_ANSWER_SLACK_MS } from "../../../core/contracts/relay";
import { MAX_WAIT_BACKOFF_MS, WAIT_RETRY_GRACE_MS, retryWait } from "../../../core/wait-retry";

/**
 * A blocking session's outcome must reach the relay before the relay gives up on the edge:
 * a relay that times out counts the edge as unavailable, and a fail-safe relay then accepts.
 */
const deadline = 1_000_000;
const transient = Object.assign(new Error("Network connection lost."), { retryable: true });
const overloaded = Object.assign(new Error("Durable Object is overloaded."), { retryable: true, overloaded: true });

describe("retryWait", () => {
  it("retries a transient fault only until shortly after the deadline", () => {
    expect(retryWait(transient, deadline - 1, deadline)).toBe(true);
    expect(retryWait(transient, deadline + WAIT_RETRY_GRACE_MS, deadline)).toBe(true);
    expect(retryWait(transient, deadline + WAIT_RETRY_GRACE_MS + 1, deadline)).toBe(false);
    // The old budget (deadline + 30 s) outlasted the relay, whose timeout read as "unavailable".
    expect(retryWait(transient, deadline + 20_000, deadline)).toBe(false);
  });

  it("never retries an overload: flooding a session's link must end in a refusal, not a relay timeout", () => {
    expect(retryWait(overloaded, deadline - 10_000, deadline)).toBe(false);
  });

  it("the last retry, with its back-off, ends before the relay's patience does", () => {
    expect(WAIT_RETRY_GRACE_MS + MAX_WAIT_BACKOFF_MS).toBeLessThan(TOUCH_ANSWER_SLACK_MS);
  });
});
