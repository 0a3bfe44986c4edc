import { isClosed, isInsightId, looksLikeInsight, unwrapEnvelope } from "./insight";
import { isEventTopic } from "./types";
import type { EventTopic, Insight, RuleAutoDisabled, SensorOffline, Signal } from "./types";

/** Input topics the trigger understands besides the event names. */
export const HEARTBEAT_TOPIC = "sensor.heartbeat";
export const SIGNAL_TOPIC = "signal";

/** A bad input: the message says what is wrong, naming the field. */
export class InputError extends Error {}

export interface SensorHeartbeat {
  sensorId: string;
  sensorName?: string;
  sensorZone?: string;
}

export interface RuleSignal {
  ruleId: string;
  ruleName: string;
  signal: Signal;
}

/** What one input message asks the trigger to do. */
export type TriggerInput =
  | { kind: "event"; topic: EventTopic; payload: Insight | SensorOffline | RuleAutoDisabled }
  | { kind: "fetchInsight"; insightId: string }
  | { kind: "heartbeat"; heartbeat: SensorHeartbeat }
  | { kind: "signal"; signal: RuleSignal };

const NOT_AN_EVENT = "not a Cloud SIEM event";

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.trim() ? "a string" : "an empty string";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * The payload as a value: a JSON text (string or Buffer, as an `http in` node without a JSON
 * content type or an MQTT node delivers it) is parsed; other strings and values are returned as they are.
 */
export function parsePayload(payload: unknown): unknown {
  let text: string | undefined;
  if (typeof payload === "string") text = payload;
  else if (Buffer.isBuffer(payload)) text = payload.toString("utf8");
  if (text === undefined) return payload;
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return text;
  try {
    return JSON.parse(trimmed);
  } catch (err) {
    throw new InputError(`payload is not valid JSON: ${(err as Error).message}`);
  }
}

function nonEmptyString(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return typeof value === "string" && value.trim() ? value.trim() : undefined;
}

/**
 * A time as ISO-8601 UTC. Accepts a Date, epoch milliseconds, or a date string; a string without
 * a zone (the CSE API's own form, `2026-11-28T03:00:00`) is read as UTC.
 */
