/**
 * `npm run bench`: the package inside a real Node-RED 4.1 (packed, installed, started from its CLI) measured
 * side by side with Node-RED's own `http request` node and with a plain Node.js client, plus in-process
 * micro benchmarks of the trigger's domain modules. Prints a table and writes bench/results.json.
 *
 * Options: --quick (small counts, a smoke run), --profile (node --cpu-prof on the Node-RED process;
 * profiles and a summary land in bench/profiles/), --only=tp,lat,bp,fo,rf,cluster,micro (run only those sections;
 * `cluster` is throughput, latency and failover with `cseCluster`: Node-RED on one Redis, two replicas for the failover).
 * Nothing leaves 127.0.0.1; every wait is bounded; child processes are ended on exit and on errors.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { NodeRedProcess, packPackage } from "../test/e2e/support/node-red-process";
import { modernInsight } from "../test/fakes/insights";
import { countIndicators, indicatorsOfInsight } from "../src/events/indicators";
import type { Insight } from "../src/events/types";
import { readClusterSettings } from "../src/cluster/settings";
import { RedisServer } from "../test/support/redis-server";
import { ACTION_KINDS, backpressureFlow, DELIVERY_OUTPUTS, deliveryFlow, fanoutFlow, rfFlow, type FanoutPeers } from "./flows";
import {
  childPid,
  clock,
  cpuMsOf,
  fmt,
  getJson,
  killChildren,
  killOnExit,
  median,
  PeersClient,
  percentile,
  postJson,
  rawClient,
  rssOf,
  rssSampler,
  settle,
  sleep,
  track,
} from "./lib";
import { printTable, type Row, writeResults } from "./report";

const repoRoot = path.join(__dirname, "..");
const args = process.argv.slice(2);
const QUICK = args.includes("--quick");
const PROFILE = args.includes("--profile");
const ONLY = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const want = (section: string) => !ONLY || ONLY.includes(section);
/** --paths=ours (throughput only): run just some of the five paths (ours, core, coreDropIn, raw, raw16), e.g. to profile one of them. */
const PATHS = args.find((a) => a.startsWith("--paths="))?.slice(8).split(",") ?? ["ours", "core", "coreDropIn", "raw", "raw16"];

/** Sizes, chosen so a full run stays well inside 5 minutes on 2 cores (the cluster section adds 1 to 1.5). */
const SIZES = QUICK
  ? { tpSeconds: 1, tpMin: 300, tpMax: 1000, tpRounds: 1, latEvents: 200, latRate: 200, bpEvents: 2000, bpCoreEvents: 500, bpDownMs: 3000, foEvents: 30, rfEvents: 50, concurrency: 4, clusterRounds: 1, failoverEvents: 100 }
  : { tpSeconds: 3, tpMin: 1000, tpMax: 10000, tpRounds: 3, latEvents: 1000, latRate: 200, bpEvents: 20000, bpCoreEvents: 2000, bpDownMs: 10000, foEvents: 300, rfEvents: 200, concurrency: 4, clusterRounds: 3, failoverEvents: 400 };
/** What the cluster sections add to the run: Redis and two more Node-REDs, their throughput, latency and failover. */
const CLUSTER_MS = 120_000;
/**
 * The whole run (after the build) must end within 5 minutes on a busy 2-core box (7 with the cluster sections):
 * sections that would start after this much time are skipped, with a note, rather than run late.
 */
const BUDGET_MS = 250_000 + (want("cluster") ? CLUSTER_MS : 0);
const remainingMs = () => BUDGET_MS - (clock() - t0Bench);
function skip(section: string, needMs: number): boolean {
  if (remainingMs() >= needMs) return false;
  notes.push(`${section} skipped: less than ${Math.round(needMs / 1000)} s of the time budget left (the machine is slower or busier than expected)`);
  rows.push({ section, measure: "skipped (time budget)", value: "n/a", baseline: "", ratio: NaN, aim: "" });
  return true;
}
/** cse-http-post retries in the backpressure run: 1+2+4+8+16 s of backoff cover a 10 s outage many times over. */
const BP_MAX_ATTEMPTS = 20;
const BP_QUEUE_LIMIT = 50000;

const rows: Row[] = [];
const details: Record<string, unknown> = {};
const notes: string[] = [];

function log(text: string): void {
  process.stderr.write(`[bench ${((clock() - t0Bench) / 1000).toFixed(1)}s] ${text}\n`);
}
const t0Bench = clock();

/** The node types the package registers (package.json's `node-red.nodes`). */
function registeredTypes(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
  return Object.keys(pkg["node-red"]?.nodes ?? {});
}

async function waitCounts(nrUrl: string, section: string, total: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await getJson<{ done: number; failed: number; last: number; lastBy?: Record<string, number> }>(`${nrUrl}/bench/${section}/counts`);
    if (c.done + c.failed >= total || Date.now() > deadline) return c;
    await sleep(50);
  }
}

function distinctInsight(base: Insight, prefix: string, i: number): Insight {
  return { ...base, id: `${prefix}-${i}`, readableId: `INSIGHT-${100000 + i}` };
}

