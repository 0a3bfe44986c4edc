/** HTTP POST v2: the Insight JSON (as the API returns it, shaped by the node's options) to any URL (notes/targets.md §12). */
import { checkUrl } from "../delivery/http";
import { headerSafeKey, idempotencyKeyOf } from "../delivery/idempotency";
import type { Insight } from "../events/types";
import { fullJson, type FullJsonOptions, keepsWholeInsight } from "../render/full-json";
import { type AcceptedMessage, ConfigError, type DeliveryEvent, type HttpRequest, type Target } from "./types";

/** CSE's own allow-list of destination ports. */
export const DEFAULT_ALLOWED_PORTS: readonly number[] = [80, 8080, 443, 8443, 8000];

export interface HttpPostConfig extends FullJsonOptions {
  url: string;
  /** Extra headers from the node's "Name: value" lines. */
  headers: Record<string, string>;
  username?: string;
  password?: string;
  /** Destination ports allowed (setting `cseHttpPostAllowedPorts`, else DEFAULT_ALLOWED_PORTS). */
  allowedPorts: readonly number[];
}

/** The destination port of a URL: explicit, or the scheme's default. */
export function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/** The allowed ports from the setting's value; anything but an array of port numbers means the default list. */
export function allowedPortsFrom(setting: unknown): readonly number[] {
  if (!Array.isArray(setting)) return DEFAULT_ALLOWED_PORTS;
  const ports = setting.map(Number).filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
  return ports.length ? ports : DEFAULT_ALLOWED_PORTS;
}

/** Throws ConfigError("url", …) unless the URL's port is allowed. */
export function checkPort(url: URL, allowed: readonly number[]): void {
  const port = portOf(url);
  if (!allowed.includes(port)) {
    throw new ConfigError(
      "url",
      `port ${port} is not allowed (allowed: ${allowed.join(", ")}; see the cseHttpPostAllowedPorts setting)`,
    );
  }
}

function basicAuth(username: string, password = ""): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/** The body: the payload as JSON, shaped by the options for an Insight. */
function bodyOf(event: DeliveryEvent, config: HttpPostConfig, accepted: AcceptedMessage | undefined): string | Buffer {
  const insight = event.topic.startsWith("insight.");
  // When the body is JSON.stringify(payload) anyway, the journal's copy of those bytes is it, with no serialising.
  const asAccepted = !insight || keepsWholeInsight(config) ? accepted?.acceptedPayloadJson?.() : undefined;
  if (asAccepted) return asAccepted;
  return insight ? fullJson(event.payload as Insight, config) : JSON.stringify(event.payload);
}

export function httpPostRequest(event: DeliveryEvent, config: HttpPostConfig, accepted?: AcceptedMessage): HttpRequest {
  const body = bodyOf(event, config, accepted);
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  for (const [name, value] of Object.entries(config.headers)) {
    if (name.toLowerCase() !== "idempotency-key") headers[name] = value;
  }
  // Delivery is at-least-once: the same key on every attempt and replay lets the receiver drop repeats.
  headers["Idempotency-Key"] = headerSafeKey(idempotencyKeyOf(event));
  if (config.username) headers.Authorization = basicAuth(config.username, config.password);
  return { method: "POST", url: config.url, headers, body };
}

export const httpPostTarget: Target<HttpPostConfig> = {
  name: "the receiver",
  secrets: (c) =>
    [c.password, c.username && c.password ? basicAuth(c.username, c.password).slice(6) : undefined].filter(
      (s): s is string => !!s,
    ),
  validate(c) {
    checkPort(checkUrl(c.url, "url"), c.allowedPorts);
  },
  request: httpPostRequest,
};
