import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Insight } from "../../src/events/types";
import { modernInsight } from "./insights";

/**
 * A loopback HTTP server that behaves like the Cloud SIEM API (`/api/sec/v1`): Basic auth, the
 * `{data, errors}` envelope, `GET /insights` with `q=created:>=…` / `q=status:"closed" closed:>=…`
 * and offset paging (`limit` ≤ 50, `hasNextPage`), `GET /insights/{id}` by UUID or readableId,
 * `GET /rules` with paging, `PUT /{insights|signals}/{id}/enrichments/{name}`, scripted faults
 * (429 bursts with Retry-After, 401, HTML, 5xx), and a log of every request.
 */
export interface CseRequest {
  method: string;
  /** Path relative to the API root (`/insights`), decoded. */
  path: string;
  /** The path as sent, still percent-encoded. */
  rawPath: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** ms since epoch when the request arrived. */
  at: number;
  /** Requests open at the moment this one arrived, itself included. */
  concurrent: number;
}

export interface CseFault {
  status: number;
  body?: string | object;
  headers?: Record<string, string>;
}

export interface CseRuleFake {
  id: string;
  name: string;
  enabled: boolean;
  status: { status: string; message: string | null };
  [field: string]: unknown;
}

export interface CsePeer {
  /** The API root, `http://127.0.0.1:<port>/api/sec/v1`. */
  apiUrl: string;
  accessId: string;
  accessKey: string;
  requests: CseRequest[];
  /** Body of each enrichment PUT, keyed `insights/<id>/<name>` or `signals/<id>/<name>`. */
  enrichments: Map<string, unknown>;
  insights: Insight[];
  rules: CseRuleFake[];
  /** The highest number of requests open at once. */
  maxConcurrent: number;
  /** The most requests that arrived within any `windowMs` (inclusive of both ends). */
  maxArrivalsWithin(windowMs: number): number;
  /** Each request is held this long before it is answered (ms). */
  delayMs: number;
  /** Adds an Insight created at `created` (default now); returns it. */
  addInsight(created?: Date, overrides?: Partial<Insight>): Insight;
  /** Closes an Insight at `at` (default now). */
  closeInsight(id: string, at?: Date, resolution?: string): Insight;
  addRule(id: string, name?: string): CseRuleFake;
  /** Sets a rule's status (FAILED = automatically disabled; a hand-disabled rule is enabled:false, DISABLED). */
  setRuleStatus(id: string, status: string, message?: string | null, enabled?: boolean): void;
  /** The next requests are answered with these faults, one each, in order. */
  fail(...faults: CseFault[]): void;
  /** Every request gets this fault until cleared with `undefined`. */
  failAll(fault: CseFault | undefined): void;
  close(): Promise<void>;
}

/** CSE's own time form: UTC, no `Z`, microseconds. */
export function cseTime(date: Date): string {
  return date.toISOString().replace("Z", "").replace(/(\.\d{3})$/, "$1000");
}

function parseTime(value: string): number {
  return Date.parse(/Z$/.test(value) ? value : `${value}Z`);
}

interface Clause {
  field: string;
  op: string;
  value: string;
}

/** Splits `status:"closed" closed:>=2026-11-28T03:00:00` into clauses; throws on anything else. */
export function parseQuery(q: string): Clause[] {
  const clauses: Clause[] = [];
  const re = /\s*([A-Za-z.]+):(>=|<=|>|<)?("([^"]*)"|[^\s"]+)\s*/y;
  let index = 0;
  while (index < q.length) {
    re.lastIndex = index;
    const m = re.exec(q);
    if (!m) throw new Error(`cannot parse q at "${q.slice(index)}"`);
    clauses.push({ field: m[1], op: m[2] ?? "=", value: m[4] ?? m[3] });
    index = re.lastIndex;
  }
  return clauses;
}

const TIME_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/;

function matches(insight: Insight, clause: Clause): boolean {
  if (clause.field === "status") return clause.op === "=" && insight.status?.name === clause.value;
  if (clause.field === "created" || clause.field === "closed") {
    if (!TIME_FORM.test(clause.value)) throw new Error(`${clause.field} time "${clause.value}" is not in the API's form`);
    const raw = insight[clause.field];
    if (typeof raw !== "string") return false;
    const have = parseTime(raw);
    const want = parseTime(clause.value);
    switch (clause.op) {
      case ">=": return have >= want;
      case ">": return have > want;
      case "<=": return have <= want;
      case "<": return have < want;
      default: return have === want;
    }
  }
  throw new Error(`unsupported field ${clause.field}`);
}

