/**
 * In-process micro benchmarks of the trigger's domain modules (run by bench/index.ts with --expose-gc):
 * - normalise + dedupe: TriggerRuntime.input() for distinct Insights with 1,000,000 keys already in the
 *   dedupe window, kept in Node-RED's own memory context store; baseline: the same with an empty window;
 * - memory per remembered key; baseline: a bare Map<string, number> holding the same keys;
 * - the dedupe log alone at its cap (every new key evicts the oldest); baseline: Map set + delete;
 * - rule guard: signals/s through TriggerRuntime.input() (normalise + guard) and RuleGuard alone, memory per
 *   rule with a full day of minute buckets; baseline: a bare Map counter.
 * Prints one JSON line `{rows, details}` on stdout.
 */
import { createRequire } from "node:module";
import { DedupeLog, MAX_REMEMBERED_KEYS } from "../src/events/dedupe";
import { RuleGuard } from "../src/events/rule-guard";
import type { Insight } from "../src/events/types";
import { EMITTED_KEYS, type CallbackContext } from "../src/nodes/trigger/emitted-keys";
import { TriggerRuntime } from "../src/nodes/trigger/runtime";
import { readTriggerSettings } from "../src/nodes/trigger/settings";
import { modernInsight } from "../test/fakes/insights";
import { fmt } from "./lib";
import type { Row } from "./report";

const requireHere = createRequire(__filename);
const QUICK = process.argv.includes("--quick");
const KEYS = QUICK ? 100_000 : 1_000_000;
const EVENTS = QUICK ? 5_000 : 20_000;
/** Caps each timed loop, so an O(n)-per-event implementation cannot stall the bench. */
const MAX_LOOP_MS = 8_000;

/** Objects kept reachable until the process ends, so a heap measurement cannot be cut short by GC. */
const keepAlive: unknown[] = [];
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Node-RED's own memory context store, seen through the callback interface the trigger uses. */
function memoryContext(): CallbackContext & { value(): unknown } {
  const store = requireHere("@node-red/runtime/lib/nodes/context/memory")({});
  const scope = "bench-node:bench-flow";
  return {
    get: (key, _s, cb) => store.get(scope, key, cb),
    set: (key, value, _s, cb) => store.set(scope, key, value, cb),
    value: () => store.get(scope, EMITTED_KEYS),
  };
}

const keyOf = (i: number) => `${(0x10000000 + i).toString(16)}-4d5e-4f60-8a7b-9c0d1e2f3a4b:insight.created`;

/** A saved dedupe log with `count` keys emitted over the last hour (all inside the default 24 h window). */
function savedLog(count: number, now: number): Record<string, number> {
  const saved: Record<string, number> = {};
  for (let i = 0; i < count; i++) saved[keyOf(i)] = now - 3_600_000 + Math.floor((i * 3_600_000) / count);
  return saved;
}

async function timed(count: number, step: (i: number) => Promise<unknown> | unknown): Promise<{ rate: number; done: number; ms: number }> {
  const start = performance.now();
  let i = 0;
  for (; i < count; i++) {
    await step(i);
    if ((i & 63) === 0 && performance.now() - start > MAX_LOOP_MS) {
      i++;
      break;
    }
  }
  const ms = performance.now() - start;
  return { rate: (i * 1000) / ms, done: i, ms };
}