async function main(): Promise<void> {
  const started = new Date();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "cse-bench-"));
  const peers = new PeersClient();
  let nodeRed: NodeRedProcess | undefined;
  const onExit = () => killChildren();
  process.once("exit", onExit);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      onExit();
      process.exit(130);
    });
  }

  try {
    await peers.ready;
    const sinkPort: number = await peers.call("startSink");
    const sinkUrl = `http://127.0.0.1:${sinkPort}/`;
    const fan: FanoutPeers = await peers.call("startFanout");
    const base = modernInsight({}, 8);
    const rfBases = rfBurstBases(base);
    const rfKnown = rfBases.flatMap((b) => {
      const ind = indicatorsOfInsight(b);
      return [...ind.ip.map((value) => ({ type: "ip", value })), ...ind.domain.map((value) => ({ type: "domain", value }))];
    });
    const rf = await peers.call("startRf", { known: rfKnown.slice(0, Math.ceil(rfKnown.length / 2)) });
    const allowedPorts = [sinkPort, Number(new URL(fan.http["cse-http-post"]).port)];

    log("packing the package and installing it into a Node-RED user directory");
    const tarball = packPackage(work);
    const settings = [
      `cseHttpPostAllowedPorts: ${JSON.stringify(allowedPorts)},`,
      `cseQueueLimit: ${BP_QUEUE_LIMIT},`,
      "functionGlobalContext: {",
      "    benchClock: function () { return Number(process.hrtime.bigint()) / 1e6; },",
      "    benchMemory: function () { return process.memoryUsage(); },",
      "  },",
    ].join("\n  ");
    nodeRed = new NodeRedProcess(tarball, { settings });
    const forget = killOnExit(() => void nodeRed?.kill9());
    nodeRed.install();
    const registered = registeredTypes();
    const kinds = ACTION_KINDS.filter((k) => registered.includes(k));
    const profileDir = path.join(__dirname, "profiles");
    const savedNodeOptions = process.env.NODE_OPTIONS;
    if (PROFILE) {
      fs.rmSync(profileDir, { recursive: true, force: true });
      fs.mkdirSync(profileDir, { recursive: true });
      process.env.NODE_OPTIONS = `${savedNodeOptions ?? ""} --require ${path.join(__dirname, "cpu-profiler.cjs")}`.trim();
      process.env.BENCH_CPU_PROF_DIR = profileDir;
    }
    await nodeRed.start();
    if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedNodeOptions;
    delete process.env.BENCH_CPU_PROF_DIR;
    const nrPid = nodeRed.pid!;
    profiler = PROFILE ? sectionProfiler(nrPid, profileDir) : undefined;
    const nr = nodeRed.url;
    log(`Node-RED ${nr} (pid ${nrPid}), action kinds: ${kinds.join(", ")}`);

    const flows = [
      ...deliveryFlow(sinkUrl),
      ...backpressureFlow(sinkUrl, BP_MAX_ATTEMPTS),
      ...(kinds.length ? fanoutFlow(kinds, fan, sinkUrl) : []),
      ...(kinds.includes("cse-recorded-future") ? rfFlow(rf) : []),
    ];
    await nodeRed.deploy(flows);
    await sleep(500);
    const idleRss = rssOf(nrPid);
    details.idleRss = idleRss;

    // First, so that its peak RSS is its own and not what the throughput bursts left behind.
    if (want("bp") && !skip("Backpressure", 90_000)) await profiled("Backpressure", () => backpressure(nr, peers, sinkUrl, base, nrPid, idleRss));
    if (want("tp") && !skip("Throughput", 40_000)) await profiled("Throughput", () => throughput(nr, peers, sinkUrl, base, nrPid));
    if (want("lat") && !skip("Latency", 30_000)) await profiled("Latency", () => latency(nr, peers, sinkUrl, base, nrPid));
    if (want("fo") && !skip("Fan-out", 45_000)) await profiled("Fan-out", () => fanout(nr, peers, kinds, base, nrPid));
    if (want("rf") && !skip("Recorded Future", 35_000)) await profiled("Recorded Future", () => recordedFuture(nr, peers, kinds, rfBases));
    if (want("cluster") && !skip("Cluster", CLUSTER_MS - 20_000)) {
      await profiled("Cluster", () => cluster({ peers, tarball, settings, sinkUrl, base, journal: { nr, pid: nrPid } }), false);
    }
    details.nodeRedLogTail = nodeRed.log.split("\n").filter((l) => /error|warn/i.test(l)).slice(-20);

    await nodeRed.stop();
    forget();
    if (want("micro") && !skip("Trigger cost", 25_000)) await profiled("Trigger cost", micro, false);
  } catch (err) {
    if (nodeRed) process.stderr.write(`Node-RED's log (last lines):\n${nodeRed.log.split("\n").slice(-30).join("\n")}\n`);
    throw err;
  } finally {
    await nodeRed?.stop().catch(() => undefined);
    nodeRed?.remove();
    await peers.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }

  const durationS = (clock() - t0Bench) / 1000;
  // The table reads in this order whatever order the sections ran in (Backpressure runs first).
  const order = ["Throughput", "Latency", "Backpressure", "Fan-out", "Recorded Future", "Cluster", "Trigger cost"];
  rows.sort((a, b) => order.indexOf(a.section) - order.indexOf(b.section));
  printTable(rows, notes);
  writeResults(path.join(__dirname, "results.json"), { started, durationS, sizes: SIZES, quick: QUICK, rows, notes, details });
  log(`done in ${durationS.toFixed(0)} s (plus the build); results in bench/results.json`);
  if (failures.length) throw new Error(`sections failed: ${failures.join(", ")}`);
}

/** One timed burst: from the first event in to the last arrival at the sink, and the CPU time it cost. */
interface Burst {
  ms: number;
  bytes: number;
  opened: number;
  /** CPU time of the sending process (Node-RED, or the bench itself for the plain client). */
  cpuMs: number;
  /** CPU time of Redis, for a Node-RED in cluster mode (NaN otherwise). */
  redisCpuMs: number;
}

/** A way of sending bursts to the sink; `pids` are the processes that must be idle before a timed burst. */
interface TpPath {
  pids: number[];
  send(prefix: string, count: number): Promise<Burst>;
}

const NO_BURST: Burst = { ms: NaN, bytes: NaN, opened: NaN, cpuMs: NaN, redisCpuMs: NaN };

/** Bursts through a Node-RED's delivery flow (bench/flows.ts deliveryFlow): generator output `out`. */
function nodeRedPath(peers: PeersClient, nr: string, out: number, base: Insight, pid: number, redisPid = 0): TpPath {
  return {
    pids: redisPid ? [pid, redisPid] : [pid],
    async send(prefix, count) {
      await peers.call("sinkReset");
      const cpu0 = cpuMsOf(pid);
      const redis0 = redisPid ? cpuMsOf(redisPid) : NaN;
      const r = await postJson<{ t0: number; t1: number }>(`${nr}/bench/tp/gen`, { n: count, prefix, bases: [base], out, outputs: DELIVERY_OUTPUTS });
      const s = await peers.call("sinkWait", { n: count, timeoutMs: 90_000 });
      if (s.count < count) throw new Error(`throughput ${prefix}: the sink saw ${s.count} of ${count}`);
      return { ms: s.last - r.t0, bytes: s.bytes, opened: s.opened, cpuMs: cpuMsOf(pid) - cpu0, redisCpuMs: redisPid ? cpuMsOf(redisPid) - redis0 : NaN };
    },
  };
}

