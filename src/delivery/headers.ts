import { ConfigError } from "../targets/types";

/** RFC 9110 token characters: what a header name may contain. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Headers about the message's framing and the connection, which the HTTP client (undici) sets and refuses from callers. */
const CLIENT_HEADERS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "expect"]);

/**
 * Parses "Extra Headers": one `Name: value` per line, split on the first colon, both sides trimmed, blank
 * lines skipped. A line without a colon, a bad name, a header the HTTP client sets itself (Content-Length,
 * Connection …) or a control character (header injection) is a ConfigError naming the field and the line.
 */
export function parseHeaderLines(text: string | undefined, field = "extraHeaders"): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!text) return headers;
  const lines = String(text).split("\n");
  lines.forEach((raw, index) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (!line.trim()) return;
    const where = `line ${index + 1}`;
    const colon = line.indexOf(":");
    if (colon < 0) throw new ConfigError(field, `${where} has no ":" (expected "Name: value")`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name)) throw new ConfigError(field, `${where} has an invalid header name`);
    if (CLIENT_HEADERS.has(name.toLowerCase())) throw new ConfigError(field, `${where}: ${name} is set by the HTTP client itself (remove the line)`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
      throw new ConfigError(field, `${where} has a control character (CR/LF) in its value`);
    }
    // Node refuses to send anything outside Latin-1 in a header: say so now, not on every message.
    if (/[^\t\x20-\xff]/.test(value)) {
      throw new ConfigError(field, `${where} has a character that cannot be sent in a header (use ASCII)`);
    }
    headers[name] = value;
  });
  return headers;
}
