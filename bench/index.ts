/**
 * `npm run bench`: the package inside a real Node-RED 4.1 (packed, installed, started from its CLI) measured
 * side by side with Node-RED's own `http request` node and with a plain Node.js client, plus in-process
 * micro benchmarks of the trigger's domain modules. Prints a table and writes bench/results.json.
 *
 * Options: --quick (small counts, a smoke run), --profile (node --cpu-prof on the Node-RED process;
 * profiles and a summary land in bench/profiles/), --only=tp,lat,bp,fo,rf,micro (run only those sections).
 * Nothing leaves 127.0.0.1; every wait is bounded; child processes are ended on exit and on errors.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { NodeRedProcess, packPackage } from "../test/e2e/support/node-red-process";
import { modernInsight } from "../test/fakes/insights";
import { countIndicators, indicatorsOfInsight } from "../src/events/indicators";
import type { Insight } from "../src/events/types";
import { ACTION_KINDS, backpressureFlow, deliveryFlow, fanoutFlow, rfFlow, type FanoutPeers } from "./flows";
import {
  clock,
  cpuMsOf,
  findNodeRedPid,
  fmt,
  getJson,
  killChildren,
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
/** --paths=ours (throughput only): run just some of the three paths, e.g. to profile one of them. */
const PATHS = args.find((a) => a.startsWith("--paths="))?.slice(8).split(",") ?? ["ours", "core", "raw"];

/** Sizes, chosen so a full run stays well inside 5 minutes on 2 cores. */
const SIZES = QUICK
  ? { tpSeconds: 1, tpMin: 300, tpMax: 1000, tpRounds: 1, latEvents: 200, latRate: 200, bpEvents: 2000, bpCoreEvents: 500, bpDownMs: 3000, foEvents: 30, rfEvents: 50, concurrency: 4 }
  : { tpSeconds: 3, tpMin: 1000, tpMax: 10000, tpRounds: 5, latEvents: 1000, latRate: 200, bpEvents: 20000, bpCoreEvents: 2000, bpDownMs: 10000, foEvents: 150, rfEvents: 200, concurrency: 4 };
/**
 * The whole run (after the build) must end within 5 minutes on a busy 2-core box: sections that would start
 * after this much time are skipped, with a note, rather than run late.
 */