/**
 * Throughput rounds over several paths: a warm-up burst each, then `rounds` timed bursts each, the paths'
 * order rotating per round. Each burst lasts about tpSeconds on the first path (its size comes from that
 * path's warm-up rate) unless `events` fixes it. Stops early when fewer than `reserveMs` of the budget are left.
 */
async function throughputRounds(paths: Record<string, TpPath>, opts: { label: string; rounds: number; reserveMs: number; events?: number }) {
  const names = Object.keys(paths);
  log(`${opts.label}: warm-up`);
  const warm = SIZES.tpMin;
  const warmups: Burst[] = [];
  for (const p of names) warmups.push(await paths[p].send(`warm-${opts.label}-${p}`, warm));
  const warmRate = Number.isFinite(warmups[0].ms) ? (warm * 1000) / warmups[0].ms : 1000;
  const n = opts.events ?? Math.round(Math.min(SIZES.tpMax, Math.max(SIZES.tpMin, warmRate * SIZES.tpSeconds)) / 100) * 100;
  const perPath = <T>(make: () => T) => Object.fromEntries(names.map((p) => [p, make()])) as Record<string, T>;
  const rates = perPath<number[]>(() => []);
  const cpuPerEvent = perPath<number[]>(() => []);
  const redisCpuPerEvent = perPath<number[]>(() => []);
  const bytes: Record<string, number> = {};
  const connections: Record<string, number> = {};
  const pids = [...new Set(names.flatMap((p) => paths[p].pids))];
  for (let round = 0; round < opts.rounds; round++) {
    if (round > 0 && remainingMs() < opts.reserveMs) {
      notes.push(`${opts.label}: ${round} round(s) instead of ${opts.rounds} (time budget)`);
      break;
    }
    // The order rotates each round, so a change in the machine's load does not always hit the same path.
    const order = names.map((_, k) => names[(k + round) % names.length]);
    for (const p of order) {
      for (const pid of pids) await settle(pid);
      const b = await paths[p].send(`${opts.label}-${p}-${round}`, n);
      rates[p].push((n * 1000) / b.ms);
      cpuPerEvent[p].push(b.cpuMs / n);
      redisCpuPerEvent[p].push(b.redisCpuMs / n);
      bytes[p] = b.bytes / n;
      connections[p] = b.opened;
    }
    const line = names.map((p) => `${p} ${fmt.rate(rates[p].at(-1)!)} (CPU ${cpuPerEvent[p].at(-1)!.toFixed(2)} ms/event)`).join(", ");
    log(`${opts.label} round ${round + 1}: ${line}; connections opened ${JSON.stringify(connections)}`);
  }
  /** Median of each round's own ratio of path a to path b: the paths of a round ran back to back. */
  const ratio = (a: string, b: string) => median(rates[a].map((r, i) => r / rates[b][i]));
  return { n, rates, cpuPerEvent, redisCpuPerEvent, bytes, connections, ratio };
}

/** The plain client's second concurrency: what a client without a per-node limit reaches on this machine. */
const RAW_WIDE_CONCURRENCY = 16;

/**
 * Throughput: bursts of distinct ~10 KB Insights over five paths alternated, median of the rounds: ours, the core
 * http request node with keep-alive on and as dropped in (we compare against the faster of the two, per round),
 * and the plain client at SIZES.concurrency and at RAW_WIDE_CONCURRENCY in flight. Peak RSS of Node-RED over all.
 */
async function throughput(nr: string, peers: PeersClient, sinkUrl: string, base: Insight, pid: number): Promise<void> {
  const plain = (concurrency: number): TpPath => ({
    pids: [pid],
    async send(prefix, count) {
      await peers.call("sinkReset");
      const cpu0 = process.cpuUsage();
      const r = await rawClient({ url: sinkUrl, count, concurrency, body: (i) => JSON.stringify(distinctInsight(base, prefix, i)) });
      const cpu = process.cpuUsage(cpu0);
      const s = await peers.call("sinkWait", { n: count, timeoutMs: 90_000 });
      if (s.count < count || r.failures) throw new Error(`raw client: the sink saw ${s.count} of ${count}, ${r.failures} failures`);
      return { ms: s.last - r.t0, bytes: s.bytes as number, opened: s.opened as number, cpuMs: (cpu.user + cpu.system) / 1000, redisCpuMs: NaN };
    },
  });
  const all: Record<string, TpPath> = {
    ours: nodeRedPath(peers, nr, 0, base, pid),
    core: nodeRedPath(peers, nr, 1, base, pid),
    coreDropIn: nodeRedPath(peers, nr, 2, base, pid),
    raw: plain(SIZES.concurrency),
    raw16: plain(RAW_WIDE_CONCURRENCY),
  };
  const skipped: TpPath = { pids: [], send: async () => NO_BURST };
  const paths = Object.fromEntries(Object.entries(all).map(([p, path]) => [p, PATHS.includes(p) ? path : skipped]));
  const sampler = rssSampler(pid);
  const tp = await throughputRounds(paths, { label: "tp", rounds: SIZES.tpRounds, reserveMs: 150_000 + (want("cluster") ? CLUSTER_MS : 0) });
  const peakRss = sampler.stop();
  const { n, rates: results, cpuPerEvent, bytes, connections } = tp;
  const ours = median(results.ours);
  const core = median(results.core);
  const coreDropIn = median(results.coreDropIn);
  const rawRate = median(results.raw);
  const raw16Rate = median(results.raw16);
  // Per round, against the faster of the core node's two configurations in that round.
  const vsCore = median(results.ours.map((r, i) => r / Math.max(results.core[i], results.coreDropIn[i])));
  const vsRaw = tp.ratio("ours", "raw");
  const vsRaw16 = tp.ratio("ours", "raw16");
  const cpu = Object.fromEntries(Object.keys(all).map((p) => [p, median(cpuPerEvent[p])])) as Record<string, number>;
  details.throughput = { events: n, rounds: results, cpuMsPerEvent: cpuPerEvent, bodyBytes: bytes, connectionsOpened: connections, concurrency: SIZES.concurrency, rawWideConcurrency: RAW_WIDE_CONCURRENCY, peakRss };
  if (PATHS.length === Object.keys(all).length && (bytes.ours !== bytes.core || Math.abs(bytes.ours - bytes.raw) > 1)) notes.push(`throughput: body sizes differ between paths: ${JSON.stringify(bytes)}`);
  const what = `${n} Insights of ${Math.round(bytes.ours)} B, median of ${results.ours.length} rounds`;
  rows.push({
    section: "Throughput",
    measure: `cse-trigger → cse-http-post (${what}) vs the faster core-node configuration`,
    value: fmt.rate(ours),
    baseline: `function → core http request: keep-alive on ${fmt.rate(core)}, as dropped in ${fmt.rate(coreDropIn)}`,
    ratio: vsCore,
    aim: "≥ 1.5×",
    met: vsCore >= 1.5,
  });
  rows.push({ section: "Throughput", measure: `same, vs a plain Node.js client (keep-alive, ${RAW_WIDE_CONCURRENCY} in flight)`, value: fmt.rate(ours), baseline: `plain client: ${fmt.rate(raw16Rate)}`, ratio: vsRaw16, aim: "≥ 0.5×", met: vsRaw16 >= 0.5 });
  rows.push({ section: "Throughput", measure: `same, vs the plain client at ${SIZES.concurrency} in flight (our per-node concurrency)`, value: fmt.rate(ours), baseline: `plain client: ${fmt.rate(rawRate)}`, ratio: vsRaw, aim: "report" });
  rows.push({
    section: "Throughput",
    measure: "CPU time per event in the sending process (less is better)",
    value: fmt.ms(cpu.ours),
    baseline: `core keep-alive ${fmt.ms(cpu.core)}, dropped in ${fmt.ms(cpu.coreDropIn)}; plain client ${fmt.ms(cpu.raw)} (4), ${fmt.ms(cpu.raw16)} (16)`,
    ratio: Math.min(cpu.core, cpu.coreDropIn) / cpu.ours,
    aim: "ratio = faster core / ours",
  });
  rows.push({ section: "Throughput", measure: "peak RSS of the Node-RED process over the throughput rounds", value: fmt.mb(peakRss), baseline: "", ratio: NaN, aim: "report" });
}

