/**
 * The one loopback HTTP(S) peer for node tests: records every request (method, url, headers, raw body) and
 * answers from a script. Steps are used in order; the last one repeats. Works for any HTTP target.
 */
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";

export interface PeerRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** Lower-case names. */
  headers: http.IncomingHttpHeaders;
  /** Exact bytes received. */
  raw: Buffer;
  /** `raw` as UTF-8. */
  body: string;
  /** `body` parsed as JSON, when it is JSON. */
  json?: any;
  /** Time (ms since the peer started) the request finished arriving. */
  at: number;
}

export interface PeerStep {
  /** Default 200. */
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as is; an object as JSON. Default empty. */
  body?: string | object;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (the client must time out or abort). */
  hang?: boolean;
  /** Destroy the connection without an answer. */
  reset?: boolean;
}

export interface HttpPeerOptions {
  /** Serve HTTPS with this key/cert (and optionally demand a client certificate). */
  tls?: { key: string; cert: string; ca?: string; requestCert?: boolean };
}

export interface HttpPeer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  requests: PeerRequest[];
  /** Replaces the script. */
  script(...steps: PeerStep[]): void;
  /** Resolves when at least `count` requests have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<PeerRequest[]>;
  /** Connections currently open (hung requests included). */
  openConnections(): number;
  close(): Promise<void>;
}

export async function startHttpPeer(options: HttpPeerOptions = {}): Promise<HttpPeer> {
  const started = Date.now();
  let steps: PeerStep[] = [{ status: 200, body: "ok" }];
  let next = 0;
  const requests: PeerRequest[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = raw.toString("utf8");
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, raw, body, json, at: Date.now() - started });
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      const step = steps[Math.min(next, steps.length - 1)];
      next++;
      if (step.hang) return;
      if (step.reset) {
        req.socket.destroy();
        return;
      }
      const answer = () => {
        const text = step.body === undefined ? "" : typeof step.body === "string" ? step.body : JSON.stringify(step.body);
        const headers: Record<string, string> = {
          "Content-Type": typeof step.body === "object" ? "application/json" : "text/plain; charset=utf-8",
          ...step.headers,
        };
        res.writeHead(step.status ?? 200, headers);
        res.end(text);
      };
      if (step.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, step.delayMs);
        timers.add(timer);
      } else answer();
    });
  };

  const server = options.tls
    ? https.createServer(
        { key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: options.tls.requestCert, rejectUnauthorized: !!options.tls.requestCert },
        handler,
      )
    : http.createServer(handler);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    requests,
    script(...newSteps: PeerStep[]) {
      steps = newSteps.length ? newSteps : [{ status: 200, body: "ok" }];
      next = 0;
    },
    waitForRequests(count: number, timeoutMs = 10_000) {
      if (requests.length >= count) return Promise.resolve(requests);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`peer saw ${requests.length} of ${count} requests`)), timeoutMs);
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(requests);
          },
        });
      });
    },
    openConnections: () => [...sockets].filter((s) => !s.destroyed).length,
    close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