const BUDGET_MS = 250_000;
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
  let nrPid = 0;
  const onExit = () => {
    if (nrPid) {
      try {
        process.kill(nrPid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    killChildren();
  };
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
    const base = modernInsight();
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
    nrPid = findNodeRedPid([peers.pid]);
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

    if (want("tp") && !skip("Throughput", 40_000)) await profiled("Throughput", () => throughput(nr, peers, sinkUrl, base, nrPid));
    if (want("lat") && !skip("Latency", 30_000)) await profiled("Latency", () => latency(nr, peers, sinkUrl, base, nrPid));
    if (want("bp") && !skip("Backpressure", 90_000)) await profiled("Backpressure", () => backpressure(nr, peers, sinkUrl, base, nrPid, idleRss));
    if (want("fo") && !skip("Fan-out", 45_000)) await profiled("Fan-out", () => fanout(nr, peers, kinds, base, nrPid));
    if (want("rf") && !skip("Recorded Future", 35_000)) await profiled("Recorded Future", () => recordedFuture(nr, peers, kinds, rfBases));
    details.nodeRedLogTail = nodeRed.log.split("\n").filter((l) => /error|warn/i.test(l)).slice(-20);

    await nodeRed.stop();
    nrPid = 0;
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
  printTable(rows, notes);
  writeResults(path.join(__dirname, "results.json"), { started, durationS, sizes: SIZES, quick: QUICK, rows, notes, details });
  log(`done in ${durationS.toFixed(0)} s (plus the build); results in bench/results.json`);
  if (failures.length) throw new Error(`sections failed: ${failures.join(", ")}`);
}

/** Throughput: bursts of distinct ~10 KB Insights, three paths alternated, median of the rounds. */
async function throughput(nr: string, peers: PeersClient, sinkUrl: string, base: Insight, pid: number): Promise<void> {
  const body = (prefix: string) => (i: number) => JSON.stringify(distinctInsight(base, prefix, i));
  const viaNodeRed = async (out: number, prefix: string, count: number) => {
    await peers.call("sinkReset");
    const cpu0 = cpuMsOf(pid);
    const r = await postJson<{ t0: number; t1: number }>(`${nr}/bench/tp/gen`, { n: count, prefix, bases: [base], out, outputs: 2 });
    const s = await peers.call("sinkWait", { n: count, timeoutMs: 90_000 });
    if (s.count < count) throw new Error(`throughput ${prefix}: the sink saw ${s.count} of ${count}`);
    return { ms: s.last - r.t0, bytes: s.bytes as number, opened: s.opened as number, cpuMs: cpuMsOf(pid) - cpu0 };
  };
  const raw = async (prefix: string, count: number) => {
    await peers.call("sinkReset");
    const cpu0 = process.cpuUsage();
    const r = await rawClient({ url: sinkUrl, count, concurrency: SIZES.concurrency, body: body(prefix) });
    const cpu = process.cpuUsage(cpu0);
    const s = await peers.call("sinkWait", { n: count, timeoutMs: 90_000 });
    if (s.count < count || r.failures) throw new Error(`raw client: the sink saw ${s.count} of ${count}, ${r.failures} failures`);
    return { ms: s.last - r.t0, bytes: s.bytes as number, opened: s.opened as number, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  const none = { ms: NaN, bytes: NaN, opened: NaN, cpuMs: NaN };
  const paths = {
    ours: (prefix: string, count: number) => (PATHS.includes("ours") ? viaNodeRed(0, prefix, count) : Promise.resolve(none)),
    core: (prefix: string, count: number) => (PATHS.includes("core") ? viaNodeRed(1, prefix, count) : Promise.resolve(none)),
    raw: (prefix: string, count: number) => (PATHS.includes("raw") ? raw(prefix, count) : Promise.resolve(none)),
  };
  log("throughput: warm-up");
  const warm = SIZES.tpMin;
  const wo = await paths.ours("warm-ours", warm);
  await paths.core("warm-core", warm);
  await paths.raw("warm-raw", warm);
  // Each timed burst lasts about tpSeconds for our path, whatever the machine: its size comes from the warm-up rate.
  const warmRate = Number.isFinite(wo.ms) ? (warm * 1000) / wo.ms : 1000;
  const n = Math.round(Math.min(SIZES.tpMax, Math.max(SIZES.tpMin, warmRate * SIZES.tpSeconds)) / 100) * 100;
  const results = { ours: [] as number[], core: [] as number[], raw: [] as number[] };
  const cpuPerEvent = { ours: [] as number[], core: [] as number[], raw: [] as number[] };
  const bytes: Record<string, number> = {};
  const connections: Record<string, number> = {};
  for (let round = 0; round < SIZES.tpRounds; round++) {
    if (round > 0 && remainingMs() < 150_000) {
      notes.push(`throughput: ${round} round(s) instead of ${SIZES.tpRounds} (time budget)`);
      break;
    }
    // The order rotates each round, so a change in the machine's load does not always hit the same path.
    const order = (["ours", "core", "raw"] as const).map((_, k, all) => all[(k + round) % all.length]);
    const got: Record<string, Awaited<ReturnType<typeof paths.ours>>> = {};
    for (const p of order) {
      await settle(pid);
      got[p] = await paths[p](`tp-${p}-${round}`, n);
    }
    const { ours: o, core: c, raw: w } = got;
    results.ours.push((n * 1000) / o.ms);
    results.core.push((n * 1000) / c.ms);
    results.raw.push((n * 1000) / w.ms);
    cpuPerEvent.ours.push(o.cpuMs / n);
    cpuPerEvent.core.push(c.cpuMs / n);
    cpuPerEvent.raw.push(w.cpuMs / n);
    Object.assign(bytes, { ours: o.bytes / n, core: c.bytes / n, raw: w.bytes / n });
    Object.assign(connections, { ours: o.opened, core: c.opened, raw: w.opened });
    log(`throughput round ${round + 1}: ours ${fmt.rate(results.ours.at(-1)!)}, core ${fmt.rate(results.core.at(-1)!)}, raw ${fmt.rate(results.raw.at(-1)!)}; CPU ms/event ours ${cpuPerEvent.ours.at(-1)!.toFixed(2)}, core ${cpuPerEvent.core.at(-1)!.toFixed(2)}, raw ${cpuPerEvent.raw.at(-1)!.toFixed(2)}; connections opened ${JSON.stringify(connections)}`);
  }
  const ours = median(results.ours);
  const core = median(results.core);
  const rawRate = median(results.raw);
  // Ratios are the median of each round's own ratio: the three paths of a round ran back to back.
  const vsCore = median(results.ours.map((r, i) => r / results.core[i]));
  const vsRaw = median(results.ours.map((r, i) => r / results.raw[i]));
  const cpu = { ours: median(cpuPerEvent.ours), core: median(cpuPerEvent.core), raw: median(cpuPerEvent.raw) };
  details.throughput = { events: n, rounds: results, cpuMsPerEvent: cpuPerEvent, bodyBytes: bytes, connectionsOpened: connections, concurrency: SIZES.concurrency };
  if (PATHS.length === 3 && (bytes.ours !== bytes.core || Math.abs(bytes.ours - bytes.raw) > 1)) notes.push(`throughput: body sizes differ between paths: ${JSON.stringify(bytes)}`);
  const what = `${n} Insights of ${Math.round(bytes.ours)} B, median of ${results.ours.length} rounds`;
  rows.push({ section: "Throughput", measure: `cse-trigger → cse-http-post (${what})`, value: fmt.rate(ours), baseline: `function → core http request: ${fmt.rate(core)}`, ratio: vsCore, aim: "≥ 1.2×", met: vsCore >= 1.2 });
  rows.push({ section: "Throughput", measure: `same, vs the limit (plain Node.js client, keep-alive, ${SIZES.concurrency} in flight)`, value: fmt.rate(ours), baseline: `plain client: ${fmt.rate(rawRate)}`, ratio: vsRaw, aim: "≥ 0.7×", met: vsRaw >= 0.7 });
  rows.push({
    section: "Throughput",
    measure: "CPU time per event in the sending process (less is better)",
    value: fmt.ms(cpu.ours),
    baseline: `core http request ${fmt.ms(cpu.core)}; plain client ${fmt.ms(cpu.raw)}`,
    ratio: cpu.core / cpu.ours,
    aim: "ratio = core / ours",
  });
}

/** Latency at a steady rate: each event's send time into the trigger (or client) to its arrival at the sink. */
async function latency(nr: string, peers: PeersClient, sinkUrl: string, base: Insight, pid: number): Promise<void> {
  const n = SIZES.latEvents;
  const rate = SIZES.latRate;
  const measure = async (label: string, prefix: string, send: () => Promise<{ stamps: number[] }>) => {
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
  };
  const viaNodeRed = (out: number, prefix: string) => () =>
    postJson<{ stamps: number[] }>(`${nr}/bench/tp/gen`, { n, prefix, bases: [base], out, outputs: 2, rate });
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
    // The core node does not retry: what it lost during the outage never comes; wait only briefly for it.
    const s = await peers.call("sinkWait", { n, timeoutMs: out === 0 ? Math.max(30_000, remainingMs() - 60_000) : 3_000 });
    const c = await getJson<{ done: number; failed: number }>(`${nr}/bench/bp/counts`);
    const peak = sampler.stop();
    const memAfter = await getJson<NodeJS.MemoryUsage>(`${nr}/bench/bp/memory`).catch(() => undefined);
    return { heapBefore, heapQueued, memQueued, memAfter, peakRssAfterUpMs: sampler.peakAt() - upAt, delivered: s.count as number, drainMs: s.count ? s.last - upAt : NaN, peakRss: peak, rssBefore: before, refused: c.failed, done: c.done, generatedMs, cpuMs: cpuMsOf(pid) - cpu0 };
  };
  log(`backpressure: ${n} events, sink down ${downMs / 1000} s`);
  const ours = await run(0, "bp-ours", n);
  log(`backpressure ours: delivered ${ours.delivered}/${n}, drain ${fmt.ms(ours.drainMs)}, peak RSS ${fmt.mb(ours.peakRss)}, refused ${ours.refused}`);
  await peers.call("sinkReset");
  const t = clock();
  await rawClient({ url: sinkUrl, count: n, concurrency: SIZES.concurrency, body: (i) => JSON.stringify(distinctInsight(base, "bp-raw", i)) });
  const s = await peers.call("sinkWait", { n, timeoutMs: 60_000 });
  const rawMs = s.last - t;
  // The core node has no retry and no queue: during the outage every request fails at once. A smaller burst shows
  // it (20,000 would only flood the log with 20,000 errors).
  const coreN = SIZES.bpCoreEvents;
  const core = remainingMs() > 60_000 ? await run(1, "bp-core", coreN) : undefined;
  if (core) log(`backpressure core: delivered ${core.delivered}/${coreN}`);
  details.backpressure = { events: n, downMs, maxAttempts: BP_MAX_ATTEMPTS, queueLimit: BP_QUEUE_LIMIT, idleRss, ours, core, rawMs };
  rows.push({
    section: "Backpressure",
    measure: `delivered after a ${downMs / 1000} s outage (${n} events; maxAttempts ${BP_MAX_ATTEMPTS}, cseQueueLimit ${BP_QUEUE_LIMIT})`,
    value: `${ours.delivered} / ${n}, ${ours.refused} refused`,
    baseline: core ? `core http request: ${core.delivered} / ${coreN} (no retry)` : "core http request: skipped (time budget)",
    ratio: core && core.delivered > 0 ? ours.delivered / n / (core.delivered / coreN) : NaN,
    aim: "all delivered",
    met: ours.delivered === n,
  });
  rows.push({ section: "Backpressure", measure: "time to drain after the sink came back", value: fmt.ms(ours.drainMs), baseline: `plain client posting ${n}: ${fmt.ms(rawMs)}`, ratio: rawMs / ours.drainMs, aim: "ratio = plain / ours" });
  rows.push({ section: "Backpressure", measure: "peak RSS of the Node-RED process", value: fmt.mb(ours.peakRss), baseline: `idle ${fmt.mb(idleRss)}`, ratio: ours.peakRss / idleRss, aim: "ratio = peak / idle" });
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
  const ours = await run(0, "fo-ours");
  const core = await run(1, "fo-core");
  details.fanout = { events: n, kinds, ours, core };
  if (ours.failed) notes.push(`fan-out: ${ours.failed} deliveries failed (see details.fanout)`);
  const oursRate = (n * 1000) / ours.ms;
  const coreRate = (n * 1000) / core.ms;
  const byKind = Object.entries(ours.finishedMs).sort((a, b) => b[1] - a[1]);
  log(`fan-out: ours ${fmt.rate(oursRate)}, core ${fmt.rate(coreRate)}; last delivery per kind (ms after the first event): ${JSON.stringify(Object.fromEntries(byKind))}`);
  rows.push({
    section: "Fan-out",
    measure: `1 event → 10 action nodes of ${kinds.length} kinds (${n} events; ${ours.done}/${n * 10} delivered; slowest: ${byKind[0]?.[0] ?? "?"})`,
    value: `${fmt.rate(oursRate)} events`,
    baseline: `10 × (function → core http request): ${fmt.rate(coreRate)}`,
    ratio: oursRate / coreRate,
    aim: "report",
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