async function dedupe(rows: Row[], details: Record<string, unknown>): Promise<void> {
  const base = modernInsight();
  const insights: Insight[] = Array.from({ length: EVENTS }, (_, i) => ({ ...base, id: `micro-${i}`, readableId: `INSIGHT-${i}` }));
  const settings = readTriggerSettings({ onInsightCreated: true, pollInterval: 0, dedupeWindow: 86400 });
  const run = async (preloaded: number, prefix: string) => {
    const h0 = heap();
    const context = memoryContext();
    if (preloaded) await new Promise<void>((resolve) => context.set(EMITTED_KEYS, savedLog(preloaded, Date.now()), undefined, () => resolve()));
    let sent = 0;
    const runtime = new TriggerRuntime(settings, {
      context,
      send: () => sent++,
      status: () => undefined,
      reportError: () => undefined,
      uiUrl: () => undefined,
    });
    // The first event loads the saved log (once per node start): timed on its own.
    const loadStart = performance.now();
    await runtime.input({ topic: "insight.created", payload: { ...base, id: `${prefix}-first` } }, () => sent++);
    const loadMs = performance.now() - loadStart;
    const stored = () => Object.keys((context.value() as Record<string, number>) ?? {}).length;
    const kept = stored();
    // Memory per key: the dedupe log plus what sits in the context store, key strings included.
    const heapBytes = heap() - h0;
    const r = await timed(EVENTS, (i) => runtime.input({ topic: "insight.created", payload: insights[i] }, () => sent++));
    // Every timed event was distinct, so each must have been sent; and a repeat must be refused.
    const before = sent;
    await runtime.input({ topic: "insight.created", payload: insights[0] }, () => sent++);
    const dupRefused = sent === before;
    runtime.close();
    return { ...r, loadMs, sent, dupRefused, kept, heapBytes, perKey: heapBytes / Math.max(1, kept), storedKeys: stored() };
  };
  const full = await run(KEYS, "full");
  const empty = await run(0, "empty");
  const m0 = heap();
  const map = new Map<string, number>();
  const now = Date.now();
  for (let i = 0; i < KEYS; i++) map.set(keyOf(i), now + i);
  const mapPerKey = (heap() - m0) / KEYS;
  keepAlive.push(map);
  details.dedupe = { keys: KEYS, cap: MAX_REMEMBERED_KEYS, events: EVENTS, maxLoopMs: MAX_LOOP_MS, full, empty, mapPerKey };
  if (!full.dupRefused || !empty.dupRefused) throw new Error("the dedupe benchmark saw a duplicate pass");
  rows.push({
    section: "Trigger cost",
    measure: `normalise + dedupe, ${KEYS.toLocaleString("en-US")} keys in the window (${full.done.toLocaleString("en-US")} events)`,
    value: `${fmt.rate(full.rate)} events`,
    baseline: `empty window: ${fmt.rate(empty.rate)}`,
    ratio: full.rate / empty.rate,
    aim: "report",
  });
  rows.push({
    section: "Trigger cost",
    measure: `loading ${full.kept.toLocaleString("en-US")} saved keys at node start (once)`,
    value: fmt.ms(full.loadMs),
    baseline: `empty: ${fmt.ms(empty.loadMs)}`,
    ratio: full.loadMs / Math.max(0.001, empty.loadMs),
    aim: "report",
  });
  rows.push({
    section: "Trigger cost",
    measure: `memory per remembered key (log + context store, ${full.kept.toLocaleString("en-US")} keys, key strings included)`,
    value: fmt.bytes(full.perKey),
    baseline: `bare Map<string, number>: ${fmt.bytes(mapPerKey)}`,
    ratio: full.perKey / mapPerKey,
    aim: "report",
  });
}

/**
 * The dedupe log alone at its cap, where every new key evicts the oldest, over many more events than the
 * trigger run: what a busy day does to a full log. Baseline: a bare Map set + delete of a known key.
 */
async function dedupeAtCap(rows: Row[], details: Record<string, unknown>): Promise<void> {
  const OPS = QUICK ? 50_000 : 300_000;
  const now = Date.now();
  const log = new DedupeLog(86_400_000, savedLog(KEYS, now), KEYS);
  const rounds: number[] = [];
  let t = now;
  const r = await timed(OPS, (i) => {
    log.remember(`cap-${i}`, ++t);
    if (i % 50_000 === 49_999) rounds.push(performance.now());
  });
  const map = new Map<string, number>();
  for (let i = 0; i < KEYS; i++) map.set(keyOf(i), now + i);
  const b = await timed(OPS, (i) => {
    map.delete(keyOf(i));
    map.set(`cap-${i}`, now + i);
  });
  keepAlive.push(log, map);
  details.dedupeAtCap = { ops: OPS, log: r, map: b, size: log.size };
  rows.push({
    section: "Trigger cost",
    measure: `dedupe log at its ${KEYS.toLocaleString("en-US")}-key cap, ${r.done.toLocaleString("en-US")} new keys (each evicts the oldest)`,
    value: `${fmt.rate(r.rate)} keys`,
    baseline: `bare Map set + delete: ${fmt.rate(b.rate)}`,
    ratio: r.rate / b.rate,
    aim: "report",
  });
}

