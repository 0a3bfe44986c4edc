/** The event names a trigger emits as `msg.topic` (SPEC §2). */
export const EVENT_TOPICS = [
  "insight.created",
  "insight.closed",
  "insight.onDemand",
  "sensor.offline",
  "rule.autoDisabled",
] as const;
export type EventTopic = (typeof EVENT_TOPICS)[number];

export function isEventTopic(value: unknown): value is EventTopic {
  return typeof value === "string" && (EVENT_TOPICS as readonly string[]).includes(value);
}

/** An Insight as the CSE API returns it; unknown fields pass through untouched. */
export interface Insight {
  id: string;
  readableId?: string;
  name?: string;
  description?: string;
  severity?: string;
  status?: { name?: string; displayName?: string } | null;
  entity?: Record<string, any> | null;
  signals?: Signal[];
  tags?: string[];
  created?: string;
  closed?: string | null;
  closedBy?: string | null;
  resolution?: string | null;
  sumoUrl?: string;
  [field: string]: unknown;
}

export interface Signal {
  id?: string;
  name?: string;
  stage?: string;
  severity?: number;
  ruleId?: string;
  tags?: string[];
  allRecords?: Record<string, unknown>[];
  [field: string]: unknown;
}

export interface SensorOffline {
  sensorId: string;
  sensorName: string;
  sensorZone: string;
  /** ISO-8601 UTC. */
  lastSeen: string;
}

export interface RuleAutoDisabled {
  ruleId: string;
  ruleName: string;
  reason: string;
  disabledAt: string;
}

export interface Tactic {
  id: string;
  name: string;
}

/** `msg.cse`, set by the trigger on every event it emits. */
export interface CseMeta {
  event: EventTopic;
  /** Dedupe key: `<insight id>:<event>`, `sensor:<id>:offline`, `rule:<id>:autoDisabled`. */
  key: string;
  url?: string;
  tactics: Tactic[];
  entity?: { type: string; value: string };
  receivedAt: string;
}

/** One event as it travels between nodes. */
export interface EventMessage {
  topic: EventTopic;
  payload: Insight | SensorOffline | RuleAutoDisabled;
  cse?: CseMeta;
  [field: string]: unknown;
}
