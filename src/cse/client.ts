import { setMaxListeners } from "node:events";
import { sleep } from "../delivery/backoff";
import { HttpClient } from "../delivery/http";
import { isInsightId } from "../events/insight";
import type { Insight } from "../events/types";
import { checkApiUrl } from "./api-url";
import { RateLimiter, type RequestLimiter } from "./rate-limiter";
import { defaultRetryPolicy, type RetryPolicy } from "./retry";

export type EnrichmentKind = "insights" | "signals";

/** A CSE rule as `GET /rules` lists it (only the fields we read are typed). */
export interface CseRule {
  id: string;
  name?: string;
  enabled?: boolean;
  status?: { status?: string; message?: string | null } | string | null;
  [field: string]: unknown;
}

export interface CseClientOptions {
  apiUrl: string;
  accessId: string;
  accessKey: string;
  /** Per attempt, ms (default 30 s). */
  timeoutMs?: number;
  /** Attempts for 408 / 429 / 5xx / network errors (default 5). */
  maxAttempts?: number;
  limiter?: RequestLimiter;
  retry?: RetryPolicy;
  /** Read per connection: may the tenant's API resolve to a cloud metadata address (`cseAllowMetadataAddresses`)? */
  allowMetadataAddresses?: () => boolean;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  signal?: AbortSignal;
}

/** An error answer of the CSE API (or no answer at all). Never carries the access key. */
export class CseApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
    readonly retryable = false,
    readonly retryAfter?: string,
  ) {
    super(message);
    this.name = "CseApiError";
  }
}

export class CseNotFoundError extends CseApiError {
  constructor(message: string) {
    super(message, 404, "NotFound");
    this.name = "CseNotFoundError";
  }
}

const PAGE_SIZE = 50;
/** Stops a tenant that always says `hasNextPage` from looping for ever (10,000 objects). */
const MAX_PAGES = 200;