async function ruleGuard(rows: Row[], details: Record<string, unknown>): Promise<void> {
  const RULES = 1_000;
  const SIGNALS = QUICK ? 100_000 : 500_000;
  const ruleIds = Array.from({ length: RULES }, (_, i) => `MATCH-S${String(i).padStart(5, "0")}`);
  const start = Date.UTC(2026, 10, 28);
  // One signal every 100 ms of simulated time: SIGNALS signals spread over ~1 day.
  const at = (i: number) => start + i * Math.floor(86_400_000 / SIGNALS);

  const guard = new RuleGuard();
  const g = await timed(SIGNALS, (i) => guard.signal(ruleIds[i % RULES], "rule", at(i)));
  const counts = new Map<string, number>();
  const b = await timed(SIGNALS, (i) => counts.set(ruleIds[i % RULES], (counts.get(ruleIds[i % RULES]) ?? 0) + 1));

  // Through the trigger: normalise the signal message, then the guard.
  const settings = readTriggerSettings({ onRuleAutoDisabled: true, pollInterval: 0 });
  let t = start;
  const runtime = new TriggerRuntime(settings, {
    context: memoryContext(),
    send: () => undefined,
    status: () => undefined,
    reportError: () => undefined,
    uiUrl: () => undefined,
    now: () => t,
  });
  const signal = modernInsight().signals![0];
  const messages = ruleIds.map((ruleId) => ({ topic: "signal", payload: { ...signal, ruleId } }));
  const SIG_EVENTS = QUICK ? 50_000 : 200_000;
  const r = await timed(SIG_EVENTS, (i) => {
    t = at(i * 5);
    return runtime.input(messages[i % RULES], () => undefined);
  });
  runtime.close();

  // Memory per rule with a full day of minute buckets (the worst case: a signal every minute for 24 h).
  const MEM_RULES = QUICK ? 200 : 1_000;
  const h0 = heap();
  const full = new RuleGuard();
  for (let minute = 0; minute < 24 * 60; minute++) {
    for (let k = 0; k < MEM_RULES; k++) full.signal(ruleIds[k % RULES] + `-${k}`, "rule", start + minute * 60_000);
  }
  const h1 = heap();
  const perRule = (h1 - h0) / MEM_RULES;
  const m0 = heap();
  const bare = new Map<string, number>();
  for (let k = 0; k < MEM_RULES; k++) bare.set(ruleIds[k % RULES] + `-${k}`, 1440);
  const m1 = heap();
  const barePerRule = (m1 - m0) / MEM_RULES;
  details.ruleGuard = { rules: RULES, guard: g, map: b, viaTrigger: r, memRules: MEM_RULES, perRule, barePerRule, tracked: full.tracked };
  keepAlive.push(full, bare);

  rows.push({ section: "Trigger cost", measure: `rule guard alone, ${RULES} rules, ${g.done.toLocaleString("en-US")} signals over a day`, value: `${fmt.rate(g.rate)} signals`, baseline: `Map counter: ${fmt.rate(b.rate)}`, ratio: g.rate / b.rate, aim: "report" });
  rows.push({ section: "Trigger cost", measure: `signals through the trigger (normalise + rule guard), ${r.done.toLocaleString("en-US")}`, value: `${fmt.rate(r.rate)} signals`, baseline: `rule guard alone: ${fmt.rate(g.rate)}`, ratio: r.rate / g.rate, aim: "report" });
  rows.push({ section: "Trigger cost", measure: "memory per rule, a full day of minute buckets", value: fmt.bytes(perRule), baseline: `one Map counter: ${fmt.bytes(barePerRule)}`, ratio: perRule / barePerRule, aim: "report" });
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const t0 = performance.now();
  await dedupe(rows, details);
  await dedupeAtCap(rows, details);
  const t1 = performance.now();
  await ruleGuard(rows, details);
  details.wallMs = { dedupe: Math.round(t1 - t0), ruleGuard: Math.round(performance.now() - t1) };
  process.stdout.write(`${JSON.stringify({ rows, details })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
