import type { EventTopic, Insight, RuleAutoDisabled, SensorOffline } from "../events/types";
import { fullInsight } from "./full-json";

/** SNS's default message size limit: body plus every attribute's name, data type and value. */
export const SNS_MAX_BYTES = 262_144;
export const SNS_SUBJECT_MAX = 100;

export interface SnsMessage {
  message: string;
  subject: string;
  /** String message attributes: `event`, and `truncated` = "true" when records or signals were dropped. */
  attributes: Record<string, string>;
  /** What was left out to fit, if anything. */
  dropped?: "records" | "signals";
}

/**
 * Subject for e-mail subscribers: printable ASCII only, no line breaks, at most 100 characters.
 * Accented letters lose their accents; anything else outside ASCII becomes "?".
 */
export function snsSubject(topic: EventTopic, payload: Insight | SensorOffline | RuleAutoDisabled): string {
  let text: string;
  if (topic.startsWith("insight.")) {
    const insight = payload as Insight;
    const id = insight.readableId ?? insight.id;
    text = `Cloud SIEM ${topic} ${id ?? ""}${insight.name ? `: ${insight.name}` : ""}`;
  } else if (topic === "sensor.offline") {
    const sensor = payload as SensorOffline;
    text = `Cloud SIEM sensor.offline: ${sensor.sensorName || sensor.sensorId}`;
  } else {
    const rule = payload as RuleAutoDisabled;
    text = `Cloud SIEM rule.autoDisabled: ${rule.ruleName || rule.ruleId}`;
  }
  const ascii = text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[\r\n\t\f\v\u2028\u2029]+/g, " ")
    .replace(/[^\x20-\x7e]/g, "?")
    .replace(/ {2,}/g, " ")
    .trim();
  return ascii.length <= SNS_SUBJECT_MAX ? ascii : `${ascii.slice(0, SNS_SUBJECT_MAX - 3).trimEnd()}...`;
}

/** Bytes SNS counts against its limit for a message and its string attributes. */
export function snsMessageBytes(message: string, attributes: Record<string, string>): number {
  let total = Buffer.byteLength(message, "utf8");
  for (const [name, value] of Object.entries(attributes)) {
    total += Buffer.byteLength(name, "utf8") + Buffer.byteLength("String", "utf8") + Buffer.byteLength(value, "utf8");
  }
  return total;
}

export class SnsMessageTooLargeError extends Error {
  constructor(readonly bytes: number, readonly limit: number) {
    super(`message is ${bytes} bytes even without records and signals, over the SNS limit of ${limit} bytes`);
    this.name = "SnsMessageTooLargeError";
  }
}

/**
 * The SNS Publish content for an event: the Insight JSON as the API returns it (for sensor and rule
 * events, the payload object). Over `maxBytes` the Insight loses its records, then its signals, and
 * gets the attribute `truncated=true`; still too big throws {@link SnsMessageTooLargeError}.
 */
export function renderSnsMessage(
  topic: EventTopic,
  payload: Insight | SensorOffline | RuleAutoDisabled,
  maxBytes = SNS_MAX_BYTES,
): SnsMessage {
  const subject = snsSubject(topic, payload);
  const attributes: Record<string, string> = { event: topic };
  const message = JSON.stringify(payload);
  let size = snsMessageBytes(message, attributes);
  if (size <= maxBytes) return { message, subject, attributes };

  if (topic.startsWith("insight.")) {
    const truncated = { ...attributes, truncated: "true" };
    const noRecords = JSON.stringify(fullInsight(payload as Insight, { includeSignals: true, includeRecords: false }));
    size = snsMessageBytes(noRecords, truncated);
    if (size <= maxBytes) return { message: noRecords, subject, attributes: truncated, dropped: "records" };
    const noSignals = JSON.stringify(fullInsight(payload as Insight, { includeSignals: false }));
    size = snsMessageBytes(noSignals, truncated);
    if (size <= maxBytes) return { message: noSignals, subject, attributes: truncated, dropped: "signals" };
  }
  throw new SnsMessageTooLargeError(size, maxBytes);
}
