/**
 * The editor's Preview: the exact body an action node would send for an event, with its size against the
 * target's limits. Only the body: headers and URLs can be secret and are never part of a preview.
 */
import { redact } from "../delivery/redact";
import type { DeliveryEvent, Target } from "../targets/types";

export interface PreviewLimit {
  /** What is measured: "body", "text", "summary" … */
  what: string;
  size: number;
  max: number;
  unit: "bytes" | "characters";
}

export interface Preview {
  body: string;
  /** UTF-8 size of the body. */
  bytes: number;
  limits: PreviewLimit[];
  /** One line for the dialog, e.g. "1,234 bytes of 28,672 allowed". */
  summary: string;
}

interface LimitRule {
  what: string;
  max: number;
  unit: "bytes" | "characters";
  measure(body: string): number;
}

const utf8 = (text: string) => Buffer.byteLength(text, "utf8");

function jsonField(body: string, pick: (parsed: any) => unknown): number {
  try {
    const value = pick(JSON.parse(body));
    return typeof value === "string" ? value.length : 0;
  } catch {
    return 0;
  }
}

/** SNS counts the message and every attribute's name, type and value against 256 KiB. */
function snsSize(body: string): number {
  try {
    const input = JSON.parse(body) as { Message?: string; MessageAttributes?: Record<string, { DataType?: string; StringValue?: string }> };
    let size = utf8(input.Message ?? "");
    for (const [name, attribute] of Object.entries(input.MessageAttributes ?? {})) {
      size += utf8(name) + utf8(attribute.DataType ?? "") + utf8(attribute.StringValue ?? "");
    }
    return size;
  } catch {
    return utf8(body);
  }
}

const slackText: LimitRule = { what: "text", max: 40_000, unit: "characters", measure: (b) => jsonField(b, (p) => p.text) };

/** Each target's documented limits, by node type; a type not listed has none. */
const LIMITS: Record<string, LimitRule[]> = {
  "cse-slack": [slackText],
  "cse-slack-webhook": [slackText],
  "cse-teams": [{ what: "body", max: 28_672, unit: "bytes", measure: utf8 }],
  "cse-pagerduty": [
    { what: "body", max: 512 * 1024, unit: "bytes", measure: utf8 },
    { what: "summary", max: 1_024, unit: "characters", measure: (b) => jsonField(b, (p) => p.payload?.summary ?? p.description) },
  ],
  "cse-hipchat": [{ what: "message", max: 10_000, unit: "characters", measure: (b) => jsonField(b, (p) => p.message) }],
  "cse-sns": [{ what: "message and attributes", max: 262_144, unit: "bytes", measure: snsSize }],
};

const number = (n: number) => n.toLocaleString("en-US");

/**
 * The body `target` would send for `event` (secrets redacted), or undefined when the target cannot tell
 * (a custom `send` without `preview`). Sizes are those of the real body.
 */
export function previewOf<C, R>(type: string, target: Target<C, R>, event: DeliveryEvent, config: C): Preview | undefined {
  let body: string;
  if (target.request) {
    const raw = target.request(event, config).body;
    body = raw === undefined ? "" : Buffer.isBuffer(raw) ? raw.toString("utf8") : raw;
  } else if (target.preview) {
    body = target.preview(event, config);
  } else {
    return undefined;
  }
  const bytes = utf8(body);
  const limits = (LIMITS[type] ?? []).map((rule) => ({ what: rule.what, size: rule.measure(body), max: rule.max, unit: rule.unit }));
  const summary = limits.length
    ? limits.map((l) => `${l.what}: ${number(l.size)} ${l.unit} of ${number(l.max)} allowed`).join("; ")
    : `${number(bytes)} bytes (no size limit)`;
  return { body: redact(body, target.secrets(config)), bytes, limits, summary };
}
