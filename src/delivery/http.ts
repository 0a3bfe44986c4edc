/**
 * The one HTTP client of every action node: undici, with keep-alive connections per node (./connections), no
 * redirects, text bodies, proxies (CONNECT tunnels for https) and the metadata guard on the resolved address.
 */
import net from "node:net";
import { buildConnector, type Dispatcher } from "undici";
import { ConfigError, type HttpAnswer, type HttpRequest, type TlsOptions } from "../targets/types";
import { Connections, type Connector } from "./connections";
import { codeOf } from "./classify";
import { checkHost, guardedLookup, isIpLiteral, isMetadataAddress } from "./guard";
import { ACCEPT_ENCODING, exchange, RequestCanceledError } from "./http-request";
import { proxyAuthorization, proxyOf, type ProxySettings, proxySettings, sameProxySettings, tunnelConnector } from "./proxy";

const USER_AGENT = "node-red-contrib-cse-actions";
const DEFAULT_ACCEPT = "application/json, text/plain, */*";

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

export interface HttpClientOptions {
  /** Read on every connection, so a changed setting takes effect without a restart. */
  allowMetadataAddresses?: () => boolean;
  /** Where HTTPS_PROXY / HTTP_PROXY / NO_PROXY are read, on every request (default process.env). */
  env?: Record<string, string | undefined>;
}

/** Failures that mean nothing accepted the connection: no one listening, no route, no such name (yet). */
const NOT_REACHED = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EHOSTDOWN", "ENETDOWN", "ENOTFOUND", "EAI_AGAIN"]);

/** How long `acceptsConnections` waits for the connection to open. */
const ACCEPT_CHECK_TIMEOUT_MS = 1000;

/** A node's URLs are few and fixed: more distinct ones than this (per-indicator look-ups) start the cache afresh. */
const MAX_ROUTES = 100;

interface Route {
  hostname: string;
  /** Check the host against the metadata guard before each request (see `route`). */
  checkUpFront: boolean;
  secure: boolean;
  /** Where the connection goes: the target, or the proxy for plain http through one. */
  origin: string;
  path: string;
  authorization: string | undefined;
  /** The proxy for this URL, if any (a CONNECT tunnel for https). */
  proxy: URL | undefined;
  /** The proxy settings this route was worked out with. */
  proxySettings: ProxySettings;
  /** Set for plain http through a proxy: the headers the proxy needs. */
  viaProxy?: { authorization: string | undefined; host: string };
}

/** One per node: owns the node's keep-alive connections; destroy() closes them all. */
export class HttpClient {
  private readonly allowMetadata: () => boolean;
  private readonly env: Record<string, string | undefined>;
  private readonly routes = new Map<string, Route>();
  private readonly lookup;
  private readonly pools = new Map<string, Connections>();
  private readonly tlsKeys = new WeakMap<TlsOptions, string>();
  private tlsCount = 0;
  /** The URL of the last request, if it reached no one (connection refused …). */
  private unreached: string | undefined;

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

  /** The connections made with these TLS options, direct or tunnelled through `tunnel` (https through a proxy). */
  private connections(tunnel: URL | undefined, tlsOptions: TlsOptions | undefined): Connections {
    const key = `${tunnel ? tunnel.href : ""}|${this.tlsKey(tlsOptions)}`;
    let pool = this.pools.get(key);
    if (!pool) {
      // No connect timeout of undici's own: the attempt's signal bounds the connection too.
      const connector = tunnel ? tunnelConnector(tunnel, tlsOptions) : (buildConnector({ ...tlsOptions, lookup: this.lookup, timeout: 0 }) as Connector);
      pool = new Connections(connector);
      this.pools.set(key, pool);
    }
    return pool;
  }

  /**
   * Where a URL's requests go, worked out once per URL (parsing, proxy, credentials) and kept while the proxy
   * settings stay as they were.
   */
  private route(href: string): Route {
    let route = this.routes.get(href);
    if (route && sameProxySettings(route.proxySettings, this.env, route.secure)) return route;
    const url = new URL(href);
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:") throw Object.assign(new Error(`Unsupported protocol ${url.protocol}`), { code: "ERR_BAD_REQUEST" });
    const settings = proxySettings(this.env, secure);
    const proxy = proxyOf(url, settings);
    const path = url.pathname + url.search;
    const literal = isIpLiteral(url.hostname);
    route = {
      hostname: url.hostname,
      // IP literals never reach `lookup`, and a proxy resolves the target's name itself: those are checked up
      // front (a literal that is not a metadata address needs no check: it cannot change).
      checkUpFront: literal ? isMetadataAddress(url.hostname) : proxy !== undefined,
      secure,
      origin: url.origin,
      path,
      // Credentials in the URL win over an Authorization header, as browsers and curl do.
      authorization: url.username || url.password ? basicAuth(url) : undefined,
      proxy,
      proxySettings: settings,
    };
    if (proxy && !secure) {
      // Plain http through a proxy: the whole URL goes to the proxy, which connects on our behalf.
      route.origin = proxy.origin;
      route.path = `${url.protocol}//${url.host}${path}`;
      route.viaProxy = { authorization: proxyAuthorization(proxy), host: url.host };
    }
    if (this.routes.size >= MAX_ROUTES) this.routes.clear();
    this.routes.set(href, route);
    return route;
  }