/** A paced run: `n` events at `rate` per second. */
interface Pace {
  n: number;
  rate: number;
}

/**
 * Latency of one paced run of `pace.n` events: each event's send time (the `stamps` that `send` returns, events
 * named `<prefix>-<i>`) to its arrival at the sink. `pid` must be idle first.
 */
async function latencyOf(peers: PeersClient, pid: number, label: string, prefix: string, { n }: Pace, send: () => Promise<{ stamps: number[] }>) {
  await settle(pid);
  await peers.call("sinkReset", { recordIds: true });
  const { stamps } = await send();
  await peers.call("sinkWait", { n, timeoutMs: 60_000 });
  const arrivals = new Map<string, number>(await peers.call("sinkArrivals"));
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = arrivals.get(`${prefix}-${i}`);
    if (at !== undefined && stamps[i] !== undefined) lat.push(at - stamps[i]);
  }
  if (lat.length < n) notes.push(`latency ${label}: ${lat.length} of ${n} events arrived`);
  lat.sort((a, b) => a - b);
  const result = { p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1) ?? NaN, arrived: lat.length };
  log(`latency ${label}: p50 ${fmt.ms(result.p50)}, p99 ${fmt.ms(result.p99)}`);
  return result;
}

/** A paced run into a Node-RED's delivery flow (generator output `out`). */
const pacedViaNodeRed = (nr: string, out: number, base: Insight, prefix: string, { n, rate }: Pace) => () =>
  postJson<{ stamps: number[] }>(`${nr}/bench/tp/gen`, { n, prefix, bases: [base], out, outputs: DELIVERY_OUTPUTS, rate });

/** Latency at a steady rate: each event's send time into the trigger (or client) to its arrival at the sink. */
async function latency(nr: string, peers: PeersClient, sinkUrl: string, base: Insight, pid: number): Promise<void> {
  const n = SIZES.latEvents;
  const rate = SIZES.latRate;
  const pace = { n, rate };
  const measure = (label: string, prefix: string, send: () => Promise<{ stamps: number[] }>) => latencyOf(peers, pid, label, prefix, pace, send);
  const viaNodeRed = (out: number, prefix: string) => pacedViaNodeRed(nr, out, base, prefix, pace);
  const ours = await measure("ours", "lat-ours", viaNodeRed(0, "lat-ours"));
  const core = await measure("core", "lat-core", viaNodeRed(1, "lat-core"));
  const raw = await measure("raw", "lat-raw", () =>
    rawClient({ url: sinkUrl, count: n, concurrency: SIZES.concurrency, rate, body: (i) => JSON.stringify(distinctInsight(base, "lat-raw", i)) }),
  );
  details.latency = { events: n, rate, ours, core, raw };
  if (ours.p50 > 100) {
    notes.push(
      `latency: our path did not keep up with ${rate} events/s in this run (p50 ${fmt.ms(ours.p50)}: events queued); ` +
        "compare its throughput row — on a busy machine Node-RED gets less than the CPU it needs per event",
    );
  }
  for (const p of ["p50", "p99"] as const) {
    rows.push({
      section: "Latency",
      measure: `${p}, trigger in → sink, ${rate} events/s (${n} events)`,
      value: fmt.ms(ours[p]),
      baseline: `core http request ${fmt.ms(core[p])}; plain client ${fmt.ms(raw[p])}`,
      ratio: ours[p] / core[p],
      aim: "lower is better (ratio = ours / core)",
    });
  }
}

