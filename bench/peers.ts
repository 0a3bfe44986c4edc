/**
 * The bench's loopback peers, in their own process so they do not share Node-RED's event loop:
 * - the sink: a keep-alive HTTP server that only counts requests, bytes and arrival times (it can be
 *   taken down and brought back on the same port, or made slow);
 * - the fan-out peers: the project's own fakes (test/fakes) for every target kind;
 * - the Recorded Future peer.
 * Driven over IPC by bench/index.ts (see PeersClient in bench/lib.ts). Listens on 127.0.0.1 only.
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { startAwsQueryPeer, type AwsQueryPeer } from "../test/fakes/aws-query-peer";
import { startHttpPeer, type HttpPeer } from "../test/fakes/http-peer";
import { startRfPeer, type RfPeer } from "../test/fakes/rf-peer";
import { startSmtpPeer, type SmtpPeer } from "../test/fakes/smtp-peer";

/** Monotonic clock in ms; CLOCK_MONOTONIC is system-wide on Linux, so every bench process shares it. */
const clock = () => Number(process.hrtime.bigint()) / 1e6;

const OK_BODY = '{"ok":true}';
const ID = /"id":"([^"]+)"/;

class Sink {
  port = 0;
  count = 0;
  bytes = 0;
  first = 0;
  last = 0;
  /** [insight id, arrival ms] when recording ids (latency runs). */
  arrivals: [string, number][] = [];
  recordIds = false;
  /** A slow receiver: each answer waits this long (the failover run). */
  delayMs = 0;
  /** Ids of requests that arrived in full but whose sender was gone before the answer. */
  aborted: string[] = [];
  /** Connections opened since the last reset (keep-alive clients open few). */
  opened = 0;
  private readonly sockets = new Set<Socket>();
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  private readonly server = http.createServer((req, res) => {
    let size = 0;
    let head = "";
    req.on("data", (chunk: Buffer) => {
      if (this.recordIds && head.length < 200) head += chunk.toString("utf8", 0, Math.min(chunk.length, 200));
      size += chunk.length;
    });
    req.on("end", () => (this.delayMs ? setTimeout(answer, this.delayMs) : answer()));
    const answer = () => {
      const id = this.recordIds ? (ID.exec(head)?.[1] ?? "?") : "";
      if (res.destroyed) {
        // The sender went away before the answer (killed): not delivered.
        this.aborted.push(id);
        return;
      }
      const at = clock();
      if (this.count === 0) this.first = at;
      this.count++;
      this.bytes += size;
      this.last = at;
      if (this.recordIds) this.arrivals.push([id, at]);
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": OK_BODY.length });
      res.end(OK_BODY);
      if (this.waiters.length) {
        for (const w of this.waiters.filter((x) => this.count >= x.n)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    };
  });

  constructor() {
    this.server.keepAliveTimeout = 30_000;
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      this.opened++;
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(this.port, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  reset(recordIds: boolean, delayMs = 0): void {
    this.delayMs = delayMs;
    this.aborted = [];
    this.count = 0;
    this.bytes = 0;
    this.first = 0;
    this.last = 0;
    this.arrivals = [];
    this.recordIds = recordIds;
    this.opened = 0;
  }

  /** Resolves when `n` requests have arrived, or after `timeoutMs` (the caller checks the count). */
  wait(n: number, timeoutMs: number): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push({ n, resolve: done });
    });
  }

  /** Stops listening and drops every connection: clients get ECONNREFUSED / ECONNRESET. */
  down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  connections(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    return this.down();
  }
}

interface FanoutPeers {
  http: Record<string, HttpPeer>;
  sns: AwsQueryPeer;
  smtp: SmtpPeer;
  rf: RfPeer;
}

const sink = new Sink();
let fanout: FanoutPeers | undefined;
let rf: RfPeer | undefined;

/** What each HTTP target kind's service answers on success. */
const HTTP_KINDS: Record<string, Parameters<HttpPeer["script"]>[0]> = {
  "cse-http-post": { status: 200, body: "ok" },
  "cse-slack": { status: 200, body: { ok: true, ts: "1764298800.000100" } },
  "cse-slack-webhook": { status: 200, body: "ok" },
  "cse-teams": { status: 202, body: "" },
  "cse-pagerduty": { status: 202, body: { status: "success", message: "Event processed", dedup_key: "k-1" } },
  "cse-hipchat": { status: 204 },
  "cse-xsoar": { status: 201, body: { id: "42" } },
};

async function startFanout(): Promise<Record<string, unknown>> {
  if (!fanout) {
    const httpPeers: Record<string, HttpPeer> = {};
    for (const [kind, answer] of Object.entries(HTTP_KINDS)) {
      const peer = await startHttpPeer();
      peer.script(answer);
      httpPeers[kind] = peer;
    }
    fanout = { http: httpPeers, sns: await startAwsQueryPeer(), smtp: await startSmtpPeer({ parse: false }), rf: await startRfPeer() };
  }
  return {
    http: Object.fromEntries(Object.entries(fanout.http).map(([k, p]) => [k, p.url])),
    sns: fanout.sns.url,
    smtp: { host: fanout.smtp.host, port: fanout.smtp.port },
    rf: { apiUrl: fanout.rf.apiUrl, token: fanout.rf.token },
  };
}

function fanoutCounts(): Record<string, number> {
  if (!fanout) return {};
  const counts: Record<string, number> = {};
  for (const [kind, peer] of Object.entries(fanout.http)) counts[kind] = peer.requests.length;
  counts["cse-sns"] = fanout.sns.publishes().length;
  counts["cse-email"] = fanout.smtp.received;
  counts["cse-recorded-future"] = fanout.rf.requests.length;
  return counts;
}

function fanoutReset(): void {
  if (!fanout) return;
  for (const peer of Object.values(fanout.http)) peer.requests.length = 0;
  fanout.sns.requests.length = 0;
  fanout.smtp.reset();
  fanout.rf.requests.length = 0;
}

async function startRf(known: { type: "ip" | "domain" | "hash"; value: string }[]): Promise<Record<string, unknown>> {
  if (!rf) rf = await startRfPeer();
  for (const k of known) rf.know(k.type, k.value, 75, 3);
  rf.requests.length = 0;
  return { apiUrl: rf.apiUrl, token: rf.token };
}

const ops: Record<string, (args: any) => unknown> = {
  startSink: () => sink.start(),
  sinkReset: (a: { recordIds?: boolean; delayMs?: number }) => sink.reset(!!a.recordIds, a.delayMs),
  sinkWait: async (a: { n: number; timeoutMs: number }) => {
    await sink.wait(a.n, a.timeoutMs);
    return { count: sink.count, bytes: sink.bytes, first: sink.first, last: sink.last, opened: sink.opened };
  },
  sinkStats: () => ({ count: sink.count, bytes: sink.bytes, first: sink.first, last: sink.last, connections: sink.connections() }),
  sinkArrivals: () => sink.arrivals,
  sinkAborted: () => sink.aborted,
  sinkDown: () => sink.down(),
  sinkUp: () => sink.start(),
  clock: () => clock(),
  startFanout: () => startFanout(),
  fanoutCounts: () => fanoutCounts(),
  fanoutReset: () => fanoutReset(),
  startRf: (a: { known: { type: "ip" | "domain" | "hash"; value: string }[] }) => startRf(a.known),
  rfAsked: () => ({ requests: rf?.requests.length ?? 0, asked: rf?.asked() ?? [] }),
};

async function closeAll(): Promise<void> {
  await Promise.allSettled([
    sink.close(),
    ...(fanout ? [...Object.values(fanout.http).map((p) => p.close()), fanout.sns.close(), fanout.smtp.close(), fanout.rf.close()] : []),
    ...(rf ? [rf.close()] : []),
  ]);
}

process.on("message", async (msg: { id: number; op: string; args?: unknown }) => {
  if (msg.op === "exit") {
    await Promise.race([closeAll(), new Promise((r) => setTimeout(r, 2000))]);
    process.exit(0);
  }
  try {
    const op = ops[msg.op];
    if (!op) throw new Error(`unknown op ${msg.op}`);
    const result = await op(msg.args ?? {});
    process.send!({ id: msg.id, result });
  } catch (err) {
    process.send!({ id: msg.id, error: String((err as Error)?.stack ?? err) });
  }
});
// The parent went away (crash, Ctrl-C): do not linger.
process.on("disconnect", () => process.exit(0));
process.send!({ ready: true });
