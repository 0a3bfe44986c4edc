/**
 * The Slack incoming-webhook body of the "Slack Webhook" action: `{"text": …}` with a one-line summary and
 * the event's JSON (the Insight, or a sensor/rule payload) in a code block. Slack cuts text beyond 40,000
 * characters, so an Insight too big for that loses its records, then its signals, and says so; only if it
 * still does not fit is the JSON cut, with a marker.
 */
import { unwrapEnvelope } from "../events/insight";
import type { Insight } from "../events/types";
import { fullInsight } from "./full-json";
import { escapeMrkdwn, mrkdwnLink } from "./slack-blocks";
import { summaryOf, type EventInput } from "./summary";
import { truncateRendered, truncateText } from "./truncate";

export const SLACK_WEBHOOK_TEXT_LIMIT = 40_000;

const FENCE = "```";
/** Each text in the summary line, and the link, is kept to this many characters: the JSON below has it all. */
const SUMMARY_FIELD_MAX = 500;
const LINK_MAX = 2_000;

const field = (text: string) => escapeMrkdwn(truncateText(text, SUMMARY_FIELD_MAX));

/** The one line above the code block: what happened, to what, which tactics, and the link. */
export function slackWebhookSummary(event: EventInput): string {
  const s = summaryOf(event);
  const parts = [`*${field(s.headline)}*: ${field(s.title)}`];
  if (s.kind === "insight") {
    if (s.severity) parts.push(`severity ${field(s.severity)}`);
    if (s.entity) parts.push(`entity ${field(s.entity.value)}`);
    if (s.tactics.length) parts.push(field(s.tactics.join(", ")));
    if (s.closed && s.resolution) parts.push(`resolution ${field(s.resolution)}`);
  } else if (s.sensor) {
    parts.push(`zone ${field(s.sensor.zone || "(none)")}`, `last seen ${field(s.sensor.lastSeen)}`);
  } else if (s.rule) {
    parts.push(field(s.rule.reason));
  }
  if (s.link && s.link.length <= LINK_MAX) parts.push(mrkdwnLink(s.link, "Open in Cloud SIEM"));
  return parts.join(" — ");
}

function message(summary: string, note: string, json: string): string {
  return `${summary}${note ? `\n_${note}_` : ""}\n${FENCE}\n${escapeMrkdwn(json)}\n${FENCE}`;
}

/** `{"text": …}` for the webhook, at most `limit` characters of text. */
export function slackWebhookBody(event: EventInput, limit = SLACK_WEBHOOK_TEXT_LIMIT): { text: string } {
  const summary = slackWebhookSummary(event);
  const subject = unwrapEnvelope(event.payload);
  const limitText = `Slack's ${limit.toLocaleString("en-US")}-character limit`;
  const isInsight = typeof event.topic === "string" ? event.topic.startsWith("insight.") : true;
  const candidates: { note: string; value: unknown }[] = [{ note: "", value: subject }];
  if (isInsight && subject && typeof subject === "object") {
    const insight = subject as Insight;
    candidates.push({ note: `Records left out to fit ${limitText}.`, value: fullInsight(insight, { includeSignals: true }) });
    candidates.push({ note: `Signals and records left out to fit ${limitText}.`, value: fullInsight(insight) });
  }
  for (const { note, value } of candidates) {
    const text = message(summary, note, JSON.stringify(value, null, 2));
    if (text.length <= limit) return { text };
  }
  const last = candidates[candidates.length - 1];
  const note = `${last.note ? `${last.note} ` : ""}JSON cut to fit ${limitText}.`.trim();
  const head = `${summary}\n_${note}_\n${FENCE}\n`;
  const tail = `\n${FENCE}`;
  const room = Math.max(0, limit - head.length - tail.length);
  const json = truncateRendered(JSON.stringify(last.value, null, 2), room, escapeMrkdwn);
  return { text: `${head}${json}${tail}` };
}