/** Backpressure: a burst while the sink is down, then up; everything must arrive. */
async function backpressure(nr: string, peers: PeersClient, sinkUrl: string, base: Insight, pid: number, idleRss: number): Promise<void> {
  const n = SIZES.bpEvents;
  const downMs = SIZES.bpDownMs;
  const run = async (out: number, prefix: string, n: number) => {
    await settle(pid);
    await getJson(`${nr}/bench/bp/counts?reset=1`);
    await peers.call("sinkReset");
    const before = rssOf(pid);
    const heapBefore = (await getJson<{ heapUsed: number }>(`${nr}/bench/bp/memory`)).heapUsed;
    const cpu0 = cpuMsOf(pid);
    const sampler = rssSampler(pid);
    await peers.call("sinkDown");
    const downAt = clock();
    await postJson(`${nr}/bench/bp/gen`, { n, prefix, bases: [base], out, outputs: 2 }, 120_000);
    const generatedMs = clock() - downAt;
    await sleep(Math.max(0, downAt + downMs - clock()));
    // Heap while every event waits (queued or retrying), just before the receiver comes back.
    const memQueued = await getJson<NodeJS.MemoryUsage>(`${nr}/bench/bp/memory`).catch(() => undefined);
    const heapQueued = memQueued?.heapUsed ?? NaN;
    await peers.call("sinkUp");
    const upAt = clock();
    const cpuUp = cpuMsOf(pid);
    // The core node does not retry: what it lost during the outage never comes; wait only briefly for it.
    const s = await peers.call("sinkWait", { n, timeoutMs: out === 0 ? Math.max(30_000, remainingMs() - 60_000) : 3_000 });
    const drainCpuMs = cpuMsOf(pid) - cpuUp;
    const c = await getJson<{ failed: number }>(`${nr}/bench/bp/counts`);
    const peak = sampler.stop();
    const memAfter = await getJson<NodeJS.MemoryUsage>(`${nr}/bench/bp/memory`).catch(() => undefined);
    return { heapBefore, heapQueued, memQueued, memAfter, peakRssAfterUpMs: sampler.peakAt() - upAt, delivered: s.count as number, drainMs: s.count ? s.last - upAt : NaN, firstMs: s.count ? s.first - upAt : NaN, drainCpuMs, peakRss: peak, rssBefore: before, refused: c.failed, generatedMs, cpuMs: cpuMsOf(pid) - cpu0 };
  };
  log(`backpressure: ${n} events, sink down ${downMs / 1000} s`);
  const ours = await run(0, "bp-ours", n);
  log(`backpressure ours: delivered ${ours.delivered}/${n}, drain ${fmt.ms(ours.drainMs)} (first delivery after ${fmt.ms(ours.firstMs)}, CPU ${fmt.ms(ours.drainCpuMs / n)}/event), peak RSS ${fmt.mb(ours.peakRss)}, refused ${ours.refused}`);
  await peers.call("sinkReset");
  const t = clock();
  const rawCpu0 = process.cpuUsage();
  await rawClient({ url: sinkUrl, count: n, concurrency: SIZES.concurrency, body: (i) => JSON.stringify(distinctInsight(base, "bp-raw", i)) });
  const rawCpu = process.cpuUsage(rawCpu0);
  const s = await peers.call("sinkWait", { n, timeoutMs: 60_000 });
  const rawMs = s.last - t;
  const rawCpuMs = (rawCpu.user + rawCpu.system) / 1000;
  // The core node has no retry and no queue: during the outage every request fails at once. A smaller burst shows
  // it (20,000 would only flood the log with 20,000 errors).
  const coreN = SIZES.bpCoreEvents;
  const core = remainingMs() > 60_000 ? await run(1, "bp-core", coreN) : undefined;
  if (core) log(`backpressure core: delivered ${core.delivered}/${coreN}`);
  details.backpressure = { events: n, downMs, maxAttempts: BP_MAX_ATTEMPTS, queueLimit: BP_QUEUE_LIMIT, idleRss, ours, core, rawMs, rawCpuMs };
  rows.push({
    section: "Backpressure",
    measure: `delivered after a ${downMs / 1000} s outage (${n} events; maxAttempts ${BP_MAX_ATTEMPTS}, cseQueueLimit ${BP_QUEUE_LIMIT})`,
    value: `${ours.delivered} / ${n}, ${ours.refused} refused`,
    baseline: core ? `core http request: ${core.delivered} / ${coreN} (no retry)` : "core http request: skipped (time budget)",
    ratio: core && core.delivered > 0 ? ours.delivered / n / (core.delivered / coreN) : NaN,
    aim: "all delivered",
    met: ours.delivered === n,
  });
  rows.push({ section: "Backpressure", measure: "time to drain after the sink came back", value: fmt.ms(ours.drainMs), baseline: `plain client posting ${n}: ${fmt.ms(rawMs)}`, ratio: rawMs / ours.drainMs, aim: "≥ 0.7× (ratio = plain / ours)", met: rawMs / ours.drainMs >= 0.7 });
  // The drain is two parts: the wait for the breaker's next probe (at most 5 s apart), then the sending itself.
  rows.push({
    section: "Backpressure",
    measure: "of which: sink back → first delivery (the breaker's probe)",
    value: fmt.ms(ours.firstMs),
    baseline: "",
    ratio: NaN,
    aim: "report",
  });
  rows.push({
    section: "Backpressure",
    measure: "of which: first delivery → last",
    value: fmt.ms(ours.drainMs - ours.firstMs),
    baseline: `plain client: ${fmt.ms(rawMs)}`,
    ratio: rawMs / (ours.drainMs - ours.firstMs),
    aim: "ratio = plain / ours",
  });
  rows.push({
    section: "Backpressure",
    measure: "CPU time per event while draining, in the sending process (less is better)",
    value: fmt.ms(ours.drainCpuMs / n),
    baseline: `plain client: ${fmt.ms(rawCpuMs / n)}`,
    ratio: rawCpuMs / ours.drainCpuMs,
    aim: "ratio = plain / ours",
  });
  rows.push({ section: "Backpressure", measure: "peak RSS of the Node-RED process", value: fmt.mb(ours.peakRss), baseline: `idle ${fmt.mb(idleRss)}`, ratio: ours.peakRss / idleRss, aim: "< 300 MB (ratio = peak / idle)", met: ours.peakRss < 300 * 1024 * 1024 });
  rows.push({
    section: "Backpressure",
    measure: `RSS with all ${n} events waiting (just before the sink came back)`,
    value: fmt.mb(ours.memQueued?.rss ?? NaN),
    baseline: `idle ${fmt.mb(idleRss)}`,
    ratio: (ours.memQueued?.rss ?? NaN) / idleRss,
    aim: "ratio = waiting / idle",
  });
}

