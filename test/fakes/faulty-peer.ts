/**
 * Misbehaving peers for the reliability tests. `startFaultyPeer` is an HTTP(S) server that answers from a
 * script like http-peer does, plus the faults http-peer cannot play: a connection reset in the middle of an
 * answer (headers and part of the body sent, then the socket destroyed) and answers computed from the request
 * (to echo what the client sent back in an error body). `refusedPort` gives a port nobody listens on;
 * `startSilentPeer` accepts TCP connections and never says a word (an SMTP server that never greets).
 */
import http from "node:http";
import https from "node:https";
import net, { type AddressInfo, type Socket } from "node:net";

export interface FaultyRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface FaultStep {
  status?: number;
  headers?: Record<string, string>;
  /** A string as is, an object as JSON, a function of the request. */
  body?: string | object | ((req: FaultyRequest) => string);
  delayMs?: number;
  /** Never answer. */
  hang?: boolean;
  /** Destroy the connection before answering. */
  reset?: boolean;
  /** Send the status line, headers and half the body, then destroy the connection. */
  midReset?: boolean;
}

export interface FaultyPeerOptions {
  tls?: { key: string; cert: string; ca?: string; requestCert?: boolean };
  /** Count requests without keeping them (long soak runs). `requests` then stays empty. */
  countOnly?: boolean;
  /** Listen on this port (e.g. one a client was refused on), instead of a free one. */
  port?: number;
}

export interface FaultyPeer {
  url: string;
  port: number;
  requests: FaultyRequest[];
  /** TLS handshakes that failed (client refused our certificate, or we refused the client's). */
  tlsErrors: number;
  /** Requests received (also counted when `countOnly`). */
  count: number;
  /** Replaces the script; steps are used in order, the last one repeats. */
  script(...steps: FaultStep[]): void;
  /** Answers each request with the step `choose` picks (index = 0-based request number); replaces the script. */
  respond(choose: (req: FaultyRequest, index: number) => FaultStep): void;
  close(): Promise<void>;
}

function bodyText(step: FaultStep, req: FaultyRequest): string {
  if (step.body === undefined) return "";
  if (typeof step.body === "function") return step.body(req);
  return typeof step.body === "string" ? step.body : JSON.stringify(step.body);
}

export async function startFaultyPeer(options: FaultyPeerOptions = {}): Promise<FaultyPeer> {
  let steps: FaultStep[] = [{ status: 200, body: "ok" }];
  let next = 0;
  const requests: FaultyRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { tlsErrors: 0, count: 0 };
  let chooser: ((req: FaultyRequest, index: number) => FaultStep) | undefined;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const seen: FaultyRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      if (!options.countOnly) requests.push(seen);
      const step = chooser ? chooser(seen, state.count) : steps[Math.min(next, steps.length - 1)];
      state.count++;
      next++;
      if (step.hang) return;
      if (step.reset) {
        req.socket.destroy();
        return;
      }
      const answer = () => {
        const text = bodyText(step, seen);
        const type = typeof step.body === "object" ? "application/json" : "text/plain; charset=utf-8";
        if (step.midReset) {
          const full = text || "x".repeat(64);
          res.writeHead(step.status ?? 200, { "Content-Type": type, "Content-Length": String(Buffer.byteLength(full) * 2), ...step.headers });
          res.write(full.slice(0, Math.max(1, Math.floor(full.length / 2))));
          setImmediate(() => req.socket.destroy());
          return;
        }
        res.writeHead(step.status ?? 200, { "Content-Type": type, ...step.headers });
        res.end(text);
      };
      if (step.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!req.socket.destroyed) answer();
        }, step.delayMs);
        timers.add(timer);
      } else answer();
    });
  };

  const server = options.tls
    ? https.createServer(
        { key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: !!options.tls.requestCert, rejectUnauthorized: !!options.tls.requestCert },
        handler,
      )
    : http.createServer(handler);
  // Idle keep-alive connections stay open: a request is never written to a socket the peer is closing, so
  // every attempt a client makes reaches the peer (the soak counts them one for one).
  server.keepAliveTimeout = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  };
  server.on("connection", track);
  server.on("secureConnection", track);
  server.on("tlsClientError", () => state.tlsErrors++);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    requests,
    get tlsErrors() {
      return state.tlsErrors;
    },
    get count() {
      return state.count;
    },
    script(...newSteps: FaultStep[]) {
      steps = newSteps.length ? newSteps : [{ status: 200, body: "ok" }];
      next = 0;
      chooser = undefined;
    },
    respond(choose) {
      chooser = choose;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port that nothing listens on (bound, then released). */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface SilentPeer {
  host: string;
  port: number;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/** Accepts TCP connections and never writes or closes them (a server that hangs before its greeting). */
export async function startSilentPeer(): Promise<SilentPeer> {
  const sockets = new Set<Socket>();
  const state = { connections: 0 };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: "127.0.0.1",
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
