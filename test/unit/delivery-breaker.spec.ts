import { expect } from "chai";
import { DeliveryEngine, type DeliveryResult, newJob } from "../../src/delivery/engine";
import { httpPostTarget, type HttpPostConfig } from "../../src/targets/http-post";
import type { DeliveryEvent } from "../../src/targets/types";
import { type FaultStep, refusedPort, startFaultyPeer, type FaultyPeer } from "../fakes/faulty-peer";

const ANSWER_MS = 30;

function sensorEvent(sensorId: string): DeliveryEvent {
  return {
    topic: "sensor.offline",
    payload: { sensorId, sensorName: `edge-${sensorId}`, sensorZone: "dmz", lastSeen: "2026-11-28T03:00:00Z" },
    cse: { event: "sensor.offline", key: `sensor:${sensorId}:offline`, tactics: [], receivedAt: "2026-11-28T03:00:00Z" },
  };
}

function engineFor(url: string, port: number, options: { concurrency?: number; maxAttempts?: number } = {}) {
  const config: HttpPostConfig = { url, headers: {}, allowedPorts: [port], includeSignals: true, includeRecords: true };
  // delayScale 0.02: backoff and probe waits of 10–100 ms instead of 0.5–5 s.
  return new DeliveryEngine(httpPostTarget, config, { label: 'cse-http-post "breaker"', delayScale: 0.02, concurrency: options.concurrency ?? 4, maxAttempts: options.maxAttempts ?? 5 });
}

/** A peer answering `step()` after ANSWER_MS, that notes when each request arrived and how many were out then. */
async function watchedPeer(step: () => FaultStep) {
  const peer = await startFaultyPeer();
  const arrivals: { at: number; outstanding: number }[] = [];
  peer.respond(() => {
    const at = Date.now();
    const outstanding = arrivals.filter((a) => a.at + ANSWER_MS > at).length;
    arrivals.push({ at, outstanding });
    return { delayMs: ANSWER_MS, ...step() };
  });
  return { peer, arrivals };
}