export async function startCsePeer(options: { accessId?: string; accessKey?: string } = {}): Promise<CsePeer> {
  const accessId = options.accessId ?? "suABCDEF123456";
  const accessKey = options.accessKey ?? "cse-secret-key-0123456789";
  const expectedAuth = `Basic ${Buffer.from(`${accessId}:${accessKey}`).toString("base64")}`;
  const faults: CseFault[] = [];
  let faultAll: CseFault | undefined;
  let open = 0;
  let counter = 0;

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { "Content-Type": typeof body === "string" ? "text/html" : "application/json", ...headers });
    res.end(text);
  };
  const ok = (res: http.ServerResponse, data: unknown) => send(res, 200, { data, errors: [] });
  const error = (res: http.ServerResponse, status: number, code: string, message: string) =>
    send(res, status, { data: null, errors: [{ code, message }] });

  const page = (res: http.ServerResponse, query: Record<string, string>, all: unknown[]) => {
    const limit = query.limit === undefined ? 20 : Number(query.limit);
    const offset = query.offset === undefined ? 0 : Number(query.offset);
    if (!Number.isInteger(limit) || limit < 1 || limit > 50) return error(res, 400, "InvalidLimit", "limit must be between 1 and 50");
    if (!Number.isInteger(offset) || offset < 0) return error(res, 400, "InvalidOffset", "offset must be >= 0");
    const objects = all.slice(offset, offset + limit);
    ok(res, { objects, hasNextPage: offset + limit < all.length, total: all.length });
  };

  const peer: CsePeer = {
    apiUrl: "",
    accessId,
    accessKey,
    requests: [],
    enrichments: new Map(),
    insights: [],
    rules: [],
    maxConcurrent: 0,
    maxArrivalsWithin(windowMs) {
      const at = peer.requests.map((r) => r.at).sort((a, b) => a - b);
      let most = 0;
      for (let first = 0, last = 0; last < at.length; last++) {
        while (at[last] - at[first] > windowMs) first++;
        most = Math.max(most, last - first + 1);
      }
      return most;
    },
    delayMs: 0,
    addInsight(created = new Date(), overrides = {}) {
      counter++;
      const base = modernInsight({}, 2);
      const insight: Insight = {
        ...base,
        id: `8e1b2f3c-0000-4000-8000-${String(counter).padStart(12, "0")}`,
        readableId: `INSIGHT-${1000 + counter}`,
        created: cseTime(created),
        ...overrides,
      };
      peer.insights.push(insight);
      return insight;
    },
    closeInsight(id, at = new Date(), resolution = "Resolved") {
      const insight = peer.insights.find((i) => i.id === id || i.readableId === id);
      if (!insight) throw new Error(`no Insight ${id}`);
      insight.status = { name: "closed", displayName: "Closed" };
      insight.closed = cseTime(at);
      insight.closedBy = "analyst@example.com";
      insight.resolution = resolution;
      return insight;
    },
    addRule(id, name = `Rule ${id}`) {
      const rule: CseRuleFake = { id, name, enabled: true, ruleType: "match", status: { status: "ACTIVE", message: null } };
      peer.rules.push(rule);
      return rule;
    },
    setRuleStatus(id, status, message = null, enabled) {
      const rule = peer.rules.find((r) => r.id === id);
      if (!rule) throw new Error(`no rule ${id}`);
      rule.status = { status, message };
      rule.enabled = enabled ?? (status !== "FAILED" && status !== "DISABLED");
    },
    fail(...list) {
      faults.push(...list);
    },
    failAll(fault) {
      faultAll = fault;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };

  const handle = (req: http.IncomingMessage, res: http.ServerResponse, body: string, record: CseRequest) => {
    const fault = faults.shift() ?? faultAll;
    if (fault) return send(res, fault.status, fault.body ?? { data: null, errors: [{ code: "Fault", message: `HTTP ${fault.status}` }] }, fault.headers);
    if (req.headers.authorization !== expectedAuth) return error(res, 401, "Unauthorized", "Unauthorized");
    const { method, path, query } = record;
    if (method === "GET" && path === "/insights") {
      let clauses: Clause[] = [];
      try {
        clauses = query.q ? parseQuery(query.q) : [];
        const found = peer.insights
          .filter((insight) => clauses.every((c) => matches(insight, c)))
          .sort((a, b) => parseTime(String(b.created)) - parseTime(String(a.created))); // newest first
        return page(res, query, found);
      } catch (err) {
        return error(res, 400, "InvalidQuery", (err as Error).message);
      }
    }
    const byId = /^\/insights\/([^/]+)$/.exec(path);
    if (method === "GET" && byId) {
      const insight = peer.insights.find((i) => i.id === byId[1] || i.readableId === byId[1]);
      return insight ? ok(res, insight) : error(res, 404, "NotFound", `Insight ${byId[1]} not found`);
    }
    if (method === "GET" && path === "/rules") return page(res, query, peer.rules);
    const enrichment = /^\/(insights|signals)\/([^/]+)\/enrichments\/([^/]+)$/.exec(path);
    if (method === "PUT" && enrichment) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return error(res, 400, "InvalidJson", "body is not JSON");
      }
      peer.enrichments.set(`${enrichment[1]}/${enrichment[2]}/${enrichment[3]}`, parsed);
      return ok(res, { name: enrichment[3], ...(parsed as object) });
    }
    return error(res, 404, "NotFound", `no route ${method} ${path}`);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      open++;
      peer.maxConcurrent = Math.max(peer.maxConcurrent, open);
      const url = new URL(req.url ?? "/", "http://peer");
      const query: Record<string, string> = {};
      url.searchParams.forEach((v, k) => (query[k] = v));
      const root = "/api/sec/v1";
      const path = decodeURIComponent(url.pathname.startsWith(root) ? url.pathname.slice(root.length) : url.pathname);
      const record: CseRequest = {
        method: req.method ?? "GET",
        path,
        rawPath: url.pathname,
        query,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
        concurrent: open,
      };
      peer.requests.push(record);
      const answer = () => {
        res.on("close", () => open--);
        handle(req, res, record.body, record);
      };
      if (peer.delayMs > 0) setTimeout(answer, peer.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  peer.apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/sec/v1`;
  return peer;
}
