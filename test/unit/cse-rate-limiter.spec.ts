import { expect } from "chai";
import { RateLimiter, type LimiterClock } from "../../src/cse/rate-limiter";

/** A clock that only moves when the test says so. */
function virtualClock(): LimiterClock & { advance(ms: number): Promise<void> } {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimer(fn, ms) {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return () => (timers = timers.filter((t) => t !== timer));
    },
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > end) break;
        timers.shift();
        now = next.at;
        next.fn();
        await new Promise((r) => setImmediate(r));
      }
      now = end;
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe("CSE rate limiter", function () {
  it("starts at most 4 requests in any 1-second window", async function () {
    const clock = virtualClock();
    const limiter = new RateLimiter({ clock });
    const starts: number[] = [];
    const all = Array.from({ length: 13 }, () =>
      limiter.acquire().then((release) => {
        starts.push(clock.now());
        release();
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(starts).to.have.length(4);
    for (let i = 0; i < 40 && starts.length < 13; i++) await clock.advance(100);
    await Promise.all(all);
    expect(starts).to.have.length(13);
    for (const t of starts) {
      expect(starts.filter((s) => s >= t && s < t + 1000).length, `window from ${t}`).to.be.at.most(4);
    }
    // and it does not dawdle: the 13th starts in the 4th second
    expect(starts[12]).to.be.lessThan(4000);
  });

  it("never has more than 10 in flight, and a release lets the next one in", async function () {
    const clock = virtualClock();
    const limiter = new RateLimiter({ clock, perWindow: 100 });
    const releases: (() => void)[] = [];
    const pending = Array.from({ length: 12 }, () => limiter.acquire().then((r) => releases.push(r)));
    await clock.advance(5000);
    expect(releases).to.have.length(10);
    expect(limiter.active).to.equal(10);
    expect(limiter.queued).to.equal(2);
    releases[0]();
    releases[0](); // releasing twice counts once
    await clock.advance(0);
    expect(releases).to.have.length(11);
    expect(limiter.active).to.equal(10);
    releases.slice(1).forEach((r) => r());
    await Promise.all(pending);
    expect(limiter.active).to.equal(1);
  });

  it("an aborted waiter leaves the queue and rejects with the abort reason", async function () {
    const clock = virtualClock();
    const limiter = new RateLimiter({ clock, maxInFlight: 1 });
    const first = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error("node closed"));
    let message = "";
    await waiting.catch((e: Error) => (message = e.message));
    expect(message).to.equal("node closed");
    expect(limiter.queued).to.equal(0);
    first();
    expect(limiter.active).to.equal(0);
  });
});
