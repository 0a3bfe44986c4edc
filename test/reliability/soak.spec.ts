/**
 * Soak: 10,000 events through cse-trigger into three action nodes (HTTP POST, Slack, PagerDuty) whose peers fail
 * 20 % of requests at random (HTTP 500s and connection resets). Every event is accounted for — delivered, or
 * reported to Catch — per node delivered + failed = events exactly, the attempts the nodes report add up to the
 * requests the peers saw, and the heap after GC stays bounded. Prints one line of figures for the README.
 *
 * Alone: npx mocha --no-config --require tsx/cjs --extension ts --timeout 300000 test/reliability/soak.spec.ts
 * (CSE_SOAK_EVENTS=n changes the number of events, CSE_SOAK_FAILURE=0.5 the failure rate, CSE_SOAK_SNAPSHOT=<file>
 * writes a heap snapshot after the run.)
 */
import v8 from "node:v8";
import vm from "node:vm";
import { expect } from "chai";
import helper from "node-red-node-test-helper";
import { modernInsight } from "../fakes/insights";
import { startFaultyPeer, type FaultStep, type FaultyPeer } from "../fakes/faulty-peer";
import { nodeModules } from "./support";

helper.init(require.resolve("node-red"));

const EVENTS = Number(process.env.CSE_SOAK_EVENTS) || 10_000;
const FAILURE_RATE = process.env.CSE_SOAK_FAILURE !== undefined ? Number(process.env.CSE_SOAK_FAILURE) : 0.2;
/** Heap growth allowed after everything is unloaded and collected. */
const HEAP_GROWTH_LIMIT_MB = 64;
/** Heap allowed while all events are in flight (10,000 queued messages per node). */
const HEAP_PEAK_LIMIT_MB = 768;

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

function heapAfterGcMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** A deterministic random source (mulberry32), so a failing run can be repeated. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tally {
  delivered: number;
  failed: number;
  attempts: number;
  causes: Map<string, number>;
}

const NODES = [
  { id: "post", type: "cse-http-post", ok: { status: 200, body: "ok" } as FaultStep },
  { id: "slack", type: "cse-slack", ok: { status: 200, body: { ok: true, ts: "1.1" } } as FaultStep },
  { id: "pd", type: "cse-pagerduty", ok: { status: 202, body: { status: "success", dedup_key: "x" } } as FaultStep },
];

