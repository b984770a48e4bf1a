import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { base64url, fromBase64url } from "../../core/base64url";
import { openLinkToken, sealLinkToken } from "../../core/link-route";
import { randomToken, sha256Hex } from "../../core/tokens";
import { DEFAULT_TEXTS } from "../../workers/config/schema";
import { linkKey } from "../../workers/store/link-key";
import {
  SESSION_START_URL,
  START_HEADER,
  type SessionStartArgs,
  encodeStartArgs,
  sessionWaitUrl,
} from "../../workers/objects/subscriber/contract";
import { outcomeOn, startAndOpenWait } from "../../workers/domain/session-wait";
import { answer, callAuth, codeOf, freshMsisdn, openLink, pendingSettlesAt, sessionPlace, waitForLink } from "./support/magic-link";

/**
 * A Magic Link session is hosted by its number's Subscriber (docs/decisions/0022): its link's
 * token routes there without showing the number, one object keeps the pending entry and the
 * session, the object's one alarm follows every session's timer, and links of the old shape
 * (a session in an AuthSession object of its own) still work.
 */
const tokenOf = (link: string) => link.split("/m/")[1] ?? "";
const stateOf = <T>(stub: DurableObjectStub, key: string) => runInDurableObject(stub, (_i, s) => s.storage.get<T>(key));