/** Fan-out: each event into ten action nodes of every kind there is, against the local fakes. */
async function fanout(nr: string, peers: PeersClient, kinds: string[], base: Insight, pid: number): Promise<void> {
  if (!kinds.length) {
    rows.push({ section: "Fan-out", measure: "TODO: no action node kinds available", value: "n/a", baseline: "", ratio: NaN, aim: "" });
    return;
  }
  const n = SIZES.foEvents;
  const run = async (out: number, prefix: string) => {
    if (!PATHS.includes(out === 0 ? "ours" : "core")) return { ms: NaN, done: 0, failed: 0, finishedMs: {} as Record<string, number>, peers: {} };
    await settle(pid);
    await getJson(`${nr}/bench/fo/counts?reset=1`);
    await peers.call("fanoutReset");
    await peers.call("sinkReset");
    const r = await postJson<{ t0: number }>(`${nr}/bench/fo/gen`, { n, prefix, bases: [base], out, outputs: 2 });
    const c = await waitCounts(nr, "fo", n * 10, 90_000);
    const finished = Object.fromEntries(Object.entries(c.lastBy ?? {}).map(([k, at]) => [k, Math.round(at - r.t0)]));
    return { ms: c.last - r.t0, done: c.done, failed: c.failed, finishedMs: finished, peers: await peers.call("fanoutCounts") };
  };
  log(`fan-out: ${n} events × 10 nodes (${kinds.length} kinds)`);
  await run(0, "fo-warm-ours");
  await run(1, "fo-warm-core");
  // A burst lasts under a second: rounds with the order alternated, the round with the median ratio shown.
  const rounds: { ours: Awaited<ReturnType<typeof run>>; core: Awaited<ReturnType<typeof run>>; ratio: number }[] = [];
  for (let i = 0; i < SIZES.tpRounds; i++) {
    const coreFirst = i % 2 === 1;
    const first = await run(coreFirst ? 1 : 0, `fo-${i}-a`);
    const second = await run(coreFirst ? 0 : 1, `fo-${i}-b`);
    const [ours, core] = coreFirst ? [second, first] : [first, second];
    rounds.push({ ours, core, ratio: core.ms / ours.ms });
    log(`fan-out round ${i + 1}: ours ${fmt.rate((n * 1000) / ours.ms)}, core ${fmt.rate((n * 1000) / core.ms)}`);
  }
  const middle = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)];
  const { ours, core } = middle;
  details.fanout = { events: n, kinds, rounds };
  const failed = rounds.reduce((sum, r) => sum + r.ours.failed, 0);
  if (failed) notes.push(`fan-out: ${failed} deliveries failed (see details.fanout)`);
  const oursRate = (n * 1000) / ours.ms;
  const coreRate = (n * 1000) / core.ms;
  const byKind = Object.entries(ours.finishedMs).sort((a, b) => b[1] - a[1]);
  log(`fan-out: ours ${fmt.rate(oursRate)}, core ${fmt.rate(coreRate)}; last delivery per kind (ms after the first event): ${JSON.stringify(Object.fromEntries(byKind))}`);
  rows.push({
    section: "Fan-out",
    measure: `1 event → 10 action nodes of ${kinds.length} kinds (${n} events, median of ${rounds.length} rounds; ${ours.done}/${n * 10} delivered; slowest: ${byKind[0]?.[0] ?? "?"})`,
    value: `${fmt.rate(oursRate)} events`,
    baseline: `10 × (function → core http request): ${fmt.rate(coreRate)}`,
    ratio: middle.ratio,
    aim: "≥ 0.8×",
    met: middle.ratio >= 0.8,
  });
}

/** Ten Insights whose records share public IPs and domains; a burst cycles through them. */
function rfBurstBases(base: Insight): Insight[] {
  const ips = Array.from({ length: 12 }, (_, i) => `185.220.101.${10 + i}`);
  const domains = Array.from({ length: 12 }, (_, i) => `c2-${i}.example.net`);
  return Array.from({ length: 10 }, (_, j) => ({
    ...base,
    signals: base.signals!.map((s, k) => ({
      ...s,
      allRecords: (s.allRecords ?? []).map((r, m) => ({
        ...r,
        dstDevice_ip: ips[(j + k + m) % ips.length],
        http_hostname: domains[(j * 2 + m) % domains.length],
        http_url: `https://${domains[(j * 2 + m) % domains.length]}/x`,
        dns_query: domains[(j + 3 * k) % domains.length],
      })),
    })),
  }));
}

/** Recorded Future: look-ups per distinct indicator over a burst (the cache and in-flight sharing make it 1.0). */
async function recordedFuture(nr: string, peers: PeersClient, kinds: string[], bases: Insight[]): Promise<void> {
  if (!kinds.includes("cse-recorded-future")) {
    rows.push({ section: "Recorded Future", measure: "TODO: cse-recorded-future does not exist yet", value: "n/a", baseline: "", ratio: NaN, aim: "1.0" });
    return;
  }
  const n = SIZES.rfEvents;
  await getJson(`${nr}/bench/rf/counts?reset=1`);
  const r = await postJson<{ t0: number }>(`${nr}/bench/rf/gen`, { n, prefix: "rf", bases, out: 0, outputs: 1 });
  const c = await waitCounts(nr, "rf", n, 60_000);
  const asked = await peers.call<{ requests: number; asked: string[] }>("rfAsked");
  const distinct = new Set<string>();
  let occurrences = 0;
  for (let i = 0; i < n; i++) {
    const ind = indicatorsOfInsight(bases[i % bases.length]);
    occurrences += countIndicators(ind);
    for (const t of ["ip", "domain", "hash"] as const) for (const v of ind[t]) distinct.add(`${t}:${v}`);
  }
  const perDistinct = asked.asked.length / distinct.size;
  details.recordedFuture = { events: n, done: c.done, failed: c.failed, ms: c.last - r.t0, requests: asked.requests, lookups: asked.asked.length, distinct: distinct.size, occurrences };
  rows.push({
    section: "Recorded Future",
    measure: `look-ups per distinct indicator, burst of ${n} Insights (${distinct.size} distinct, ${occurrences} occurrences)`,
    value: perDistinct.toFixed(2),
    baseline: `one look-up per occurrence: ${(occurrences / distinct.size).toFixed(2)}`,
    ratio: perDistinct / (occurrences / distinct.size),
    aim: "1.00",
    met: Math.abs(perDistinct - 1) < 1e-9,
  });
}

/** Slow receiver of the failover run: each answer waits this long, so a burst takes seconds to deliver (as in test/e2e/cluster-delivery.spec.ts). */
const FAILOVER_RECEIVER_DELAY_MS = 100;
/** A rate cluster mode keeps up with on a busy machine, for its latency without queueing. */
const CLUSTER_LOW_RATE: Pace = { n: 100, rate: 20 };
/** The Redis key prefix of the bench's cluster (`cseCluster.prefix`). */
const CLUSTER_PREFIX = "bench";

