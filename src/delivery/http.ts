/**
 * The one HTTP client of every action node: axios with keep-alive agents, no redirects, text bodies,
 * proxies (CONNECT tunnels for https) and the metadata guard on the resolved address.
 */
import http from "node:http";
import https from "node:https";
import axios from "axios";
import { ConfigError, type HttpAnswer, type HttpRequest, type TlsOptions } from "../targets/types";
import { checkHost, guardedLookup, isIpLiteral } from "./guard";
import { proxyAuthorization, proxyFor, TunnelAgent } from "./proxy";

const USER_AGENT = "node-red-contrib-cse-actions";
/** Answers bigger than this are not read into memory. */
const MAX_ANSWER_BYTES = 10 * 1024 * 1024;

/** A request whose body is `body` as JSON. */
export function jsonRequest(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  method: HttpRequest["method"] = "POST",
): HttpRequest {
  return { method, url, headers: { "Content-Type": "application/json; charset=utf-8", ...headers }, body: JSON.stringify(body) };
}

/** True for a host on this machine: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Parses an http(s) URL from a config field, or throws ConfigError naming the field (never the URL).
 * `httpsOnly` refuses plain http, except to a loopback host when `allowLoopbackHttp` is set (local relays, tests).
 */
export function checkUrl(
  value: unknown,
  field: string,
  options: { httpsOnly?: boolean; allowLoopbackHttp?: boolean } = {},
): URL {
  if (typeof value !== "string" || !value.trim()) throw new ConfigError(field, "is required");
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new ConfigError(field, "is not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError(field, "must start with https:// or http://");
  if (options.httpsOnly && url.protocol !== "https:" && !(options.allowLoopbackHttp && isLoopbackHost(url.hostname))) {
    throw new ConfigError(field, options.allowLoopbackHttp ? "must start with https:// (plain http only to localhost)" : "must start with https://");
  }
  return url;
}

/** An https:// URL from a config field; plain http:// only to a loopback host (local relays, tests). */
export function checkSecureUrl(value: unknown, field: string): URL {
  return checkUrl(value, field, { httpsOnly: true, allowLoopbackHttp: true });
}

function flatHeaders(raw: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

export interface HttpClientOptions {
  /** Read on every connection, so a changed setting takes effect without a restart. */
  allowMetadataAddresses?: () => boolean;
  env?: Record<string, string | undefined>;
}

/** One per node: owns the node's agents; destroy() closes every pooled socket. */
export class HttpClient {
  private readonly allowMetadata: () => boolean;
  private readonly env: Record<string, string | undefined>;
  private readonly lookup;
  private readonly agents = new Map<string, http.Agent>();
  private readonly tlsKeys = new WeakMap<TlsOptions, string>();
  private tlsCount = 0;

  constructor(options: HttpClientOptions = {}) {
    this.allowMetadata = options.allowMetadataAddresses ?? (() => false);
    this.env = options.env ?? process.env;
    this.lookup = guardedLookup(this.allowMetadata);
  }

  private tlsKey(tlsOptions: TlsOptions | undefined): string {
    if (!tlsOptions) return "default";
    let key = this.tlsKeys.get(tlsOptions);
    if (!key) {
      key = `tls${++this.tlsCount}`;
      this.tlsKeys.set(tlsOptions, key);
    }
    return key;
  }

  private agent(url: URL, proxy: URL | undefined, tlsOptions: TlsOptions | undefined): http.Agent {
    const secure = url.protocol === "https:";
    const key = `${secure ? "https" : "http"}|${secure && proxy ? proxy.href : ""}|${secure ? this.tlsKey(tlsOptions) : ""}`;
    let agent: http.Agent | undefined = this.agents.get(key);
    if (!agent) {
      const base = { keepAlive: true, lookup: this.lookup as any };
      if (!secure) agent = new http.Agent(base);
      else if (proxy) agent = new TunnelAgent(proxy, { ...base, ...tlsOptions });
      else agent = new https.Agent({ ...base, ...tlsOptions });
      this.agents.set(key, agent as http.Agent);
    }
    return agent as http.Agent;
  }

  /** Sends `req`; resolves with any HTTP answer, rejects on network errors, refusals and abort. */
  async request(req: HttpRequest, signal: AbortSignal): Promise<HttpAnswer> {
    const url = new URL(req.url);
    const proxy = proxyFor(url, this.env);
    // IP literals never reach `lookup`, and a proxy resolves the target's name itself: check those up front.
    if (proxy || isIpLiteral(url.hostname)) await checkHost(url.hostname, this.allowMetadata());
    const agent = this.agent(url, proxy, req.tls);
    const plainProxy = proxy && url.protocol === "http:";
    const headers: Record<string, string> = { "User-Agent": USER_AGENT, ...req.headers };
    if (plainProxy) {
      const auth = proxyAuthorization(proxy);
      if (auth) headers["Proxy-Authorization"] = auth;
    }
    const response = await axios.request({
      url: req.url,
      method: req.method ?? "POST",
      headers,
      data: req.body,
      signal,
      validateStatus: () => true,
      maxRedirects: 0,
      responseType: "text",
      transformResponse: [(data: unknown) => data],
      responseEncoding: "utf8",
      maxContentLength: MAX_ANSWER_BYTES,
      maxBodyLength: Infinity,
      httpAgent: agent,
      httpsAgent: agent,
      proxy: plainProxy
        ? {
            protocol: proxy.protocol.replace(/:$/, ""),
            host: proxy.hostname.replace(/^\[|\]$/g, ""),
            port: Number(proxy.port) || (proxy.protocol === "https:" ? 443 : 80),
          }
        : false,
    });
    return {
      status: response.status,
      headers: flatHeaders(response.headers as Record<string, unknown>),
      body: typeof response.data === "string" ? response.data : response.data == null ? "" : String(response.data),
    };
  }

  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}