function encodeQuery(query: Record<string, string | number | undefined>): string {
  const parts = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

function firstApiError(body: unknown): { message?: string; code?: string } {
  const errors = (body as { errors?: unknown })?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return {};
  const first = errors[0] as { message?: unknown; code?: unknown };
  return {
    message: typeof first?.message === "string" ? first.message.slice(0, 300) : undefined,
    code: typeof first?.code === "string" ? first.code : undefined,
  };
}

/**
 * One client per `cse-tenant`: Basic auth, the `{data, errors}` envelope, CSE's rate limits
 * (≤ 4 request starts per second, ≤ 10 in flight) for every node sharing the tenant, retries of
 * 408/429/5xx and network errors, and `close()` aborting everything in flight.
 */
export class CseClient {
  readonly apiUrl: string;
  readonly limiter: RequestLimiter;
  private readonly authorization: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly retry: RetryPolicy;
  private readonly http: HttpClient;
  private readonly closing = new AbortController();

  constructor(options: CseClientOptions) {
    this.apiUrl = checkApiUrl(options.apiUrl);
    if (!options.accessId) throw new Error("Access ID is missing: set it in the Cloud SIEM tenant");
    if (!options.accessKey) throw new Error("Access Key is missing: set it in the Cloud SIEM tenant");
    this.authorization = `Basic ${Buffer.from(`${options.accessId}:${options.accessKey}`).toString("base64")}`;
    this.timeoutMs = options.timeoutMs ?? 30000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.limiter = options.limiter ?? new RateLimiter();
    this.retry = options.retry ?? defaultRetryPolicy;
    this.http = new HttpClient({ allowMetadataAddresses: options.allowMetadataAddresses });
    setMaxListeners(0, this.closing.signal); // one listener per request in flight
  }

  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** Aborts every request in flight or waiting for a slot; the client cannot be used afterwards. */
  close(): void {
    if (this.closed) return;
    const reason = new Error("Cloud SIEM client closed");
    reason.name = "AbortError";
    this.closing.abort(reason); // rejects this client's requests waiting in a (possibly shared) limiter too
    this.http.destroy();
  }

  /** One API call with limits and retries; resolves to the envelope's `data`. */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const signal = options.signal ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal;
    const what = `Cloud SIEM API ${method} ${path}`;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw signal.reason;
      const release = await this.limiter.acquire(signal);
      let result: { data: T } | CseApiError;
      try {
        result = await this.attempt<T>(method, path, options, signal, what);
      } finally {
        release();
      }
      if (!(result instanceof CseApiError)) return result.data;
      if (signal.aborted) throw signal.reason;
      if (!result.retryable || attempt >= this.maxAttempts) {
        if (result.retryable && attempt > 1) result.message += ` (after ${attempt} attempts)`;
        throw result;
      }
      const wait = this.retry.delayMs(attempt, result.retryAfter);
      if (wait === undefined) {
        result.message += ` (Retry-After ${result.retryAfter} is too long to wait)`;
        throw result;
      }
      await sleep(wait, signal);
    }
  }

  private async attempt<T>(
    method: string,
    path: string,
    options: RequestOptions,
    signal: AbortSignal,
    what: string,
  ): Promise<{ data: T } | CseApiError> {
    let answer;
    try {
      answer = await this.http.request(
        {
          method: method as "GET" | "PUT" | "POST",
          url: `${this.apiUrl}${path}${encodeQuery(options.query ?? {})}`,
          headers: {
            Authorization: this.authorization,
            Accept: "application/json",
            ...(options.body !== undefined ? { "Content-Type": "application/json" } : {}),
          },
          body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        },
        AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]),
      );
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const e = err as { code?: string; name?: string; message?: string };
      const timedOut = e.name === "TimeoutError" || e.code === "ECONNABORTED" || e.code === "ETIMEDOUT" || e.code === "ERR_CANCELED";
      const reason = timedOut ? `no answer within ${this.timeoutMs} ms` : (e.code ?? e.message ?? "network error");
      const permanent = e.name === "MetadataAddressError" || e.code === "ECSEMETADATA";
      return new CseApiError(`${what} failed: ${permanent ? e.message : reason}`, undefined, e.code, !permanent);
    }
    return this.interpret<T>(answer.status, answer.headers, answer.body, what);
  }

  private interpret<T>(status: number, headers: Record<string, unknown>, raw: unknown, what: string): { data: T } | CseApiError {
    const text = typeof raw === "string" ? raw : "";
    const contentType = String(headers["content-type"] ?? "");
    let body: unknown;
    let parsed = false;
    if (text.trim() !== "") {
      try {
        body = JSON.parse(text);
        parsed = true;
      } catch {
        parsed = false;
      }
    }
    const api = firstApiError(body);
    const detail = api.message ? `: ${api.message}` : "";
    const retryAfter = headers["retry-after"] === undefined ? undefined : String(headers["retry-after"]);
    if (status >= 200 && status < 300) {
      if (!parsed || typeof body !== "object" || body === null) {
        const kind = /html/i.test(contentType) || /^\s*</.test(text) ? "an HTML page" : text.trim() === "" ? "an empty body" : "something that is not JSON";
        return new CseApiError(`${what} answered HTTP ${status} with ${kind} instead of JSON: check the tenant's API URL (it ends in /api/sec/v1)`, status, "NotJson");
      }
      if (!("data" in body) && api.message) return new CseApiError(`${what} failed${detail}`, status, api.code);
      return { data: (body as { data: T }).data };
    }
    if (status >= 300 && status < 400) {
      let where = "elsewhere";
      try {
        where = new URL(String(headers.location ?? ""), this.apiUrl).host || where;
      } catch {
        /* keep "elsewhere" */
      }
      return new CseApiError(`${what} was redirected to ${where} (HTTP ${status}): check the tenant's API URL and region`, status, "Redirect");
    }
    if (status === 401 || status === 403) {
      return new CseApiError(`${what} was refused (HTTP ${status}${detail}): check the access key / Cloud SIEM role`, status, api.code ?? (status === 401 ? "Unauthorized" : "Forbidden"));
    }
    if (status === 404) return new CseNotFoundError(`${what}: not found (HTTP 404)${detail}`);
    const retryable = status === 408 || status === 429 || status >= 500;
    const htmlNote = !parsed && /html/i.test(contentType) ? " (an HTML page, not the API)" : "";
    return new CseApiError(`${what} failed: HTTP ${status}${detail}${htmlNote}`, status, api.code, retryable, retryAfter);
  }

  /** `GET /insights/{id}` by UUID or `INSIGHT-123`; an unknown id fails with "Insight <id> was not found". */
  async getInsight(id: string, signal?: AbortSignal): Promise<Insight> {
    const trimmed = typeof id === "string" ? id.trim() : "";
    if (!isInsightId(trimmed)) {
      throw new Error(`"${String(id).slice(0, 80)}" is not an Insight ID: use INSIGHT-123 or the Insight's UUID`);
    }
    try {
      const insight = await this.request<Insight>("GET", `/insights/${encodeURIComponent(trimmed)}`, { signal });
      if (!insight || typeof insight !== "object") throw new CseApiError(`Cloud SIEM API GET /insights/${trimmed} answered without an Insight`);
      return insight;
    } catch (err) {
      if (err instanceof CseNotFoundError) throw new CseNotFoundError(`Insight ${trimmed} was not found in the Cloud SIEM tenant`);
      throw err;
    }
  }

  /** Every page of `GET <path>?q=…&limit=50&offset=n` while `data.hasNextPage`. */
  private async listAll<T>(path: string, q: string | undefined, signal?: AbortSignal): Promise<T[]> {
    const objects: T[] = [];
    for (let page = 0, offset = 0; page < MAX_PAGES; page++) {
      const data = await this.request<{ objects?: T[]; hasNextPage?: boolean }>("GET", path, {
        query: { q, limit: PAGE_SIZE, offset },
        signal,
      });
      const batch = Array.isArray(data?.objects) ? data.objects : [];
      objects.push(...batch);
      if (!data?.hasNextPage || batch.length === 0) break;
      offset += batch.length;
    }
    return objects;
  }

  /** All Insights matching the `q=` query (CSE's query language), 50 per page. */
  listInsights(q: string, signal?: AbortSignal): Promise<Insight[]> {
    return this.listAll<Insight>("/insights", q, signal);
  }

  /** All rules, 50 per page. */
  listRules(signal?: AbortSignal): Promise<CseRule[]> {
    return this.listAll<CseRule>("/rules", undefined, signal);
  }

  /** Creates or replaces the enrichment `name` on an Insight or a Signal. */
  async putEnrichment(kind: EnrichmentKind, id: string, name: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    if (kind !== "insights" && kind !== "signals") throw new Error(`enrichment kind must be "insights" or "signals", got "${String(kind)}"`);
    return this.request("PUT", `/${kind}/${encodeURIComponent(id)}/enrichments/${encodeURIComponent(name)}`, { body, signal });
  }

  /** A cheap authenticated call: one Insight at most. */
  async testConnection(signal?: AbortSignal): Promise<{ total?: number }> {
    const data = await this.request<{ total?: number }>("GET", "/insights", { query: { limit: 1 }, signal });
    return { total: typeof data?.total === "number" ? data.total : undefined };
  }
}