interface ClusterContext {
  peers: PeersClient;
  tarball: string;
  /** The settings.js lines of the file-journal Node-RED; the replicas get the same plus `cseCluster`. */
  settings: string;
  sinkUrl: string;
  base: Insight;
  /** The file-journal Node-RED, measured beside cluster mode in the same rounds. */
  journal: { nr: string; pid: number };
}

/**
 * Cluster mode: Node-RED with `cseCluster` on one Redis (test/support/redis-server.ts: append-only file, fsync
 * always), the same delivery flow, measured beside the file journal with the same code and sizes as the
 * Throughput and Latency sections; then the failover of a killed replica to a second one.
 */
async function cluster(ctx: ClusterContext): Promise<void> {
  const { peers, journal, base } = ctx;
  const redis = new RedisServer();
  const replicas: NodeRedProcess[] = [];
  const forget: (() => void)[] = [];
  const startReplica = async () => {
    const red = new NodeRedProcess(ctx.tarball, { settings: `${ctx.settings}\n  cseCluster: { url: "${redis.url}", prefix: "${CLUSTER_PREFIX}" },` });
    replicas.push(red);
    forget.push(killOnExit(() => void red.kill9()));
    red.install();
    await red.start();
    await red.deploy(deliveryFlow(ctx.sinkUrl));
    return red;
  };
  try {
    forget.push(killOnExit(() => void redis.kill9()));
    await redis.start();
    const redisPid = childPid(/^redis-server/);
    log(`cluster: Redis ${redis.url} (pid ${redisPid}); starting a Node-RED with cseCluster`);
    const a = await startReplica();

    const tp = await throughputRounds(
      { journal: nodeRedPath(peers, journal.nr, 0, base, journal.pid), cluster: nodeRedPath(peers, a.url, 0, base, a.pid!, redisPid) },
      { label: "cluster-tp", rounds: SIZES.clusterRounds, reserveMs: 60_000, events: (details.throughput as { events?: number } | undefined)?.events },
    );
    const rate = { journal: median(tp.rates.journal), cluster: median(tp.rates.cluster) };
    const cpu = { journal: median(tp.cpuPerEvent.journal), cluster: median(tp.cpuPerEvent.cluster), redis: median(tp.redisCpuPerEvent.cluster) };
    const vsJournal = tp.ratio("cluster", "journal");
    const what = `${tp.n} Insights of ${Math.round(tp.bytes.cluster)} B, median of ${tp.rates.cluster.length} rounds`;
    rows.push({ section: "Cluster", measure: `cse-trigger → cse-http-post with cseCluster, one Redis (${what})`, value: fmt.rate(rate.cluster), baseline: `file journal: ${fmt.rate(rate.journal)}`, ratio: vsJournal, aim: "report (ratio = cluster / journal)" });
    rows.push({
      section: "Cluster",
      measure: "CPU time per event: Node-RED + Redis (less is better)",
      value: `${fmt.ms(cpu.cluster)} + ${fmt.ms(cpu.redis)}`,
      baseline: `file journal: ${fmt.ms(cpu.journal)}`,
      ratio: (cpu.cluster + cpu.redis) / cpu.journal,
      aim: "ratio = cluster / journal",
    });

    // At the Latency section's rate, and at a low rate that shows cluster mode's own cost per event, not queueing.
    const latencies: Record<string, Record<"journal" | "cluster", Awaited<ReturnType<typeof latencyOf>>>> = {};
    for (const pace of [{ n: SIZES.latEvents, rate: SIZES.latRate }, CLUSTER_LOW_RATE]) {
      const tag = `cl-lat${pace.rate}`;
      const lat = {
        journal: await latencyOf(peers, journal.pid, `file journal, ${pace.rate}/s`, `${tag}-journal`, pace, pacedViaNodeRed(journal.nr, 0, base, `${tag}-journal`, pace)),
        cluster: await latencyOf(peers, a.pid!, `cluster, ${pace.rate}/s`, `${tag}-cluster`, pace, pacedViaNodeRed(a.url, 0, base, `${tag}-cluster`, pace)),
      };
      latencies[`${pace.rate}/s`] = lat;
      if (lat.cluster.p50 > 100) {
        notes.push(
          `cluster latency: ${pace.rate} events/s was more than cluster mode delivered in this run (p50 ${fmt.ms(lat.cluster.p50)}: events queued); ` +
            "compare its throughput row — each event costs Redis writes, each fsynced to the append-only file",
        );
      }
      for (const p of ["p50", "p99"] as const) {
        rows.push({
          section: "Cluster",
          measure: `latency ${p}, trigger in → sink, ${pace.rate} events/s (${pace.n} events)`,
          value: fmt.ms(lat.cluster[p]),
          baseline: `file journal: ${fmt.ms(lat.journal[p])}`,
          ratio: lat.cluster[p] / lat.journal[p],
          aim: "lower is better (ratio = cluster / journal)",
        });
      }
    }
    details.cluster = { throughput: { events: tp.n, rounds: tp.rates, cpuMsPerEvent: tp.cpuPerEvent, redisCpuMsPerEvent: tp.redisCpuPerEvent, bodyBytes: tp.bytes }, latency: latencies };

    log("cluster failover: starting replica B");
    await startReplica();
    await failover(peers, redis, a, base);
  } catch (err) {
    for (const red of replicas) process.stderr.write(`cluster replica's log (last lines):\n${red.log.split("\n").slice(-20).join("\n")}\n`);
    throw err;
  } finally {
    for (const red of replicas) {
      await red.stop().catch(() => undefined);
      red.remove();
    }
    await redis.remove();
    for (const f of forget) f();
    log("cluster: replicas and Redis stopped");
  }
}

/**
 * Failover, as test/e2e/cluster-delivery.spec.ts: replica A accepts a burst for a slow receiver; once all of it is
 * in Redis and a first part delivered, A is killed -9. Its jobs in flight then are the requests it had open at the
 * receiver (never answered) and those answered whose completion it had not stored in Redis yet (they arrive
 * twice). Measured is the time from the kill to replica B's first delivery of one of them (their locks expire,
 * B's stalled-job check hands them over), and to the whole burst delivered.
 */
