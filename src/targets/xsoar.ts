import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { classifyHttp } from "../delivery/classify";
import { parseHeaderLines } from "../delivery/headers";
import { checkUrl } from "../delivery/http";
import { XSOAR_ENDPOINTS, xsoarBody, type XsoarEndpoint } from "../render/xsoar-incident";
import { ConfigError, type DeliveryEvent, type HttpAnswer, type HttpRequest, type Outcome, type Target, type TlsOptions } from "./types";

/** Cortex XSOAR (Demisto): create an incident, optionally over mutual TLS. */

export interface XsoarConfig {
  url: string;
  endpoint: XsoarEndpoint;
  extraHeaders: Record<string, string>;
  excludeRecords: boolean;
  apiKey: string;
  apiKeyId?: string;
  /** Client certificate / own CA; one object per node, so the engine keeps one agent for it. */
  tls?: TlsOptions;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function text(value: unknown): string {
  return typeof value === "string" ? value.trim() : "";
}

/** Node-RED password fields may turn line breaks into spaces or literal "\n": put a PEM back together. */
export function normalizePem(value: string | undefined): string {
  if (!value) return "";
  const pem = value.replace(/\\n/g, "\n").replace(/\r\n?/g, "\n").trim();
  return pem.replace(/(-----BEGIN [A-Z0-9 ]+-----)([\s\S]*?)(-----END [A-Z0-9 ]+-----)/g, (whole: string, begin: string, body: string, end: string) =>
    body.includes(":") ? whole : `${begin}\n${body.trim().replace(/\s+/g, "\n")}\n${end}`,
  );
}

function certificates(pem: string, field: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT);
  if (!blocks) throw new ConfigError(field, "is not a PEM certificate (no -----BEGIN CERTIFICATE----- block)");
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new ConfigError(field, `certificate ${i + 1} does not parse as PEM`);
    }
  });
}

function privateKey(pem: string): KeyObject {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new ConfigError("clientKey", "is encrypted; give the key without a passphrase");
  }
  try {
    return createPrivateKey(pem);
  } catch {
    throw new ConfigError("clientKey", "is not a PEM private key");
  }
}

/** The client certificate, key and CA, checked: each parses, the key matches the certificate, nothing expired. */
export function xsoarTls(creds: Record<string, string | undefined>, now: Date = new Date()): TlsOptions | undefined {
  const cert = normalizePem(creds.clientCert);
  const key = normalizePem(creds.clientKey);
  const ca = normalizePem(creds.ca);
  if (cert && !key) throw new ConfigError("clientKey", "is required with a client certificate");
  if (key && !cert) throw new ConfigError("clientCert", "is required with a client key");
  const tls: TlsOptions = {};
  if (cert) {
    const [leaf] = certificates(cert, "clientCert");
    if (!leaf.checkPrivateKey(privateKey(key))) throw new ConfigError("clientKey", "does not match the client certificate");
    if (new Date(leaf.validTo).getTime() < now.getTime()) throw new ConfigError("clientCert", `expired on ${leaf.validTo}`);
    tls.cert = cert;
    tls.key = key;
  }
  if (ca) {
    certificates(ca, "ca");
    tls.ca = ca;
  }
  return cert || ca ? tls : undefined;
}

/** The XSOAR config from node properties and credentials; a bad value throws ConfigError naming the field. */
export function xsoarConfig(props: Record<string, unknown>, creds: Record<string, string | undefined>): XsoarConfig {
  const url = checkUrl(props.url, "url");
  const endpoint = (text(props.endpoint) || "/incident/json") as XsoarEndpoint;
  if (!XSOAR_ENDPOINTS.includes(endpoint)) {
    throw new ConfigError("endpoint", `must be one of ${XSOAR_ENDPOINTS.join(", ")}`);
  }
  const apiKey = text(creds.apiKey);
  if (!apiKey) throw new ConfigError("apiKey", "is required");
  const apiKeyId = text(creds.apiKeyId) || undefined;
  if (apiKeyId && /[\r\n]/.test(apiKeyId)) throw new ConfigError("apiKeyId", "must be one line");
  if (/[\r\n]/.test(apiKey)) throw new ConfigError("apiKey", "must be one line");
  const tls = xsoarTls(creds);
  if (tls?.cert && url.protocol !== "https:") throw new ConfigError("url", "must start with https:// to use a client certificate");
  return {
    url: url.href.replace(/\/+$/, ""),
    endpoint,
    extraHeaders: parseHeaderLines(typeof props.extraHeaders === "string" ? props.extraHeaders : ""),
    excludeRecords: props.excludeRecords === true || props.excludeRecords === "true",
    apiKey,
    apiKeyId,
    tls,
  };
}