  /** Sends `req`; resolves with any HTTP answer, rejects on network errors, refusals and abort. */
  async request(req: HttpRequest, signal: AbortSignal): Promise<HttpAnswer> {
    const route = this.route(req.url);
    if (route.checkUpFront) {
      await checkHost(route.hostname, this.allowMetadata());
      if (signal.aborted) throw new RequestCanceledError();
    }
    const headers = new HeaderSet();
    headers.set("User-Agent", USER_AGENT);
    if (req.headers) for (const name of Object.keys(req.headers)) headers.set(name, req.headers[name]);
    headers.set("Accept", DEFAULT_ACCEPT, false);
    headers.set("Accept-Encoding", ACCEPT_ENCODING, false);
    if (route.authorization) headers.set("Authorization", route.authorization);
    let pool: Connections;
    if (route.viaProxy) {
      if (route.viaProxy.authorization) headers.set("Proxy-Authorization", route.viaProxy.authorization);
      headers.set("Host", route.viaProxy.host, false);
      pool = this.connections(undefined, undefined);
    } else pool = this.connections(route.proxy, route.secure ? req.tls : undefined);
    // undici writes Content-Length from the body it sends.
    const request: Dispatcher.DispatchOptions = { origin: route.origin, path: route.path, method: req.method ?? "POST", headers: headers.values, body: req.body };
    const connection = pool.take(route.origin);
    try {
      const answer = await exchange({ connection, request, signal });
      this.unreached = undefined;
      return answer;
    } catch (error) {
      this.unreached = NOT_REACHED.has(codeOf(error) ?? "") ? req.url : undefined;
      throw error;
    } finally {
      pool.give(route.origin, connection);
    }
  }

  /**
   * After a request that reached no one: whether its host accepts a TCP connection now (one is opened and closed
   * at once; nothing is sent on it). Undefined when there is nothing to check: the last request got an answer,
   * or a proxy stands in between (it would accept for the receiver), or the host is checked up front.
   */
  acceptsConnections(): Promise<boolean> | undefined {
    if (this.unreached === undefined) return undefined;
    let route: Route;
    try {
      route = this.route(this.unreached);
    } catch {
      return undefined;
    }
    if (route.proxy || route.viaProxy || route.checkUpFront) return undefined;
    const url = new URL(route.origin);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port) || (route.secure ? 443 : 80);
    return new Promise((resolve) => {
      const socket = net.connect({ host, port, lookup: this.lookup as any });
      const settle = (accepted: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(accepted);
      };
      const timer = setTimeout(() => settle(false), ACCEPT_CHECK_TIMEOUT_MS);
      socket.once("connect", () => settle(true));
      socket.once("error", () => settle(false));
    });
  }

  destroy(): void {
    for (const pool of this.pools.values()) pool.destroy();
    this.pools.clear();
  }
}

function basicAuth(url: URL): string {
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  return `Basic ${Buffer.from(`${decode(url.username)}:${decode(url.password)}`, "utf8").toString("base64")}`;
}

/** Characters a header value may not carry on the wire (C0 controls except HTAB, DEL, anything past U+00FF). */
const INVALID_VALUE_CHARS = /[^\t\x20-\x7e\x80-\xff]+/g;
const EDGE_BLANKS = /^[ \t]+|[ \t]+$/g;

/**
 * Request headers merged by case-insensitive name (the first spelling is kept; a later value replaces an
 * earlier one unless `overwrite` is false). Values are cleaned as they always were: characters a header cannot carry are
 * dropped and surrounding blanks trimmed, so an odd credential never throws inside the HTTP client.
 */
class HeaderSet {
  readonly values: Record<string, string> = {};
  private readonly names = new Map<string, string>();

  set(name: string, value: unknown, overwrite = true): void {
    if (value === undefined || value === null || value === false) return;
    const trimmed = name.trim();
    const lower = trimmed.toLowerCase();
    const existing = this.names.get(lower);
    if (existing === undefined) {
      this.names.set(lower, trimmed);
      this.values[trimmed] = clean(value);
    } else if (overwrite) this.values[existing] = clean(value);
  }
}

function clean(value: unknown): string {
  let text = String(value);
  INVALID_VALUE_CHARS.lastIndex = 0;
  if (INVALID_VALUE_CHARS.test(text)) text = text.replace(INVALID_VALUE_CHARS, "");
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(text.length - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) text = text.replace(EDGE_BLANKS, "");
  return text;
}