async function failover(peers: PeersClient, redis: RedisServer, a: NodeRedProcess, base: Insight): Promise<void> {
  const n = SIZES.failoverEvents;
  // The replicas run with the default timings: what a dead replica's jobs wait for.
  const { lockMs, stalledCheckMs } = readClusterSettings({ cseCluster: { url: redis.url } })!;
  const inspect = new Redis(redis.url, { maxRetriesPerRequest: null });
  try {
    const queue = `${CLUSTER_PREFIX}:delivery-tp-post`;
    const queued = async () => (await inspect.llen(`${queue}:wait`)) + (await inspect.llen(`${queue}:active`)) + (await inspect.zcard(`${queue}:delayed`));
    const arrivals = async () => (await peers.call<[string, number][]>("sinkArrivals")).filter(([id]) => id.startsWith("failover-"));
    const distinct = async () => new Set((await arrivals()).map(([id]) => id)).size;
    const until = async (what: string, check: () => Promise<boolean>, ms: number) => {
      const deadline = clock() + ms;
      while (!(await check())) {
        if (clock() > deadline) throw new Error(`failover: timed out waiting for ${what}`);
        await sleep(50);
      }
    };
    await peers.call("sinkReset", { recordIds: true, delayMs: FAILOVER_RECEIVER_DELAY_MS });
    log(`cluster failover: ${n} events into replica A for a receiver answering after ${FAILOVER_RECEIVER_DELAY_MS} ms`);
    await postJson(`${a.url}/bench/tp/gen`, { n, prefix: "failover", bases: [base], out: 0, outputs: DELIVERY_OUTPUTS });
    await until("the burst to be stored in Redis", async () => (await distinct()) + (await queued()) >= n, 30_000);
    await until("a first part delivered", async () => (await distinct()) >= Math.min(60, n / 4), 60_000);

    await a.kill9();
    const killedAt = clock();
    await until("every event delivered by replica B", async () => (await distinct()) === n, 90_000);
    const all = await arrivals();
    const aborted = new Set(await peers.call<string[]>("sinkAborted"));
    const before = new Set(all.filter(([, at]) => at <= killedAt).map(([id]) => id));
    const redelivered = all.filter(([id, at]) => at > killedAt && (aborted.has(id) || before.has(id)));
    const inFlight = new Set(redelivered.map(([id]) => id));
    const firstMs = redelivered.length ? Math.min(...redelivered.map(([, at]) => at - killedAt)) : NaN;
    const allMs = Math.max(...all.map(([, at]) => at)) - killedAt;
    const twice = all.length - n;
    await peers.call("sinkReset");
    details.failover = { events: n, receiverDelayMs: FAILOVER_RECEIVER_DELAY_MS, lockMs, stalledCheckMs, inFlightAtKill: [...inFlight], firstRedeliveryMs: firstMs, allDeliveredMs: allMs, deliveredTwice: twice };
    log(`cluster failover: A's ${inFlight.size} jobs in flight, first one delivered by B ${fmt.ms(firstMs)} after the kill; all ${n} ${fmt.ms(allMs)} after; ${twice} delivered twice`);
    if (!inFlight.size) notes.push("failover: replica A had no job in flight at the receiver when it was killed; no first-redelivery time");
    const limit = 60_000;
    rows.push({
      section: "Cluster",
      measure: `failover: kill -9 of the replica holding a ${n}-event burst → the other delivers a job it had in flight (${inFlight.size} at the kill; lock ${fmt.s(lockMs)}, stalled check ${fmt.s(stalledCheckMs)})`,
      value: fmt.s(firstMs),
      baseline: `lock + stalled check: ${fmt.s(lockMs + stalledCheckMs)} at most`,
      ratio: NaN,
      aim: "≤ 60 s (SPEC §7)",
      met: firstMs <= limit,
    });
    rows.push({
      section: "Cluster",
      measure: `failover: kill -9 → all ${n} delivered by the other replica (${twice} of them twice: at-least-once)`,
      value: fmt.s(allMs),
      baseline: `${n} / ${n} delivered`,
      ratio: NaN,
      aim: "≤ 60 s (SPEC §7)",
      met: allMs <= limit,
    });
  } finally {
    inspect.disconnect();
  }
}

/** The trigger's domain modules, in a child process with --expose-gc (bench/micro.ts). */
async function micro(): Promise<void> {
  log("trigger micro benchmarks");
  const child = track(
    spawn(process.execPath, ["--expose-gc", "--max-old-space-size=4096", "--import", "tsx", path.join(__dirname, "micro.ts"), ...(QUICK ? ["--quick"] : [])], {
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`micro benchmarks failed (${code}): ${out.slice(-2000)}`);
  const result = JSON.parse(out.trim().split("\n").at(-1)!) as { rows: Row[]; details: unknown };
  rows.push(...result.rows);
  details.micro = result.details;
}

let profiler: ReturnType<typeof sectionProfiler> | undefined;

/** Profiles one section in the Node-RED process (bench/cpu-profiler.cjs), when --profile is given. */
function sectionProfiler(pid: number, dir: string) {
  let count = 0;
  return {
    start: () => process.kill(pid, "SIGWINCH"),
    async stop(name: string) {
      process.kill(pid, "SIGWINCH");
      const file = path.join(dir, `${++count}.cpuprofile`);
      const deadline = Date.now() + 20_000;
      while (!fs.existsSync(file) && Date.now() < deadline) await sleep(100);
      await sleep(300);
      const named = path.join(dir, `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.cpuprofile`);
      fs.renameSync(file, named);
      const summary = execFileSync(process.execPath, ["--import", "tsx", path.join(__dirname, "profile-summary.ts"), named], { encoding: "utf8" });
      fs.writeFileSync(named.replace(/\.cpuprofile$/, ".txt"), summary);
      log(`profile of ${name}:\n${summary.split("\n").slice(0, 32).join("\n")}`);
    },
  };
}

/** Sections that failed: the others still run and report; the bench then exits with 1. */
const failures: string[] = [];

async function profiled(name: string, section: () => Promise<void>, inNodeRed = true): Promise<void> {
  const prof = inNodeRed ? profiler : undefined;
  prof?.start();
  try {
    await section();
  } catch (err) {
    failures.push(name);
    const message = String((err as Error)?.message ?? err).split("\n")[0];
    log(`${name} FAILED: ${(err as Error)?.stack ?? err}`);
    notes.push(`${name} failed: ${message}`);
    rows.push({ section: name, measure: `FAILED: ${message.slice(0, 120)}`, value: "n/a", baseline: "", ratio: NaN, aim: "" });
  } finally {
    await prof?.stop(name).catch((err) => log(`profile of ${name} not written: ${err}`));
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
