import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback HTTP server that behaves like Recorded Future's `POST /v2/soar/enrichment`: checks
 * `X-RFToken`, answers each asked indicator it knows with a SOAR result (`entity`, `risk.score`,
 * `risk.level`, `risk.rule{count,maxCount,mostCritical,evidence}`), leaves unknown ones out, and records
 * every request. (The shared http-peer only plays fixed scripts; this one must answer per request body.)
 */
export interface RfRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json?: { ip?: string[]; domain?: string[]; hash?: string[] };
}

export interface RfFault {
  status: number;
  body?: string | object;
  headers?: Record<string, string>;
}

export interface RfPeer {
  /** `http://127.0.0.1:<port>/v2` */
  apiUrl: string;
  token: string;
  requests: RfRequest[];
  /** Every indicator asked for, over all requests, in order (repeats kept). */
  asked(): string[];
  /** Known indicators: `ip:1.2.3.4` / `domain:x.example` / `hash:<hex>` → risk. */
  know(type: "ip" | "domain" | "hash", value: string, score: number, level: number, rules?: number, mostCritical?: string): void;
  /** When nothing asked is known, answer 404 (as RF's single look-ups do) instead of an empty result list. */
  notFoundWhenEmpty: boolean;
  /** Each answer is held this long (ms), so that look-ups from several places overlap. */
  delayMs: number;
  fail(...faults: RfFault[]): void;
  close(): Promise<void>;
}

const RF_TYPE = { ip: "IpAddress", domain: "InternetDomainName", hash: "Hash" } as const;

export async function startRfPeer(token = "rf-token-abcdef0123456789"): Promise<RfPeer> {
  const known = new Map<string, { score: number; level: number; rules: number; mostCritical: string }>();
  const faults: RfFault[] = [];
  const peer: RfPeer = {
    apiUrl: "",
    token,
    requests: [],
    notFoundWhenEmpty: false,
    delayMs: 0,
    asked: () => peer.requests.flatMap((r) => [...(r.json?.ip ?? []).map((v) => `ip:${v}`), ...(r.json?.domain ?? []).map((v) => `domain:${v}`), ...(r.json?.hash ?? []).map((v) => `hash:${v}`)]),
    know(type, value, score, level, rules = 3, mostCritical = "Current C&C Server") {
      known.set(`${type}:${value}`, { score, level, rules, mostCritical });
    },
    fail: (...list) => void faults.push(...list),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (peer.delayMs > 0) return void setTimeout(() => answer(res, status, body, headers), peer.delayMs);
    answer(res, status, body, headers);
  };
  const answer = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string>) => {
    res.writeHead(status, { "Content-Type": typeof body === "string" ? "text/plain" : "application/json", ...headers });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: RfRequest["json"];
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      peer.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body, json });
      const fault = faults.shift();
      if (fault) return send(res, fault.status, fault.body ?? "", fault.headers);
      if (req.headers["x-rftoken"] !== token) return send(res, 401, { error: { status: 401, message: "Unauthorized" } });
      if (req.method !== "POST" || req.url !== "/v2/soar/enrichment") return send(res, 404, { error: { status: 404, message: "Not found" } });
      if (!json || typeof json !== "object") return send(res, 400, { error: { status: 400, message: "Invalid JSON" } });
      const results: unknown[] = [];
      for (const type of ["ip", "domain", "hash"] as const) {
        for (const value of json[type] ?? []) {
          const risk = known.get(`${type}:${value}`);
          if (!risk) continue;
          results.push({
            entity: { id: `${type === "domain" ? "idn" : type}:${value}`, name: value, type: RF_TYPE[type] },
            risk: {
              score: risk.score,
              level: risk.level,
              rule: {
                count: risk.rules,
                maxCount: 64,
                mostCritical: risk.mostCritical,
                summary: [],
                evidence: { recentCncServer: { count: 1, timestamp: "2026-11-27T10:00:00.000Z", description: `${value} seen as C&C`, rule: risk.mostCritical, sightings: 4, mitigation: "", level: risk.level } },
              },
            },
          });
        }
      }
      if (results.length === 0 && peer.notFoundWhenEmpty) return send(res, 404, { error: { status: 404, message: "Not found" } });
      send(res, 200, { data: { results }, counts: { returned: results.length } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  peer.apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
  return peer;
}
