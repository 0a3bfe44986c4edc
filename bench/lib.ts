/** Small pieces the bench sections share: the peers process, the Node-RED process, clocks, RSS, statistics. */
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

/** Monotonic ms, comparable across the bench's processes (CLOCK_MONOTONIC on Linux). */
export const clock = (): number => Number(process.hrtime.bigint()) / 1e6;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Every child process the bench started, so a crash or Ctrl-C can end them. */
const children = new Set<ChildProcess>();
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}
/**
 * Processes started by helpers that keep their child private (NodeRedProcess, RedisServer): how to kill each
 * (their kill9() sends SIGKILL at once, and only while the process runs, so a reused pid is never hit).
 * The returned function forgets it once it was stopped.
 */
const killers = new Set<() => void>();
export function killOnExit(kill: () => void): () => void {
  killers.add(kill);
  return () => killers.delete(kill);
}
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  for (const kill of killers) kill();
}

/** The peers process (bench/peers.ts) and a typed call over IPC. */
export class PeersClient {
  private readonly child: ChildProcess;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;

  constructor() {
    this.child = track(
      fork(path.join(__dirname, "peers.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }),
    );
    this.ready = new Promise((resolve, reject) => {
      this.child.once("exit", (code) => reject(new Error(`peers process exited (${code})`)));
      this.child.on("message", (msg: any) => {
        if (msg?.ready) return resolve();
        const waiter = this.pending.get(msg?.id);
        if (!waiter) return;
        this.pending.delete(msg.id);
        if (msg.error) waiter.reject(new Error(msg.error));
        else waiter.resolve(msg.result);
      });
    });
    this.child.on("exit", () => {
      for (const w of this.pending.values()) w.reject(new Error("peers process exited"));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  call<T = any>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, op, args });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.send({ id: 0, op: "exit" });
    await Promise.race([exited, sleep(3000)]);
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

/**
 * Runs an experiment (bench/experiments/) once the peers process is up, stops the peers however it ends, and
 * exits: 0 when it finished, 1 with the error printed when it threw.
 */
export function runExperiment(experiment: (peers: PeersClient) => Promise<void>): void {
  const peers = new PeersClient();
  peers.ready
    .then(() => experiment(peers))
    .finally(() => peers.stop())
    .then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
}

/**
 * The pid of a process this process started whose command line matches `name` (for children a helper keeps
 * private, e.g. redis-server, which sets its process title to "redis-server <host>:<port>").
 */
export function childPid(name: RegExp): number {
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(fs.readFileSync(`/proc/${entry}/stat`, "utf8").split(") ")[1].split(" ")[1]);
      if (ppid === process.pid && name.test(fs.readFileSync(`/proc/${entry}/cmdline`, "utf8"))) return Number(entry);
    } catch {
      // process went away
    }
  }
  throw new Error(`no child process matching ${name}`);
}

/** Resident set size of a process in bytes (VmRSS), 0 if it is gone. */
export function rssOf(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) of a process in ms. */
export function cpuMsOf(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // fields[11] = utime, fields[12] = stime (in clock ticks; 100 per second on Linux)
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/**
 * Waits until a process is (nearly) idle — under 5 % of a core over 200 ms — or `maxMs` passed, so one path's
 * leftovers (GC, closing sockets) do not run into the next path's timing.
 */
export async function settle(pid: number, maxMs = 3000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let before = cpuMsOf(pid);
  while (Date.now() < deadline) {
    await sleep(200);
    const now = cpuMsOf(pid);
    if (now - before <= 10) return;
    before = now;
  }
}

/** Samples a process's RSS every `everyMs` until stopped; keeps the peak. */
export function rssSampler(pid: number, everyMs = 50): { stop(): number; peak(): number; peakAt(): number } {
  let peak = rssOf(pid);
  let peakAt = clock();
  const sample = () => {
    const rss = rssOf(pid);
    if (rss > peak) {
      peak = rss;
      peakAt = clock();
    }
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
    peak: () => peak,
    peakAt: () => peakAt,
  };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** POSTs JSON to Node-RED (loopback) and returns the parsed JSON answer. */
export async function postJson<T = any>(url: string, body: unknown, timeoutMs = 120_000): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export async function getJson<T = any>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/**
 * The limit: a plain Node.js client with a keep-alive agent posting `count` bodies (built by `body(i)`)
 * with `concurrency` requests in flight, or paced at `rate` per second (one request per tick) when given.
 * Returns the time the first body was built, and when paced, each request's start time.
 */
export async function rawClient(opts: {
  url: string;
  count: number;
  concurrency: number;
  body: (i: number) => string;
  rate?: number;
  timeoutMs?: number;
}): Promise<{ t0: number; stamps: number[]; failures: number }> {
  const url = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const stamps: number[] = new Array(opts.count);
  let failures = 0;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const post = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const body = opts.body(i);
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          agent,
          headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode !== 200) failures++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        failures++;
        resolve();
      });
      req.end(body);
    });
  const t0 = clock();
  if (opts.rate) {
    const interval = 1000 / opts.rate;
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < opts.count && Date.now() < deadline; i++) {
      const due = t0 + i * interval;
      const wait = due - clock();
      if (wait > 0) await sleep(wait);
      stamps[i] = clock();
      inFlight.push(post(i));
    }
    await Promise.all(inFlight);
  } else {
    let next = 0;
    const worker = async () => {
      while (next < opts.count && Date.now() < deadline) await post(next++);
    };
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  }
  agent.destroy();
  return { t0, stamps, failures };
}

export const fmt = {
  rate: (n: number) => (Number.isFinite(n) ? `${Math.round(n).toLocaleString("en-US")}/s` : "n/a"),
  s: (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : "n/a"),
  ms: (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(2) : n.toFixed(1)} ms` : "n/a"),
  mb: (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(0)} MB` : "n/a"),
  bytes: (n: number) => (Number.isFinite(n) ? `${Math.round(n)} B` : "n/a"),
  ratio: (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : "n/a"),
};
