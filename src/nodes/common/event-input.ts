/** Turns an incoming message into the event an action node delivers (SPEC §2, §4). */
import { looksLikeInsight, unwrapEnvelope } from "../../events/insight";
import { cseMetaFor } from "../../events/meta";
import { type CseMeta, type EventTopic, isEventTopic } from "../../events/types";
import type { DeliveryEvent } from "../../targets/types";

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function notAnEvent(why: string): Error {
  return new Error(`not a Cloud SIEM event: ${why}`);
}

function isCseMeta(value: unknown, topic: EventTopic): value is CseMeta {
  return isObject(value) && value.event === topic && typeof value.key === "string" && Array.isArray(value.tactics);
}

/** The payload check of each event topic; returns the problem, or undefined when it fits. */
function payloadProblem(topic: EventTopic, payload: unknown): string | undefined {
  if (!isObject(payload)) return `msg.payload of ${topic} is not an object`;
  if (topic.startsWith("insight.")) {
    return typeof payload.id === "string" && payload.id ? undefined : `msg.payload of ${topic} is not an Insight with an id`;
  }
  if (topic === "sensor.offline") return payload.sensorId != null ? undefined : "msg.payload of sensor.offline has no sensorId";
  return payload.ruleId != null ? undefined : "msg.payload of rule.autoDisabled has no ruleId";
}

/**
 * The event of `msg`: an event topic with a fitting payload, or a bare Insight (or `{data: insight}`) with no
 * event topic, which is an on-demand run. `msg.cse` is used when it belongs to the event, else built.
 * Throws an Error starting "not a Cloud SIEM event" for anything else.
 */
export function eventOf(msg: Record<string, any>, now: Date = new Date()): DeliveryEvent {
  let topic: EventTopic;
  let payload = unwrapEnvelope(msg.payload);
  if (isEventTopic(msg.topic)) {
    topic = msg.topic;
    const problem = payloadProblem(topic, payload);
    if (problem) throw notAnEvent(problem);
  } else if (looksLikeInsight(payload)) {
    if (typeof payload.id !== "string" || !payload.id) throw notAnEvent("the Insight in msg.payload has no id");
    topic = "insight.onDemand";
  } else {
    const shownTopic = typeof msg.topic === "string" ? `"${msg.topic.slice(0, 40)}"` : String(msg.topic);
    throw notAnEvent(`msg.topic ${shownTopic} is not an event name and msg.payload is not an Insight`);
  }
  payload = payload as DeliveryEvent["payload"];
  const cse = isCseMeta(msg.cse, topic) ? msg.cse : cseMetaFor(topic, payload as DeliveryEvent["payload"], { now });
  return { topic, payload: payload as DeliveryEvent["payload"], cse };
}
