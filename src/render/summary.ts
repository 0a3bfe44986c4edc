import { entityOf, isClosed } from "../events/insight";
import { cseMetaFor } from "../events/meta";
import type { CseMeta, EventTopic, Insight, RuleAutoDisabled, SensorOffline } from "../events/types";
import { eventOfMessage } from "../events/event-message";

/**
 * The one summary of an event that Slack, Teams, PagerDuty, HipChat and e-mail render their own way
 * (SPEC §4 "Summary targets"). Plain data: no target's syntax, no escaping, no truncation.
 */
export interface Summary {
  event: EventTopic;
  kind: "insight" | "sensor" | "rule";
  /** What happened, e.g. "New Insight", "Insight closed", "Network Sensor offline". */
  headline: string;
  /** One line a person reads first, e.g. "INSIGHT-1234: Initial Access with Command and Control". */
  title: string;
  readableId?: string;
  name?: string;
  /** LOW | MEDIUM | HIGH | CRITICAL for Insights; absent for sensor and rule events. */
  severity?: string;
  entity?: { type: string; value: string; label: string };
  /** MITRE ATT&CK tactic names, kill-chain order. */
  tactics: string[];
  /** The Insight's link in the CSE UI (`msg.cse.url`). */
  link?: string;
  closed: boolean;
  resolution?: string;
  description?: string;
  signals: { name: string; stage?: string }[];
  sensor?: { id: string; name: string; zone: string; lastSeen: string };
  rule?: { id: string; name: string; reason: string; disabledAt: string };
  /** What a person reads as label/value pairs, in order. */
  facts: { label: string; value: string }[];
  /** When it happened, ISO-8601 UTC with `Z`. */
  timestamp: string;
  /** A stable key for the thing the event is about: readableId (or id), `sensor:<id>`, `rule:<id>`. */
  subjectKey: string;
  /** The event's id fields for machines (PagerDuty custom_details and the like). */
  ids: Record<string, string>;
}

/** An event message as action nodes receive it (SPEC §2 / §4). */
export interface EventInput {
  topic?: unknown;
  payload?: unknown;
  cse?: unknown;
}

const EVENT_HEADLINES: Record<EventTopic, string> = {
  "insight.created": "New Insight",
  "insight.closed": "Insight closed",
  "insight.onDemand": "Insight",
  "sensor.offline": "Network Sensor offline",
  "rule.autoDisabled": "Rule automatically disabled",
};

