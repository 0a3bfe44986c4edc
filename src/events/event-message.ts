/** Which event a message carries, for the nodes that act on events (SPEC §2, §4). */
import { looksLikeInsight, unwrapEnvelope } from "./insight";
import { cseMetaFor } from "./meta";
import { InputError, normalizeInput, parsePayload } from "./normalize";
import { type CseMeta, type EventTopic, type Insight, type RuleAutoDisabled, type SensorOffline, isEventTopic } from "./types";

export interface EventOfMessage {
  topic: EventTopic;
  payload: Insight | SensorOffline | RuleAutoDisabled;
  cse: CseMeta;
}

const NOT_AN_EVENT = "not a Cloud SIEM event: ";

function notAnEvent(why: string): Error {
  return new Error(why.startsWith(NOT_AN_EVENT) ? why : NOT_AN_EVENT + why);
}

function isCseMeta(value: unknown, topic: EventTopic): value is CseMeta {
  const meta = value as Partial<CseMeta> | null;
  return typeof meta === "object" && meta !== null && meta.event === topic && typeof meta.key === "string" && Array.isArray(meta.tactics);
}

function subjectOf(msg: Record<string, any>, now: Date): { topic: EventTopic; payload: EventOfMessage["payload"] } {
  if (isEventTopic(msg.topic)) {
    const input = normalizeInput(msg.topic, msg.payload, now.getTime());
    if (input.kind !== "event") throw notAnEvent("an insight.onDemand with an Insight ID must be fetched first: send it to a cse-trigger with a tenant");
    // Checked by the trigger's rules, but sent as given: full-JSON targets deliver the payload object itself.
    return { topic: input.topic, payload: unwrapEnvelope(parsePayload(msg.payload)) as EventOfMessage["payload"] };
  }
  const payload = unwrapEnvelope(parsePayload(msg.payload));
  if (looksLikeInsight(payload)) {
    // An on-demand run of a bare Insight; the trigger's own rules say whether it is usable.
    const input = normalizeInput("insight.onDemand", payload, now.getTime());
    if (input.kind === "event") return input;
  }
  const topic = typeof msg.topic === "string" && msg.topic ? `msg.topic "${msg.topic.slice(0, 40)}"` : "no event topic";
  throw notAnEvent(`${topic} and msg.payload is not an Insight`);
}

/**
 * The event of `msg` as an action node delivers it: an event topic with a payload that fits it (checked by the
 * trigger's own normaliser), or a bare Insight (or `{data: insight}`) under any other topic, which is an
 * on-demand run. `msg.cse` is kept when it belongs to the event, else built. Anything else throws an Error
 * whose message starts "not a Cloud SIEM event: ".
 */
export function eventOfMessage(msg: Record<string, any>, now: Date = new Date()): EventOfMessage {
  let subject: { topic: EventTopic; payload: EventOfMessage["payload"] };
  try {
    subject = subjectOf(msg, now);
  } catch (error) {
    if (error instanceof InputError) throw notAnEvent(error.message);
    throw error;
  }
  const cse = isCseMeta(msg.cse, subject.topic) ? msg.cse : cseMetaFor(subject.topic, subject.payload, { now });
  return { ...subject, cse };
}