const until = async (check: () => boolean, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("delivery: circuit breaker (receiver away, then back)", function () {
  this.timeout(20_000);
  let peer: FaultyPeer | undefined;

  afterEach(async function () {
    await peer?.close();
    peer = undefined;
  });

  it("after 5xx from every slot, sends one probe at a time, spends no attempts of waiting messages, and releases all at once when a probe gets through", async function () {
    let up = false;
    const watched = await watchedPeer(() => (up ? { status: 200, body: "ok" } : { status: 503, body: "down" }));
    peer = watched.peer;
    const engine = engineFor(`${peer.url}/in`, peer.port, { concurrency: 4, maxAttempts: 5 });
    const results: Promise<DeliveryResult>[] = [];
    for (let i = 0; i < 40; i++) results.push(engine.submit(newJob(sensorEvent(`s${i}`))));
    let settled = 0;
    for (const r of results) void r.then(() => settled++);

    // The first wave: one request per slot, all 503. Then probes, one at a time.
    await until(() => watched.arrivals.length >= 4 + 6);
    expect(watched.arrivals.slice(0, 4).map((a) => a.outstanding)).to.deep.equal([0, 1, 2, 3]);
    const probes = watched.arrivals.slice(4);
    expect(probes.map((a) => a.outstanding), "each probe goes out alone").to.deep.equal(probes.map(() => 0));
    // Six probes, spread over the four waiting messages: none near its maxAttempts, none given up, the queue untouched.
    expect(settled).to.equal(0);
    expect(engine.queued).to.equal(36);

    up = true;
    const upAt = Date.now();
    const outcomes = await Promise.all(results);
    const drainMs = Date.now() - upAt;
    expect(outcomes.every((o) => o.ok)).to.equal(true);
    expect(Math.max(...outcomes.map((o) => o.attempts))).to.be.at.most(5);
    // Every attempt is a request the peer saw: waiting at the breaker spent none.
    expect(outcomes.reduce((sum, o) => sum + o.attempts, 0)).to.equal(watched.arrivals.length);
    // After the first answered probe, full concurrency again: 40 messages at 4 in flight, 30 ms each — about
    // 0.4 s with the probe's wait; one at a time behind probes it would take over 5 s.
    const afterUp = watched.arrivals.filter((a) => a.at >= upAt);
    expect(Math.max(...afterUp.map((a) => a.outstanding))).to.equal(3);
    expect(drainMs).to.be.below(2000);
    await engine.close();
  });

  it("opens on network errors too; a message waiting at it keeps its attempts and is kept (closed) when the node stops", async function () {
    const port = await refusedPort();
    const engine = engineFor(`http://127.0.0.1:${port}/in`, port, { concurrency: 2, maxAttempts: 10 });
    const results = [0, 1, 2].map((i) => engine.submit(newJob(sensorEvent(`n${i}`))));
    // Two refused connections open it; probes then fail too, alternating between the two waiting messages.
    await new Promise((r) => setTimeout(r, 300));
    await engine.close();
    const outcomes = await Promise.all(results);
    expect(outcomes.map((o) => o.closed)).to.deep.equal([true, true, true]);
    expect(outcomes[2].attempts, "never taken from the queue").to.equal(0);
    // Two first attempts and a few probes (at least 10, 20, 40, 80 ms apart) shared between the two: far from 10 each.
    for (const o of outcomes.slice(0, 2)) expect(o.attempts).to.be.within(1, 5);
  });

  it("still gives up after maxAttempts: a message that probes in vain fails with its attempts counted", async function () {
    const watched = await watchedPeer(() => ({ status: 502, body: "bad gateway" }));
    peer = watched.peer;
    const engine = engineFor(`${peer.url}/in`, peer.port, { concurrency: 2, maxAttempts: 3 });
    const outcomes = await Promise.all([0, 1, 2].map((i) => engine.submit(newJob(sensorEvent(`g${i}`)))));
    for (const o of outcomes) {
      expect(o).to.include({ ok: false, status: 502, attempts: 3 });
      expect(o.error).to.match(/gave up after 3 attempts$/);
    }
    expect(watched.arrivals).to.have.length(9);
    await engine.close();
  });

  it("while the receiver refuses connections, sends the probe the moment it accepts them again, not when the probe's wait ends", async function () {
    const port = await refusedPort();
    const config: HttpPostConfig = { url: `http://127.0.0.1:${port}/in`, headers: {}, allowedPorts: [port], includeSignals: true, includeRecords: true };
    // Waits that end only when aborted: no backoff and no probe timer ends by itself, so only the check can send the probe.
    const sleepUntilAborted = (_ms: number, signal: AbortSignal) => new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
    const engine = new DeliveryEngine(httpPostTarget, config, { label: 'cse-http-post "breaker"', concurrency: 2, maxAttempts: 10, sleep: sleepUntilAborted });
    const results = [0, 1, 2, 3, 4, 5].map((i) => engine.submit(newJob(sensorEvent(`c${i}`))));
    // Both first attempts are refused: the breaker opens and its probe waits.
    await new Promise((r) => setTimeout(r, 600));
    const watched = await startFaultyPeer({ port });
    peer = watched;
    const upAt = Date.now();
    const outcomes = await Promise.all(results);
    expect(Date.now() - upAt, "drained within a few checks of the receiver's return").to.be.below(2000);
    expect(outcomes.every((o) => o.ok)).to.equal(true);
    // The checks sent nothing: the receiver saw one request per message, and no message spent more than its refused attempt.
    expect(watched.requests).to.have.length(6);
    expect(outcomes.map((o) => o.attempts)).to.deep.equal([2, 2, 1, 1, 1, 1]);
    await engine.close();
  });

  it("is not opened by 429 (the receiver is there, asking us to slow down): each message keeps its own retries", async function () {
    let answered = 0;
    const watched = await watchedPeer(() => (++answered <= 8 ? { status: 429, body: "slow down" } : { status: 200, body: "ok" }));
    peer = watched.peer;
    const engine = engineFor(`${peer.url}/in`, peer.port, { concurrency: 4, maxAttempts: 5 });
    const outcomes = await Promise.all([0, 1, 2, 3].map((i) => engine.submit(newJob(sensorEvent(`r${i}`)))));
    expect(outcomes.every((o) => o.ok && o.attempts === 3)).to.equal(true);
    // The retries overlapped: no probe held them back one at a time.
    expect(Math.max(...watched.arrivals.slice(4).map((a) => a.outstanding))).to.be.above(0);
    await engine.close();
  });
});
