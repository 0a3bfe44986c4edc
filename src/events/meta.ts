import { entityOf, insightUrl } from "./insight";
import { tacticsOf } from "./tactics";
import type { CseMeta, EventTopic, Insight, RuleAutoDisabled, SensorOffline } from "./types";

/** The dedupe key of an event (SPEC §2). */
export function eventKey(topic: EventTopic, payload: Insight | SensorOffline | RuleAutoDisabled): string {
  switch (topic) {
    case "sensor.offline":
      return `sensor:${(payload as SensorOffline).sensorId}:offline`;
    case "rule.autoDisabled":
      return `rule:${(payload as RuleAutoDisabled).ruleId}:autoDisabled`;
    default:
      return `${(payload as Insight).id}:${topic}`;
  }
}

/** `msg.cse` for an event: its key, the Insight's link, tactics and entity. */
export function cseMetaFor(
  topic: EventTopic,
  payload: Insight | SensorOffline | RuleAutoDisabled,
  options: { uiUrl?: string; now?: Date } = {},
): CseMeta {
  const meta: CseMeta = {
    event: topic,
    key: eventKey(topic, payload),
    tactics: [],
    receivedAt: (options.now ?? new Date()).toISOString(),
  };
  if (topic.startsWith("insight.")) {
    const insight = payload as Insight;
    meta.tactics = tacticsOf(insight);
    const entity = entityOf(insight);
    if (entity) meta.entity = entity;
    const url = insightUrl(insight, options.uiUrl);
    if (url) meta.url = url;
  }
  return meta;
}
