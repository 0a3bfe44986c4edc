import { expect } from "chai";
import { CseClient } from "../../src/cse/client";
import { PollLoop, type PollStatus } from "../../src/cse/poll-loop";
import { RateLimiter } from "../../src/cse/rate-limiter";
import { scaledRetryPolicy } from "../../src/cse/retry";
import type { Insight } from "../../src/events/types";
import { startCsePeer, type CsePeer } from "../fakes/cse-peer";

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe("CSE poll loop", function () {
  let peer: CsePeer;
  let client: CseClient;
  let saved: unknown;
  let emitted: string[];
  let statuses: PollStatus[];
  let errors: Error[];
  let recovered: number;
  let loop: PollLoop | undefined;

  beforeEach(async function () {
    peer = await startCsePeer();
    client = new CseClient({ apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: peer.accessKey, maxAttempts: 1, retry: scaledRetryPolicy(0.001), limiter: new RateLimiter({ perWindow: 1000 }) });
    saved = undefined;
    emitted = [];
    statuses = [];
    errors = [];
    recovered = 0;
  });
  afterEach(async function () {
    await loop?.stop();
    client.close();
    await peer.close();
  });

  function start(options: Partial<ConstructorParameters<typeof PollLoop>[1]> = {}) {
    loop = new PollLoop(
      {
        source: () => client,
        loadCheckpoint: async () => saved,
        saveCheckpoint: async (c) => void (saved = JSON.parse(JSON.stringify(c))),
        emit: async (topic, payload) => void emitted.push(`${topic} ${(payload as Insight).readableId ?? (payload as any).ruleId}`),
        status: (s) => statuses.push(s),
        reportError: (e) => errors.push(e),
        recovered: () => recovered++,
      },
      { intervalMs: 10, created: true, closed: true, rules: true, ...options },
    );
    loop.start();
    return loop;
  }

  it("polls at once and then every interval, emits what it finds and saves the checkpoint", async function () {
    const old = peer.addInsight(new Date(Date.now() - 60_000));
    const l = start();
    await until(() => l.polls >= 1, "the first poll");
    const fresh = peer.addInsight(new Date(Date.now() + 1000));
    await until(() => emitted.length >= 1, "the new Insight");
    expect(emitted).to.deep.equal([`insight.created ${fresh.readableId}`]);
    expect(emitted.join()).not.to.contain(old.readableId);
    expect((saved as any).origin).to.be.a("string");
    await until(() => statuses.some((s) => /^polled \d\d:\d\d:\d\d: 1 new, 0 closed, 0 rules$/.test(s.text)), "a status with counts");
  });

  it("reports an outage once, shows it red every poll, and the recovery", async function () {
    peer.failAll({ status: 401 });
    const l = start();
    await until(() => l.polls >= 4, "four polls");
    expect(errors).to.have.length(1);
    expect(errors[0].message).to.match(/check the access key \/ Cloud SIEM role/);
    expect(statuses.filter((s) => s.fill === "red").length).to.be.at.least(4);
    peer.failAll(undefined);
    await until(() => recovered === 1, "the recovery");
    await until(() => statuses[statuses.length - 1].fill === "green", "a green status");
    expect(errors).to.have.length(1);
  });

  it("a missing tenant is reported once", async function () {
    loop = new PollLoop(
      {
        source: () => {
          throw new Error("the cse-tenant configured in \"tenant\" is not deployed");
        },
        loadCheckpoint: async () => undefined,
        saveCheckpoint: async () => undefined,
        emit: async () => undefined,
        status: (s) => statuses.push(s),
        reportError: (e) => errors.push(e),
      },
      { intervalMs: 5, created: true, closed: false, rules: false },
    );
    loop.start();
    await until(() => statuses.length >= 3, "three attempts");
    expect(errors).to.have.length(1);
    expect(statuses[0]).to.include({ fill: "red" });
  });

  it("stop() aborts a poll in flight and polls no more", async function () {
    peer.delayMs = 10_000;
    const l = start();
    await until(() => peer.requests.length >= 1, "a request");
    await l.stop();
    const count = peer.requests.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(peer.requests.length).to.equal(count);
    expect(errors).to.have.length(0);
  });
});
