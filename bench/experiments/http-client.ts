/**
 * What the HTTP client costs above the bare transports, not part of `npm run bench`: CPU time per request of the
 * engine's HttpClient (on undici), a bare node:http loop with a keep-alive agent, and raw undici (request() on a
 * keep-alive Pool), posting the same ~10 KB Insight bodies to the bench sink in its own process, 4 in flight.
 * Run: node --import tsx bench/experiments/http-client.ts (N=… ROUNDS=… change the counts; ONLY=ours runs the
 * shipped client alone, e.g. under --cpu-prof).
 */
import http from "node:http";
import { Pool } from "undici";
import { HttpClient } from "../../src/delivery/http";
import { modernInsight } from "../../test/fakes/insights";
import { median, PeersClient, runExperiment } from "../lib";

const N = Number(process.env.N ?? 3000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CONCURRENCY = 4;

type Send = (url: string, body: string, signal: AbortSignal) => Promise<number>;

function ours(): Send {
  const client = new HttpClient();
  return async (url, body, signal) =>
    (await client.request({ method: "POST", url, headers: { "Content-Type": "application/json" }, body }, signal)).status;
}

function nodeHttp(): Send {
  const agent = new http.Agent({ keepAlive: true });
  return (url, body, signal) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          method: "POST",
          agent,
          signal,
          headers: { "User-Agent": "node-red-contrib-cse-actions", "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            Buffer.concat(chunks).toString("utf8");
            resolve(res.statusCode ?? 0);
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
}

/** undici's request() on one keep-alive pool per origin (its own connection management, parser in llhttp/wasm). */
function undici(): Send {
  const pools = new Map<string, Pool>();
  return async (url, body, signal) => {
    const u = new URL(url);
    let pool = pools.get(u.origin);
    if (!pool) pools.set(u.origin, (pool = new Pool(u.origin, { connections: CONCURRENCY })));
    const res = await pool.request({
      path: u.pathname + u.search,
      method: "POST",
      signal,
      headers: { "user-agent": "node-red-contrib-cse-actions", "content-type": "application/json" },
      body,
    });
    await res.body.text();
    return res.statusCode;
  };
}

async function run(send: Send, url: string, bodies: string[]): Promise<{ cpuUs: number; ms: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const i = next++;
        const controller = new AbortController();
        const status = await send(url, bodies[i], controller.signal);
        if (status !== 200) throw new Error(`status ${status}`);
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / bodies.length, ms: performance.now() - t0 };
}

async function main(peers: PeersClient): Promise<void> {
  const port = await peers.call<number>("startSink");
  const url = `http://127.0.0.1:${port}/`;
  const base = modernInsight();
  const bodies = Array.from({ length: N }, (_, i) => JSON.stringify({ ...base, id: `exp-${i}` }));
  const all: Record<string, Send> = { "HttpClient (as shipped)": ours(), "node:http, keep-alive agent": nodeHttp(), "undici Pool request()": undici() };
  const variants = process.env.ONLY === "ours" ? { "HttpClient (as shipped)": all["HttpClient (as shipped)"] } : all;
  const cpu: Record<string, number[]> = {};
  const rate: Record<string, number[]> = {};
  for (const send of Object.values(variants)) await run(send, url, bodies.slice(0, 500)); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, send] of Object.entries(variants)) {
      const res = await run(send, url, bodies);
      (cpu[name] ??= []).push(res.cpuUs);
      (rate[name] ??= []).push((N * 1000) / res.ms);
    }
  }
  const shipped = median(cpu["HttpClient (as shipped)"]);
  for (const name of Object.keys(variants)) {
    console.log(
      `${name.padEnd(32)} CPU ${median(cpu[name]).toFixed(0).padStart(5)} µs/request (${(median(cpu[name]) / shipped).toFixed(2)}× the shipped client's), ${median(rate[name]).toFixed(0)} requests/s`,
    );
  }
}

runExperiment(main);