const ENTITY_LABELS: Record<string, string> = {
  _ip: "IP address",
  _hostname: "hostname",
  _username: "user",
  _mac: "MAC address",
  _process: "process",
  _file: "file",
  _hash: "file hash",
  _domain: "domain",
  _url: "URL",
  _useragent: "user agent",
  _command: "command",
  _email: "e-mail address",
  _resource: "resource",
};

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() ? value : undefined;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** A CSE time (`2026-11-28T03:12:45.123456`, UTC without `Z`) or any ISO-8601 time as ISO-8601 UTC with `Z`. */
export function isoUtc(value: unknown): string | undefined {
  const raw = text(value);
  if (!raw) return undefined;
  const zoned = /(?:Z|[+-]\d\d:?\d\d)$/i.test(raw) || !/T/.test(raw) ? raw : `${raw}Z`;
  const time = Date.parse(zoned);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** `2026-11-28 03:12:45 UTC` for people. */
export function readableTime(value: unknown): string | undefined {
  const iso = isoUtc(value);
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : text(value);
}

function entityLabel(type: string): string {
  return ENTITY_LABELS[type.toLowerCase()] ?? type.replace(/^_/, "");
}

function metaOf(msg: EventInput, topic: EventTopic, payload: Insight | SensorOffline | RuleAutoDisabled): CseMeta {
  const given = isObject(msg.cse) ? (msg.cse as Partial<CseMeta>) : undefined;
  const computed = cseMetaFor(topic, payload);
  if (!given) return computed;
  return {
    ...computed,
    ...given,
    tactics: Array.isArray(given.tactics) && given.tactics.length ? given.tactics : computed.tactics,
    entity: isObject(given.entity) ? given.entity : computed.entity,
    url: text(given.url) ?? computed.url,
  } as CseMeta;
}

/** The summary of an event message (topic, payload and `msg.cse`, computed when the trigger did not set it). */
export function summaryOf(msg: EventInput): Summary {
  const { topic, payload } = eventOfMessage(msg);
  const meta = metaOf(msg, topic, payload);
  if (topic === "sensor.offline") return sensorSummary(payload as SensorOffline);
  if (topic === "rule.autoDisabled") return ruleSummary(payload as RuleAutoDisabled);
  return insightSummary(topic, payload as Insight, meta);
}

function insightSummary(topic: EventTopic, insight: Insight, meta: CseMeta): Summary {
  const readableId = text(insight.readableId);
  const name = text(insight.name);
  const severity = text(insight.severity)?.toUpperCase();
  const found = meta.entity ?? entityOf(insight);
  const entity = found && text(found.value) ? { type: String(found.type ?? ""), value: String(found.value), label: "" } : undefined;
  if (entity) entity.label = `${entity.value} (${entityLabel(entity.type)})`;
  const tactics = (Array.isArray(meta.tactics) ? meta.tactics : [])
    .map((t) => text(isObject(t) ? t.name : t))
    .filter((t): t is string => !!t);
  const closed = topic === "insight.closed" || isClosed(insight);
  const resolution = closed ? text(insight.resolution) ?? "(none given)" : undefined;
  const signals = (Array.isArray(insight.signals) ? insight.signals : [])
    .filter(isObject)
    .map((s) => ({ name: text(s.name) ?? text(s.id) ?? "(unnamed signal)", stage: text(s.stage) }));

  const facts: Summary["facts"] = [];
  if (severity) facts.push({ label: "Severity", value: severity });
  facts.push({ label: "Entity", value: entity?.label ?? "(unknown)" });
  facts.push({ label: tactics.length === 1 ? "MITRE tactic" : "MITRE tactics", value: tactics.join(", ") || "(none)" });
  const status = isObject(insight.status) ? text(insight.status.displayName) ?? text(insight.status.name) : text(insight.status);
  if (status) facts.push({ label: "Status", value: status });
  if (closed) {
    facts.push({ label: "Resolution", value: resolution! });
    const closedBy = text(insight.closedBy);
    if (closedBy) facts.push({ label: "Closed by", value: closedBy });
    const closedAt = readableTime(insight.closed);
    if (closedAt) facts.push({ label: "Closed", value: closedAt });
  }
  const created = readableTime(insight.created ?? insight.timestamp);
  if (created) facts.push({ label: "Created", value: created });
  if (signals.length) facts.push({ label: "Signals", value: String(signals.length) });

  const label = readableId ?? text(insight.id) ?? "Insight";
  const ids: Record<string, string> = { insightId: String(insight.id ?? "") };
  if (readableId) ids.readableId = readableId;
  return {
    event: topic,
    kind: "insight",
    headline: EVENT_HEADLINES[topic],
    title: name ? `${label}: ${name}` : label,
    readableId,
    name,
    severity,
    entity,
    tactics,
    link: text(meta.url),
    closed,
    resolution,
    description: text(insight.description),
    signals,
    facts,
    timestamp:
      (closed ? isoUtc(insight.closed) : undefined) ?? isoUtc(insight.created) ?? isoUtc(insight.timestamp) ?? isoUtc(meta.receivedAt) ?? new Date().toISOString(),
    subjectKey: readableId ?? text(insight.id) ?? "insight",
    ids,
  };
}

function sensorSummary(payload: SensorOffline): Summary {
  const id = text(payload.sensorId) ?? "";
  const name = text(payload.sensorName) ?? id;
  const zone = text(payload.sensorZone) ?? "(none)";
  const lastSeen = readableTime(payload.lastSeen) ?? "(never)";
  return {
    event: "sensor.offline",
    kind: "sensor",
    headline: EVENT_HEADLINES["sensor.offline"],
    title: `Network Sensor offline: ${name}`,
    name,
    tactics: [],
    closed: false,
    signals: [],
    sensor: { id, name, zone, lastSeen },
    facts: [
      { label: "Sensor", value: name },
      { label: "Zone", value: zone },
      { label: "Last seen", value: lastSeen },
      ...(id && id !== name ? [{ label: "Sensor ID", value: id }] : []),
    ],
    timestamp: isoUtc(payload.lastSeen) ?? new Date().toISOString(),
    subjectKey: `sensor:${id || name}`,
    ids: { sensorId: id },
  };
}

function ruleSummary(payload: RuleAutoDisabled): Summary {
  const id = text(payload.ruleId) ?? "";
  const name = text(payload.ruleName) ?? id;
  const reason = text(payload.reason) ?? "(no reason given)";
  const disabledAt = readableTime(payload.disabledAt);
  return {
    event: "rule.autoDisabled",
    kind: "rule",
    headline: EVENT_HEADLINES["rule.autoDisabled"],
    title: `Rule automatically disabled: ${name}`,
    name,
    tactics: [],
    closed: false,
    signals: [],
    rule: { id, name, reason, disabledAt: disabledAt ?? "" },
    facts: [
      { label: "Rule", value: name },
      { label: "Reason", value: reason },
      ...(disabledAt ? [{ label: "Disabled", value: disabledAt }] : []),
      ...(id && id !== name ? [{ label: "Rule ID", value: id }] : []),
    ],
    timestamp: isoUtc(payload.disabledAt) ?? new Date().toISOString(),
    subjectKey: `rule:${id || name}`,
    ids: { ruleId: id },
  };
}

/** A short colour-free word for the urgency of an event: the Insight's severity, else "warning". */
export function urgencyOf(summary: Summary): "low" | "medium" | "high" | "critical" | "resolved" | "warning" {
  if (summary.kind !== "insight") return "warning";
  if (summary.closed) return "resolved";
  switch (summary.severity) {
    case "LOW":
      return "low";
    case "MEDIUM":
      return "medium";
    case "HIGH":
      return "high";
    case "CRITICAL":
      return "critical";
    default:
      return "medium";
  }
}

/** One hex colour per urgency, shared by the views that colour by severity (Teams MessageCard, e-mail). */
export const URGENCY_COLOURS: Record<ReturnType<typeof urgencyOf>, string> = {
  low: "#3B8FD9",
  medium: "#F2A900",
  high: "#E8590C",
  critical: "#C62828",
  resolved: "#2E7D32",
  warning: "#F2A900",
};
