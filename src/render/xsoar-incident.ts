import type { EventTopic, Insight, RuleAutoDisabled, SensorOffline } from "../events/types";
import { fullInsight } from "./full-json";

export const XSOAR_ENDPOINTS = ["/incident/json", "/incident", "/xsoar/public/v1/incident"] as const;
export type XsoarEndpoint = (typeof XSOAR_ENDPOINTS)[number];

export const XSOAR_INCIDENT_TYPE = "Sumo Logic Insight";

/** XSOAR's `CreateIncidentRequest` fields we fill. */
export interface XsoarIncident {
  name: string;
  type: string;
  severity: number;
  details: string;
  occurred?: string;
  rawJSON: string;
}

const SEVERITY: Record<string, number> = { LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 };

/** XSOAR severity: LOW 1, MEDIUM 2, HIGH 3, CRITICAL 4; anything else 0 (Unknown). */
export function xsoarSeverity(severity: unknown): number {
  return typeof severity === "string" ? (SEVERITY[severity.trim().toUpperCase()] ?? 0) : 0;
}

/**
 * An API time as RFC 3339. The CSE API writes UTC without a zone (`2026-11-28T03:12:45.123456`),
 * so a time without one gets `Z`; one that already has a zone is kept; anything else is undefined.
 */
export function rfc3339(time: unknown): string | undefined {
  if (typeof time !== "string") return undefined;
  const value = time.trim();
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(Z|[+-]\d{2}:?\d{2})?$/i.exec(value);
  if (!m) return undefined;
  const zone = m[3] ? m[3].toUpperCase() : "Z";
  return `${m[1]}T${m[2]}${zone}`;
}

/** The object XSOAR receives as `rawJSON` and on `/incident/json`: the Insight (or sensor/rule payload). */
export function xsoarRaw(
  topic: EventTopic,
  payload: Insight | SensorOffline | RuleAutoDisabled,
  excludeRecords: boolean,
): Insight | SensorOffline | RuleAutoDisabled {
  return excludeRecords && topic.startsWith("insight.")
    ? fullInsight(payload as Insight, { includeSignals: true, includeRecords: false })
    : payload;
}

/** The structured incident for `/incident` and XSOAR 8's `/xsoar/public/v1/incident`. */
export function xsoarIncident(
  topic: EventTopic,
  payload: Insight | SensorOffline | RuleAutoDisabled,
  excludeRecords = false,
): XsoarIncident {
  const rawJSON = JSON.stringify(xsoarRaw(topic, payload, excludeRecords));
  if (topic === "sensor.offline") {
    const sensor = payload as SensorOffline;
    return {
      name: `Sensor offline - ${sensor.sensorName || sensor.sensorId}`,
      type: XSOAR_INCIDENT_TYPE,
      severity: SEVERITY.MEDIUM,
      details: `Cloud SIEM sensor ${sensor.sensorName || sensor.sensorId}${sensor.sensorZone ? ` (zone ${sensor.sensorZone})` : ""} has not reported since ${sensor.lastSeen}.`,
      occurred: rfc3339(sensor.lastSeen),
      rawJSON,
    };
  }
  if (topic === "rule.autoDisabled") {
    const rule = payload as RuleAutoDisabled;
    return {
      name: `Rule automatically disabled - ${rule.ruleName || rule.ruleId}`,
      type: XSOAR_INCIDENT_TYPE,
      severity: SEVERITY.MEDIUM,
      details: rule.reason ?? "",
      occurred: rfc3339(rule.disabledAt),
      rawJSON,
    };
  }
  const insight = payload as Insight;
  const id = insight.readableId ?? insight.id;
  return {
    name: insight.name ? `${insight.name} - ${id}` : String(id),
    type: XSOAR_INCIDENT_TYPE,
    severity: xsoarSeverity(insight.severity),
    details: typeof insight.description === "string" ? insight.description : "",
    occurred: rfc3339(insight.created) ?? rfc3339(insight.timestamp),
    rawJSON,
  };
}

/** The request body for an endpoint: the raw Insight on `/incident/json`, the structured incident otherwise. */
export function xsoarBody(
  endpoint: XsoarEndpoint,
  topic: EventTopic,
  payload: Insight | SensorOffline | RuleAutoDisabled,
  excludeRecords = false,
): string {
  if (endpoint === "/incident/json") return JSON.stringify(xsoarRaw(topic, payload, excludeRecords));
  return JSON.stringify(xsoarIncident(topic, payload, excludeRecords));
}
