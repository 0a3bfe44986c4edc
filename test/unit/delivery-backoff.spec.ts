import { expect } from "chai";
import { backoffDelay, MAX_DELAY_MS, sleep } from "../../src/delivery/backoff";
import { retryAfterMs } from "../../src/delivery/classify";

describe("delivery: backoff", function () {
  it("starts at 1 s and doubles, between half and all of the step", function () {
    const steps = [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000];
    steps.forEach((step, i) => {
      expect(backoffDelay(i + 1, () => 0), `retry ${i + 1} low`).to.equal(step / 2);
      expect(backoffDelay(i + 1, () => 1), `retry ${i + 1} high`).to.equal(step);
    });
  });

  it("never waits more than 30 s, however many retries", function () {
    for (let retry = 1; retry < 60; retry++) {
      const delay = backoffDelay(retry);
      expect(delay).to.be.at.most(MAX_DELAY_MS);
      expect(delay).to.be.at.least(500);
    }
  });

  it("jitters: the same retry gives different waits", function () {
    const waits = new Set(Array.from({ length: 50 }, () => backoffDelay(4)));
    expect(waits.size).to.be.greaterThan(10);
    for (const w of waits) expect(w).to.be.within(4000, 8000);
  });

  it("sleep ends early with the abort reason", async function () {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort(new Error("closed"));
    let caught: unknown;
    await slept.catch((e) => (caught = e));
    expect((caught as Error).message).to.equal("closed");
  });
});

describe("delivery: Retry-After", function () {
  const now = new Date("2026-11-28T05:00:00Z");
  it("reads delay-seconds", function () {
    expect(retryAfterMs("0", now)).to.equal(0);
    expect(retryAfterMs("7", now)).to.equal(7000);
    expect(retryAfterMs(" 120 ", now)).to.equal(120_000);
  });
  it("reads an HTTP date", function () {
    expect(retryAfterMs("Sat, 28 Nov 2026 05:00:30 GMT", now)).to.equal(30_000);
    expect(retryAfterMs("Sat, 28 Nov 2026 04:59:00 GMT", now)).to.equal(0);
  });
  it("ignores garbage", function () {
    expect(retryAfterMs(undefined, now)).to.equal(undefined);
    expect(retryAfterMs("soon", now)).to.equal(undefined);
    expect(retryAfterMs("-5", now)).to.equal(undefined);
    expect(retryAfterMs("1.5", now)).to.equal(undefined);
  });
});