describe("soak: 10,000 events through the trigger into three flaky targets", function () {
  this.timeout(300_000);
  const peers: Record<string, FaultyPeer> = {};

  before(async function () {
    for (const [i, node] of NODES.entries()) {
      const peer = await startFaultyPeer({ countOnly: true });
      const roll = random(42 + i);
      peer.respond(() => {
        const r = roll();
        if (r < FAILURE_RATE / 2) return { status: 500, body: "internal_error" };
        if (r < FAILURE_RATE) return { reset: true };
        return node.ok;
      });
      peers[node.id] = peer;
    }
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });

  after(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    for (const peer of Object.values(peers)) await peer.close();
  });

  it("accounts for every event, adds up exactly and keeps memory bounded", async function () {
    const heapBefore = heapAfterGcMb();
    const started = Date.now();
    helper.settings({ cseDelayScale: 0.001, cseHttpPostAllowedPorts: [peers.post.port] } as any);
    const flow: any[] = [
      { id: "f1", type: "tab" },
      {
        id: "trigger",
        z: "f1",
        type: "cse-trigger",
        onInsightCreated: true,
        onInsightClosed: true,
        onDemand: true,
        active: true,
        pollInterval: "0",
        dedupeWindow: "86400",
        wires: [NODES.map((n) => n.id)],
      },
      { id: "post", z: "f1", type: "cse-http-post", name: "soak post", url: `${peers.post.url}/in`, maxAttempts: 5, timeout: 5000, wires: [["out-post"]] },
      { id: "slack", z: "f1", type: "cse-slack", name: "soak slack", channel: "#soc", apiUrl: `${peers.slack.url}/api`, maxAttempts: 5, timeout: 5000, wires: [["out-slack"]] },
      { id: "pd", z: "f1", type: "cse-pagerduty", name: "soak pd", apiUrl: peers.pd.url, maxAttempts: 5, timeout: 5000, wires: [["out-pd"]] },
      // One Catch for all (the test helper cannot load several): msg.error.source.id says which node failed.
      { id: "catch-all", z: "f1", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
      { id: "caught", z: "f1", type: "helper" },
      ...NODES.map((n) => ({ id: `out-${n.id}`, z: "f1", type: "helper" })),
    ];
    await helper.load([nodeModules["cse-trigger"], nodeModules["cse-http-post"], nodeModules["cse-slack"], nodeModules["cse-pagerduty"]], flow, {
      slack: { apiKey: "xoxb-soak" },
      pd: { serviceKey: "soak-routing-key" },
    });

    // The test helper spies on every node's send/status/log and records each call with its message (and a stack):
    // put the real methods back, or the heap (and the time) would measure the helper, not the nodes.
    const spied = [(helper as any)._NodePrototype, ...["trigger", ...NODES.map((n) => n.id)].map((id) => helper.getNode(id) as any)];
    for (const target of spied) {
      for (const method of ["log", "status", "warn", "error", "debug", "trace", "send"]) {
        const original = target[method]?.wrappedMethod;
        if (original) target[method] = original;
      }
    }
    (helper as any)._logSpy?.restore?.();

    const tallies: Record<string, Tally> = {};
    let finished = 0;
    let allDone: () => void = () => undefined;
    const everything = new Promise<void>((resolve) => (allDone = resolve));
    const count = (tally: Tally, msg: any, ok: boolean) => {
      if (ok) tally.delivered++;
      else {
        tally.failed++;
        const cause = String(msg.error?.message ?? "").replace(/^.*?": /, "").replace(/\d+ ms/, "N ms");
        tally.causes.set(cause, (tally.causes.get(cause) ?? 0) + 1);
      }
      tally.attempts += msg.delivery?.attempts ?? 0;
      if (++finished === EVENTS * NODES.length) allDone();
    };
    for (const n of NODES) {
      const tally: Tally = { delivered: 0, failed: 0, attempts: 0, causes: new Map() };
      tallies[n.id] = tally;
      helper.getNode(`out-${n.id}`).on("input", (msg: any) => count(tally, msg, true));
    }
    let otherErrors = 0;
    helper.getNode("caught").on("input", (msg: any) => {
      const tally = tallies[msg.error?.source?.id];
      if (tally) count(tally, msg, false);
      else otherErrors++;
    });

    const template = modernInsight({}, 1);
    for (let i = 0; i < EVENTS; i++) {
      const id = `cccccccc-0000-4000-8000-${String(i).padStart(12, "0")}`;
      helper.getNode("trigger").receive({ topic: "insight.created", payload: { ...template, id, readableId: `INSIGHT-${i}` } });
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    await everything;
    const heapPeak = process.memoryUsage().heapUsed / 1024 / 1024;
    const durationS = (Date.now() - started) / 1000;
    await helper.unload();
    const heapAfter = heapAfterGcMb();
    if (process.env.CSE_SOAK_SNAPSHOT) v8.writeHeapSnapshot(process.env.CSE_SOAK_SNAPSHOT);

    const figures = NODES.map((n) => {
      const t = tallies[n.id];
      return `${n.type}: delivered ${t.delivered}, failed ${t.failed}, retries ${t.attempts - EVENTS}, requests ${peers[n.id].count}`;
    });
    console.log(
      `      soak: ${EVENTS} events, peers failing ${FAILURE_RATE * 100} % (500s and resets), maxAttempts 5 — ${figures.join("; ")}; ` +
        `${durationS.toFixed(1)} s; heap after GC ${heapBefore.toFixed(0)} MB before, ${heapAfter.toFixed(0)} MB after (peak ${heapPeak.toFixed(0)} MB)`,
    );

    expect(otherErrors, "errors from the trigger").to.equal(0);
    for (const n of NODES) {
      const t = tallies[n.id];
      expect(t.delivered + t.failed, `${n.type}: delivered + failed`).to.equal(EVENTS);
      // Each attempt is one request at the peer: nothing sent twice, nothing lost unreported.
      expect(t.attempts, `${n.type}: attempts reported vs requests seen`).to.equal(peers[n.id].count);
      expect(t.delivered, `${n.type}: delivered`).to.be.greaterThan(EVENTS * 0.99);
      for (const cause of t.causes.keys()) expect(cause, `${n.type}: failure cause`).to.match(/gave up after 5 attempts/);
    }
    expect(heapPeak, "heap while busy (MB)").to.be.below(HEAP_PEAK_LIMIT_MB);
    expect(heapAfter - heapBefore, "heap growth after GC (MB)").to.be.below(HEAP_GROWTH_LIMIT_MB);
  });
});