export function toIsoUtc(value: unknown, field: string): string {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === "number") ms = value;
  else if (typeof value === "string" && value.trim()) {
    const text = value.trim();
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) || !/T\d/.test(text);
    ms = Date.parse(hasZone ? text : `${text}Z`);
  } else ms = NaN;
  if (!Number.isFinite(ms)) throw new InputError(`${field} is not a valid time: ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

function insightFrom(topic: string, value: Record<string, any>): Insight {
  if (typeof value.id === "string" && value.id.trim()) return value as Insight;
  if ("id" in value || looksLikeInsight(value)) {
    const which = typeof value.readableId === "string" && value.readableId ? `Insight ${value.readableId}` : "the Insight";
    throw new InputError(`${which} has no id: an Insight needs its "id" field (the UUID the CSE API gives it)`);
  }
  throw new InputError(`${NOT_AN_EVENT}: the payload of ${topic} is not an Insight (it has no "id")`);
}

function sensorOfflineFrom(value: unknown, now: number): SensorOffline {
  if (!isObject(value)) throw new InputError(`${NOT_AN_EVENT}: the payload of sensor.offline must be an object with a sensorId, not ${describe(value)}`);
  const sensorId = nonEmptyString(value.sensorId);
  if (!sensorId) throw new InputError("sensor.offline payload needs a sensorId (a non-empty string)");
  return {
    sensorId,
    sensorName: nonEmptyString(value.sensorName) ?? sensorId,
    sensorZone: nonEmptyString(value.sensorZone) ?? "default",
    lastSeen: value.lastSeen === undefined || value.lastSeen === null ? new Date(now).toISOString() : toIsoUtc(value.lastSeen, "lastSeen"),
  };
}

function ruleAutoDisabledFrom(value: unknown, now: number): RuleAutoDisabled {
  if (!isObject(value)) throw new InputError(`${NOT_AN_EVENT}: the payload of rule.autoDisabled must be an object with a ruleId, not ${describe(value)}`);
  const ruleId = nonEmptyString(value.ruleId);
  if (!ruleId) throw new InputError("rule.autoDisabled payload needs a ruleId (a non-empty string)");
  return {
    ruleId,
    ruleName: nonEmptyString(value.ruleName) ?? ruleId,
    reason: nonEmptyString(value.reason) ?? "automatically disabled",
    disabledAt: value.disabledAt === undefined || value.disabledAt === null ? new Date(now).toISOString() : toIsoUtc(value.disabledAt, "disabledAt"),
  };
}

function heartbeatFrom(value: unknown): SensorHeartbeat {
  const id = typeof value === "string" || typeof value === "number" ? nonEmptyString(value) : isObject(value) ? nonEmptyString(value.sensorId) : undefined;
  if (!id) throw new InputError("sensor.heartbeat payload needs a sensorId (a non-empty string)");
  const heartbeat: SensorHeartbeat = { sensorId: id };
  if (isObject(value)) {
    const name = nonEmptyString(value.sensorName);
    const zone = nonEmptyString(value.sensorZone);
    if (name) heartbeat.sensorName = name;
    if (zone) heartbeat.sensorZone = zone;
  }
  return heartbeat;
}

function signalFrom(value: unknown): RuleSignal {
  const signal = unwrapEnvelope(value);
  if (!isObject(signal)) throw new InputError(`${NOT_AN_EVENT}: a signal must be a Signal object with a ruleId, not ${describe(signal)}`);
  const ruleId = nonEmptyString(signal.ruleId);
  if (!ruleId) throw new InputError("signal payload needs a ruleId (the rule that fired it)");
  const ruleName = nonEmptyString(signal.ruleName) ?? nonEmptyString(signal.name) ?? ruleId;
  return { ruleId, ruleName, signal: signal as Signal };
}

/**
 * Reads one input message (`msg.topic`, `msg.payload`) into what the trigger should do with it.
 * Throws an {@link InputError} for anything it cannot use. `now` (epoch ms) stamps default times.
 */
export function normalizeInput(topic: unknown, rawPayload: unknown, now: number): TriggerInput {
  const payload = parsePayload(rawPayload);

  if (topic === HEARTBEAT_TOPIC) return { kind: "heartbeat", heartbeat: heartbeatFrom(payload) };
  if (topic === SIGNAL_TOPIC) return { kind: "signal", signal: signalFrom(payload) };

  if (isEventTopic(topic)) {
    switch (topic) {
      case "sensor.offline":
        return { kind: "event", topic, payload: sensorOfflineFrom(payload, now) };
      case "rule.autoDisabled":
        return { kind: "event", topic, payload: ruleAutoDisabledFrom(payload, now) };
      default: {
        if (topic === "insight.onDemand" && typeof payload === "string") {
          if (isInsightId(payload)) return { kind: "fetchInsight", insightId: payload.trim() };
          throw new InputError(`insight.onDemand payload ${JSON.stringify(String(payload).slice(0, 60))} is not an Insight ID (INSIGHT-123 or a UUID)`);
        }
        const subject = unwrapEnvelope(payload);
        if (!isObject(subject)) {
          throw new InputError(`${NOT_AN_EVENT}: the payload of ${topic} must be an Insight object, not ${describe(subject)}`);
        }
        return { kind: "event", topic, payload: insightFrom(topic, subject) };
      }
    }
  }

  // Any other topic: a bare Insight, as CSE's own HTTP POST v2 action sends it.
  const subject = unwrapEnvelope(payload);
  if (isObject(subject) && (looksLikeInsight(subject) || (payload !== subject && typeof subject.id === "string"))) {
    const insight = insightFrom("an Insight", subject);
    return { kind: "event", topic: isClosed(insight) ? "insight.closed" : "insight.created", payload: insight };
  }
  const about = topic === undefined || topic === null || topic === "" ? "no topic" : `topic ${JSON.stringify(String(topic).slice(0, 60))}`;
  throw new InputError(`${NOT_AN_EVENT}: ${about} and the payload is ${describe(payload)} that is not an Insight`);
}
