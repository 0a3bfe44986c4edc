/** What an answer or an error means for a delivery: ok, retry later, or fail now. */
import type { HttpAnswer, Outcome } from "../targets/types";

const TOKEN = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

/** `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date, as milliseconds from `now`. */
export function retryAfterMs(value: string | undefined, now: Date = new Date()): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

/**
 * The target's error code in a response body, when it has one: a plain-text token (`no_text`) or a JSON
 * body's `error` / `code` / `error_code` string. Never the whole body.
 */
export function errorCodeOf(body: string | undefined): string | undefined {
  if (!body) return undefined;
  const text = body.trim();
  if (TOKEN.test(text)) return text;
  if (text.startsWith("{")) {
    try {
      const json = JSON.parse(text);
      for (const key of ["error", "code", "error_code", "errorCode"]) {
        const value = json?.[key];
        if (typeof value === "string" && TOKEN.test(value)) return value;
        if (typeof value?.code === "string" && TOKEN.test(value.code)) return value.code;
      }
    } catch {
      // not JSON after all
    }
  }
  return undefined;
}

/** The host a redirect points to (never its path: it may hold a secret). */
function redirectHost(location: string | undefined, requestUrl?: string): string {
  if (!location) return "an unnamed location";
  try {
    return new URL(location, requestUrl).host || "an unnamed location";
  } catch {
    return "an invalid location";
  }
}

/**
 * The default meaning of an HTTP answer: 2xx ok; 3xx permanent (redirects are never followed), naming the
 * redirect's host; 408, 429 and 5xx retry (with the Retry-After wait); other statuses permanent.
 * `code` overrides the error code found in the body.
 */
export function classifyHttp(answer: HttpAnswer, code?: string, requestUrl?: string): Outcome {
  const status = answer.status;
  if (status >= 200 && status < 300) return { kind: "ok", status };
  if (status >= 300 && status < 400) {
    const host = redirectHost(answer.headers["location"], requestUrl);
    return { kind: "permanent", status, code: "redirect", reason: `HTTP ${status} redirect to ${host} not followed` };
  }
  const errorCode = code ?? errorCodeOf(answer.body);
  const reason = errorCode ? `HTTP ${status} ${errorCode}` : `HTTP ${status}`;
  if (status === 408 || status === 429 || status >= 500) {
    const wait = retryAfterMs(answer.headers["retry-after"]);
    return { kind: "retry", status, code: errorCode, reason, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  return { kind: "permanent", status, code: errorCode, reason };
}

/** Error codes of failures on the way (connection, DNS, socket) that are worth another attempt. */
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTDOWN",
  "ESOCKET",
  "ECONNECTION",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/** The innermost useful error code of an error (client libraries wrap the socket's error in `cause`). */
export function codeOf(error: any): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = e.cause, depth++) {
    if (typeof e.code === "string" && e.code !== "ERR_BAD_REQUEST" && e.code !== "ERR_NETWORK") return e.code;
  }
  return typeof error?.code === "string" ? error.code : undefined;
}

/** The meaning of an error thrown while sending (no answer was received). */
export function classifyError(error: unknown): Outcome {
  const e = error as any;
  const code = codeOf(e);
  let message = String(e?.message ?? e ?? "unknown error");
  for (let inner = e, depth = 0; inner && depth < 5; inner = inner.cause, depth++) {
    if (inner.permanent === true) return { kind: "permanent", code: inner.code ?? code, reason: String(inner.message ?? message) };
  }
  if (!message.trim() && e?.cause?.message) message = String(e.cause.message);
  // An answer cut short by the peer (a reset mid-body) says "stream has been aborted": say what happened instead.
  if (/stream has been aborted/i.test(message) && !/^Request stream/i.test(message)) {
    return { kind: "retry", code: "ECONNRESET", reason: "network error: the connection closed in the middle of the answer" };
  }
  if ((code && TRANSIENT_CODES.has(code)) || /socket hang up/i.test(message)) {
    const reason = code && !message.includes(code) ? `${code}: ${message}` : message;
    return { kind: "retry", code, reason: `network error: ${reason}` };
  }
  return { kind: "permanent", code, reason: message };
}