/** XSOAR's error text: `{title, detail, error}` JSON; a short title or error becomes the code. */
function xsoarErrorCode(body: string): string | undefined {
  try {
    const json = JSON.parse(body);
    for (const value of [json?.error, json?.title, json?.detail]) {
      if (typeof value === "string" && value.trim() && value.length <= 120 && !/[\r\n]/.test(value)) return value.trim();
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** The request that creates the incident for an event. */
export function xsoarRequest(event: DeliveryEvent, c: XsoarConfig): HttpRequest {
  const own = new Set(["accept", "content-type", "authorization", "x-xdr-auth-id", "content-length", "host"]);
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(c.extraHeaders).filter(([name]) => !own.has(name.toLowerCase()))),
    Accept: "application/json",
    "Content-Type": "application/json; charset=utf-8",
    Authorization: c.apiKey,
  };
  if (c.apiKeyId) headers["x-xdr-auth-id"] = c.apiKeyId;
  return {
    method: "POST",
    url: `${c.url}${c.endpoint}`,
    headers,
    body: xsoarBody(c.endpoint, event.topic, event.payload, c.excludeRecords),
    ...(c.tls ? { tls: c.tls } : {}),
  };
}

/** 2xx: created, `id` from the incident JSON; anything else by the usual HTTP rules, with XSOAR's error text as code. */
export function classifyXsoar(answer: HttpAnswer): Outcome {
  if (answer.status < 200 || answer.status >= 300) {
    return classifyHttp(answer, answer.status >= 400 ? xsoarErrorCode(answer.body) : undefined);
  }
  let id: string | undefined;
  try {
    const incident = JSON.parse(answer.body);
    if (typeof incident?.id === "string" || typeof incident?.id === "number") id = String(incident.id);
  } catch {
    // created, but the answer has no JSON: no id to report
  }
  return { kind: "ok", status: answer.status, ...(id ? { id } : {}) };
}

const CLIENT_CERT_REFUSED = new Set([
  "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED",
  "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE",
  "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
  "ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN",
  "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
  "ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED",
  "ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED",
  "ERR_SSL_TLSV1_ALERT_ACCESS_DENIED",
]);
const SERVER_NOT_TRUSTED = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_UNTRUSTED",
]);

/** A TLS error that another attempt would meet again (a handshake timeout is not one). */
function isTlsFailure(code: string): boolean {
  if (code === "ERR_TLS_HANDSHAKE_TIMEOUT") return false;
  return /^ERR_SSL_|^ERR_TLS_|CERT/.test(code) || SERVER_NOT_TRUSTED.has(code);
}

function errorCode(error: unknown): string | undefined {
  for (let e = error as any, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (typeof e.code === "string" && isTlsFailure(e.code)) return e.code;
  }
  return undefined;
}

/** A TLS handshake failure, said plainly; permanent (another attempt would fail the same way). */
export function classifyTlsError(error: unknown, c: XsoarConfig): Outcome | undefined {
  const code = errorCode(error);
  if (!code) return undefined;
  if (CLIENT_CERT_REFUSED.has(code)) {
    const what = c.tls?.cert
      ? "client certificate refused by the server"
      : "client certificate required by the server: set clientCert and clientKey";
    return { kind: "permanent", code, reason: `${what} (TLS handshake failed: ${code})` };
  }
  if (SERVER_NOT_TRUSTED.has(code)) {
    return { kind: "permanent", code, reason: `server certificate not trusted: put the CA that signed it in the ca field (TLS handshake failed: ${code})` };
  }
  if (code === "CERT_HAS_EXPIRED") return { kind: "permanent", code, reason: `server certificate expired (TLS handshake failed: ${code})` };
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return { kind: "permanent", code, reason: `server certificate does not name ${new URL(c.url).hostname} (TLS handshake failed: ${code})` };
  }
  return { kind: "permanent", code, reason: `TLS handshake failed: ${code}` };
}

export const xsoarTarget: Target<XsoarConfig> = {
  name: "XSOAR",
  secrets: (c) => [c.apiKey, c.apiKeyId, c.tls?.key, ...Object.values(c.extraHeaders)].filter((s): s is string => Boolean(s)),
  async send(event, c, ctx): Promise<Outcome> {
    let answer: HttpAnswer;
    try {
      answer = await ctx.http(xsoarRequest(event, c));
    } catch (e) {
      const tls = ctx.signal.aborted ? undefined : classifyTlsError(e, c);
      if (tls) return tls;
      throw e;
    }
    return classifyXsoar(answer);
  },
};