describe("sessions hosted by their number's Subscriber", () => {
  it("the link routes to the number's object without showing the number; the session is stored there and nowhere else", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn);
    const link = await waitForLink(msisdn);
    const token = tokenOf(link);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(link).not.toContain(msisdn.slice(1));
    expect(await openLinkToken(await linkKey(env.DB), token)).toBe(msisdn);

    const place = await sessionPlace(link);
    expect(place.host).toBe(msisdn);
    expect(await stateOf(place.stub, place.stateKey)).toMatchObject({ status: "pending", name: place.name });
    // No object of its own: the AuthSession its hash would name holds nothing.
    const own = env.AUTH_SESSION.getByName(place.name);
    expect(await runInDurableObject(own, (_i, s) => s.storage.list())).toEqual(new Map());
    // The number's pending entry is in the same object while it waits, and goes with the answer.
    expect(await pendingSettlesAt(msisdn, 1)).toBe(1);

    const page = await openLink(link);
    expect((await answer(link, "accept", page.csrf!)).status).toBe(200);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
    expect(await pendingSettlesAt(msisdn, 0)).toBe(0);
    expect((await answer(link, "accept", page.csrf!)).status).toBe(410);
  });

  it("a link changed in any byte finds no session, whichever object its route names", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { params: { "touch-timeout": "15" } });
    const link = await waitForLink(msisdn);
    const bytes = fromBase64url(tokenOf(link));
    for (const at of [0, 5, 12, 20, 31]) {
      const changed = bytes.slice();
      changed[at] = (changed[at] ?? 0) ^ 0x20;
      const forged = link.replace(tokenOf(link), base64url(changed));
      expect((await openLink(forged)).res.status).toBe(404);
    }
    const page = await openLink(link);
    await answer(link, "reject", page.csrf!);
    expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
  });

  it("the number's one alarm follows the earliest timer of its sessions, and moves on when that session ends", async () => {
    const msisdn = freshMsisdn();
    const first = callAuth(msisdn, { params: { "touch-timeout": "15" } });
    const firstLink = await waitForLink(msisdn);
    const second = callAuth(msisdn, { params: { "touch-timeout": "60" } });
    const secondLink = await waitForLink(msisdn, 10_000, 1);
    const a = await sessionPlace(firstLink);
    const b = await sessionPlace(secondLink);
    expect(b.stub.id.toString()).toBe(a.stub.id.toString());
    const alarm = () => runInDurableObject(a.stub, (_i, s) => s.storage.getAlarm());
    const aState = await stateOf<{ expiresAt: number }>(a.stub, a.stateKey);
    const bState = await stateOf<{ expiresAt: number }>(b.stub, b.stateKey);
    expect(await alarm()).toBe(aState!.expiresAt);

    // The first ends: its tombstone's purge (10 minutes on) is later than the second's deadline.
    const page = await openLink(firstLink);
    await answer(firstLink, "accept", page.csrf!);
    expect(await codeOf(first)).toBe("TOUCH_ACCEPTED");
    expect(await alarm()).toBe(bState!.expiresAt);
    const purgeAt = (await stateOf<{ purgeAt: number }>(a.stub, a.stateKey))!.purgeAt;
    expect(purgeAt).toBeGreaterThan(bState!.expiresAt);

    // The second ends too: the alarm goes to the earlier of the two purges.
    const page2 = await openLink(secondLink);
    await answer(secondLink, "reject", page2.csrf!);
    expect(await codeOf(second)).toBe("TOUCH_REJECTED");
    expect(await alarm()).toBe(purgeAt);
  });

  it("an alarm with nothing due leaves the number's alarm at its next timer, and the steps after it still move it", async () => {
    // The object keeps its alarm time in memory between steps; the runtime clears an alarm
    // that runs, so what the object knew before the run must not be trusted after it.
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { params: { "touch-timeout": "60" } });
    const link = await waitForLink(msisdn);
    const { stub, stateKey } = await sessionPlace(link);
    const alarm = () => runInDurableObject(stub, (_i, s) => s.storage.getAlarm());
    const { expiresAt } = (await stateOf<{ expiresAt: number }>(stub, stateKey))!;
    expect(await alarm()).toBe(expiresAt);
    for (let run = 0; run < 2; run++) {
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      expect(await alarm()).toBe(expiresAt);
    }
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
    expect(await alarm()).toBe((await stateOf<{ purgeAt: number }>(stub, stateKey))!.purgeAt);
  });

  it("the number's wait URL opens a wait only as an upgrade, only for a session it holds", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { params: { "touch-timeout": "15" } });
    const link = await waitForLink(msisdn);
    const { stub, name } = await sessionPlace(link);
    const upgrade = { headers: { upgrade: "websocket" } };
    expect((await stub.fetch(sessionWaitUrl(name))).status).toBe(426);
    expect((await stub.fetch("https://subscriber.internal/sessions/not-a-name/wait", upgrade)).status).toBe(404);
    expect((await stub.fetch(sessionWaitUrl(await sha256Hex(randomToken())), upgrade)).status).toBe(404);
    const open = await stub.fetch(sessionWaitUrl(name), upgrade);
    expect(open.status).toBe(101);
    open.webSocket?.accept();
    const message = new Promise<string>((resolve) => open.webSocket?.addEventListener("message", (e) => resolve(String(e.data))));
    const page = await openLink(link);
    await answer(link, "reject", page.csrf!);
    expect(await codeOf(pending)).toBe("TOUCH_REJECTED");
    expect(JSON.parse(await message)).toEqual({ status: "rejected" });
  });

  it("the blocking call's start opens its wait in the same request: only as an upgrade carrying a start it can read", async () => {
    const msisdn = freshMsisdn();
    const stub = env.SUBSCRIBER.getByName(msisdn);
    const token = await sealLinkToken(await linkKey(env.DB), msisdn);
    const name = await sha256Hex(token);
    const link = `https://mfa.example.com/m/${token}`;
    // Texts in any script: a header carries Latin-1 only, so the start is percent-encoded.
    const title = "Logga in på Åre ✓ 東京";
    const args = {
      limits: { perMinute: 10, perHour: 100 },
      claim: { session: name, until: Date.now() + 120_000, cap: 1 },
      init: {
        name,
        msisdn,
        endpoint: "default",
        texts: { ...DEFAULT_TEXTS, title },
        smsText: `Sign in: ${link}`,
        link,
        timeoutMs: 60_000,
        tombstoneMs: 60_000,
        leaseShard: null,
        app: { activation: false, push: null, matchNumber: null, callerShowsNumber: false },
        assisted: null,
      },
    } satisfies SessionStartArgs;

    // Not an upgrade, or no start that parses: refused before anything is admitted.
    expect((await stub.fetch(SESSION_START_URL, { headers: { [START_HEADER]: encodeStartArgs(args) } })).status).toBe(426);
    for (const bad of ["%7Bnot json", encodeURIComponent("{}"), "%E0%A4%A"]) {
      expect((await stub.fetch(SESSION_START_URL, { headers: { upgrade: "websocket", [START_HEADER]: bad } })).status).toBe(400);
    }
    expect((await stub.fetch(SESSION_START_URL, { headers: { upgrade: "websocket" } })).status).toBe(400);
    expect(await stub.pendingCount()).toBe(0);

    const { answer: started, socket } = await startAndOpenWait(env, msisdn, args);
    expect(started).toEqual({ admitted: { allowed: true, retryAfterMs: 0 }, started: { status: "pending", channel: "sms" } });
    expect(socket).not.toBeNull();
    const outcome = outcomeOn(socket!, Date.now() + 60_000);

    // A second start over the number's cap: the refusal, and no socket.
    const other = await sha256Hex(randomToken());
    const refused = await startAndOpenWait(env, msisdn, {
      ...args,
      claim: { ...args.claim, session: other },
      init: { ...args.init, name: other },
    });
    expect(refused).toEqual({ answer: { admitted: { allowed: false, reason: "too_many_pending" } }, socket: null });

    expect(await waitForLink(msisdn)).toBe(link);
    const page = await openLink(link);
    expect(page.html).toContain(title);
    await answer(link, "accept", page.csrf!);
    expect(await outcome).toEqual({ status: "accepted" });
  });

  it("a session admitted with a stored pending entry (before entries were kept in memory) counts once and gives the entry back", async () => {
    const msisdn = freshMsisdn();
    const pending = callAuth(msisdn, { params: { "touch-timeout": "60" } });
    const link = await waitForLink(msisdn);
    const { stub, name } = await sessionPlace(link);
    // What the release before this one stored beside the session; then a restart (a deploy).
    await runInDurableObject(stub, (_i, s) => s.storage.put("pending", { [name]: { until: Date.now() + 120_000 } }));
    await runInDurableObject(stub, (_i, s) => s.abort("deploy")).catch(() => {});
    expect(await env.SUBSCRIBER.getByName(msisdn).pendingCount()).toBe(1);
    const page = await openLink(link);
    await answer(link, "accept", page.csrf!);
    expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
    expect(await pendingSettlesAt(msisdn, 0)).toBe(0);
    // A fresh stub: the aborted one stays broken.
    expect(await runInDurableObject(env.SUBSCRIBER.getByName(msisdn), (_i, s) => s.storage.get("pending"))).toEqual({});
  });

  it("a link of the old shape still reaches its session in an AuthSession object of its own", async () => {
    const token = randomToken();
    const name = await sha256Hex(token);
    const link = `https://mfa.example.com/m/${token}`;
    await env.AUTH_SESSION.getByName(name).start({
      name,
      msisdn: freshMsisdn(),
      endpoint: "default",
      texts: { ...DEFAULT_TEXTS, title: "Sent before the move" },
      smsText: "x",
      link,
      timeoutMs: 60_000,
      tombstoneMs: 60_000,
      leaseShard: null,
      app: { activation: false, push: null, matchNumber: null, callerShowsNumber: false },
    });
    const waiting = env.AUTH_SESSION.getByName(name).wait();
    const page = await openLink(link);
    expect(page.res.status).toBe(200);
    expect(page.html).toContain("Sent before the move");
    expect((await answer(link, "accept", page.csrf!)).status).toBe(200);
    expect(await waiting).toBe("accepted");
    expect((await openLink(link)).res.status).toBe(410);
  });

  it("without a link key (D1 cannot give one) the call still works, its session in an object of its own", async () => {
    const noKeys = new Proxy(env.DB, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (prop !== "prepare" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
        return (sql: string) => {
          if (sql.includes("link_keys")) throw new Error("D1_ERROR: no such table: link_keys");
          return (value as (q: string) => D1PreparedStatement).call(target, sql);
        };
      },
    });
    // callAuth with an env of its own imports the Worker into this file: done before the wait
    // for the SMS starts, as a first import can take seconds when the whole suite runs.
    await import("../../workers/index");
    const errors: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void errors.push(args.map(String).join(" ")));
    try {
      const msisdn = freshMsisdn();
      const pending = callAuth(msisdn, { env: { DB: noKeys } });
      // A call that ended before any SMS says why (rather than a bare wait for the link).
      const sent = await Promise.race([
        waitForLink(msisdn).then(
          (link) => ({ link }),
          (e: unknown) => ({ why: String(e) }),
        ),
        pending.then(async (r) => ({ why: `answered ${r.status} ${await r.clone().text()} before any SMS` })),
      ]);
      if (!("link" in sent)) throw new Error(sent.why);
      const { link } = sent;
      const place = await sessionPlace(link);
      expect(place.host).toBeNull();
      expect(await stateOf(place.stub, place.stateKey)).toMatchObject({ status: "pending" });
      const page = await openLink(link);
      await answer(link, "accept", page.csrf!);
      expect(await codeOf(pending)).toBe("TOUCH_ACCEPTED");
      expect(errors.some((l) => l.includes("link_key_unavailable"))).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});
