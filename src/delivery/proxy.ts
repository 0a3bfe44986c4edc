/**
 * Proxies from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (lower-case names too, which win), and CONNECT tunnels
 * through them: an undici connector for the HTTP client, an https agent for the AWS SDK.
 */
import http from "node:http";
import https from "node:https";
import net, { type Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { buildConnector } from "undici";
import type { TlsOptions } from "../targets/types";
import type { Connecting, Connector } from "./connections";

type Env = Record<string, string | undefined>;

function trimmed(value: string | undefined): string | undefined {
  return value && value.trim() ? value.trim() : undefined;
}

function defaultPort(protocol: string): number {
  return protocol === "https:" ? 443 : 80;
}

/** True when NO_PROXY says `target` goes direct: `*`, a host, `.domain` / `domain` (with subdomains), `host:port`. */
export function bypassesProxy(target: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = target.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = Number(target.port) || defaultPort(target.protocol);
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((raw) => {
      if (raw === "*") return true;
      let entry = raw.toLowerCase();
      let entryPort: number | undefined;
      const portMatch = /^(.*[^:]):(\d+)$/.exec(entry);
      if (portMatch && !net.isIPv6(entry.replace(/^\[|\]$/g, ""))) {
        entry = portMatch[1];
        entryPort = Number(portMatch[2]);
      }
      entry = entry.replace(/^\[|\]$/g, "").replace(/^\*?\./, ".");
      if (entryPort !== undefined && entryPort !== port) return false;
      if (entry.startsWith(".")) return host.endsWith(entry) || host === entry.slice(1);
      return host === entry || host.endsWith(`.${entry}`);
    });
}

/** The proxy settings that apply to a URL of one scheme, as read from the environment (not yet trimmed). */
export interface ProxySettings {
  proxy: string | undefined;
  noProxy: string | undefined;
}

/** The settings for `https:` (`secure`) or `http:` URLs in `env` as they are now; the lower-case names win. */
export function proxySettings(env: Env, secure: boolean): ProxySettings {
  return { proxy: secure ? (env.https_proxy ?? env.HTTPS_PROXY) : (env.http_proxy ?? env.HTTP_PROXY), noProxy: env.no_proxy ?? env.NO_PROXY };
}

/** True while `env` still holds `settings` (read without allocating: this runs for every request). */
export function sameProxySettings(settings: ProxySettings, env: Env, secure: boolean): boolean {
  return (
    settings.noProxy === (env.no_proxy ?? env.NO_PROXY) &&
    settings.proxy === (secure ? (env.https_proxy ?? env.HTTPS_PROXY) : (env.http_proxy ?? env.HTTP_PROXY))
  );
}

/** The proxy URL to use for `target`, or undefined for a direct connection. */
export function proxyFor(target: URL, env: Env = process.env): URL | undefined {
  return proxyOf(target, proxySettings(env, target.protocol === "https:"));
}

/** The proxy URL to use for `target` under `settings` (those for its scheme), or undefined. */
export function proxyOf(target: URL, settings: ProxySettings): URL | undefined {
  if (bypassesProxy(target, trimmed(settings.noProxy))) return undefined;
  const raw = trimmed(settings.proxy);
  if (!raw) return undefined;
  try {
    return new URL(raw.includes("://") ? raw : `http://${raw}`);
  } catch {
    return undefined;
  }
}

/** `Proxy-Authorization` for a proxy URL with credentials. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
}

/**
 * Opens a CONNECT tunnel through `proxy` to `host:port`: calls back with the raw socket once the proxy answers
 * 200, or with an `EPROXY` error (permanent for 403 and 407) when it refuses.
 */
function openTunnel(
  proxy: URL,
  target: { host: string; port: number; timeout?: number; signal?: AbortSignal },
  done: (err: Error | null, socket?: Duplex) => void,
): void {
  const { host, port } = target;
  const authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  const headers: Record<string, string> = { Host: authority };
  const auth = proxyAuthorization(proxy);
  if (auth) headers["Proxy-Authorization"] = auth;
  const request = (proxy.protocol === "https:" ? https : http).request({
    host: proxy.hostname.replace(/^\[|\]$/g, ""),
    port: Number(proxy.port) || defaultPort(proxy.protocol),
    method: "CONNECT",
    path: authority,
    headers,
    agent: false,
    timeout: target.timeout,
  });
  let settled = false;
  const fail = (err: Error) => {
    if (settled) return;
    settled = true;
    request.destroy();
    done(err);
  };
  request.once("connect", (response, socket) => {
    if (response.statusCode !== 200) {
      socket.destroy();
      const err: any = new Error(`proxy refused the tunnel: HTTP ${response.statusCode}`);
      err.code = "EPROXY";
      err.permanent = response.statusCode === 407 || response.statusCode === 403;
      return fail(err);
    }
    settled = true;
    done(null, socket);
  });
  request.once("error", fail);
  request.once("timeout", () => fail(Object.assign(new Error("proxy did not answer CONNECT"), { code: "ETIMEDOUT" })));
  target.signal?.addEventListener?.("abort", () => fail(new Error("aborted")), { once: true });
  request.end();
}

/**
 * An undici connector whose connections are TLS sessions (with `tlsOptions`) inside a CONNECT tunnel through
 * `proxy`; the connections are pooled like any others. It returns a handle that gives the attempt up.
 */
export function tunnelConnector(proxy: URL, tlsOptions: TlsOptions | undefined): Connector {
  const connectTls = buildConnector({ ...tlsOptions, timeout: 0 });
  return (options, callback) => {
    const giveUp = new AbortController();
    let secure: Connecting | undefined;
    openTunnel(proxy, { host: options.hostname, port: Number(options.port) || 443, signal: giveUp.signal }, (err, socket) => {
      if (err) return callback(err, null);
      secure = connectTls({ ...options, protocol: "https:", httpSocket: socket as Socket }, callback) as Connecting | undefined;
    });
    return {
      destroy(error?: Error) {
        giveUp.abort(error);
        secure?.destroy(error);
      },
    };
  };
}

/**
 * An https agent whose sockets are TLS sessions inside a CONNECT tunnel through `proxy` (for the AWS SDK's
 * node:https handler). Keep-alive pools the tunnelled sockets like any others.
 */
export class TunnelAgent extends https.Agent {
  constructor(
    private readonly proxy: URL,
    options: https.AgentOptions,
  ) {
    super(options);
  }

  override createConnection(options: any, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    const done = callback ?? (() => undefined);
    const host = String(options.host ?? options.hostname);
    const port = Number(options.port) || 443;
    openTunnel(this.proxy, { host, port, timeout: options.timeout, signal: options.signal }, (err, socket) => {
      if (err) return done(err, undefined as unknown as Duplex);
      done(null, tls.connect({ ...options, socket, servername: options.servername ?? (net.isIP(host) ? undefined : host) }));
    });
    return undefined;
  }
}
