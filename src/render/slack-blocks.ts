import { readableTime, type Summary } from "./summary";
import { renderWithin, type MessageTemplate, type TemplateView } from "./template";
import { fitWithin, truncateMarkup, truncateRendered, truncateText } from "./truncate";

/** Slack's documented limits for `chat.postMessage` (see notes/targets.md §3). */
export const SLACK_LIMITS = { text: 40_000, header: 150, section: 3_000, blocks: 50 } as const;

export const OPEN_LABEL = "Open in Cloud SIEM";

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A mrkdwn link `<url|label>`; `|` in the URL would end it early, so it is percent-encoded. */
export function mrkdwnLink(url: string, label: string): string {
  return `<${escapeMrkdwn(url.replace(/\|/g, "%7C"))}|${escapeMrkdwn(label)}>`;
}

export interface SlackMessage {
  /** Notification and screen-reader fallback, mrkdwn, ≤ 40,000 characters. */
  text: string;
  blocks: Record<string, unknown>[];
}

const mrkdwn = (text: string) => ({ type: "mrkdwn", text });

function factLines(summary: Summary, budget: number): string {
  return summary.facts
    .map((f) => `*${escapeMrkdwn(f.label)}:* ${truncateRendered(f.value, budget, escapeMrkdwn)}`)
    .join("\n");
}

function signalLines(summary: Summary): string {
  return summary.signals.map((s) => `• ${s.name}${s.stage ? ` (${s.stage})` : ""}`).join("\n");
}

/** The facts as one mrkdwn text of at most `max` characters, shortening long values first. */
function factsText(summary: Summary, max: number): string {
  const { built } = fitWithin(max, (budget) => factLines(summary, budget), (t) => t.length, max, 20);
  return truncateText(built, max);
}

/** `chat.postMessage`'s `text` and `blocks` for a summary, within Slack's limits. */
export function slackMessage(summary: Summary): SlackMessage {
  const link = summary.link ? mrkdwnLink(summary.link, OPEN_LABEL) : undefined;
  const blocks: Record<string, unknown>[] = [
    { type: "header", text: { type: "plain_text", text: truncateText(summary.title, SLACK_LIMITS.header), emoji: false } },
    {
      type: "context",
      elements: [mrkdwn(escapeMrkdwn(truncateText(`Cloud SIEM · ${summary.headline} · ${readableTime(summary.timestamp)}`, 300)))],
    },
    { type: "section", text: mrkdwn(factsText(summary, SLACK_LIMITS.section)) },
  ];
  // A link longer than a section allows would make Slack refuse the whole message (invalid_blocks).
  if (link && link.length <= SLACK_LIMITS.section) blocks.push({ type: "section", text: mrkdwn(link) });
  if (summary.description) {
    const heading = "*Description*\n";
    const body = truncateRendered(summary.description, SLACK_LIMITS.section - heading.length, escapeMrkdwn);
    blocks.push({ type: "section", text: mrkdwn(heading + body) });
  }
  if (summary.signals.length) {
    const heading = `*Signals (${summary.signals.length})*\n`;
    const body = truncateRendered(signalLines(summary), SLACK_LIMITS.section - heading.length, escapeMrkdwn);
    blocks.push({ type: "section", text: mrkdwn(heading + body) });
  }

  return { text: fallbackText(summary, link), blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
}

/** Everything a person needs, as plain mrkdwn: title, facts, link, then the description in what room is left. */
function fallbackText(summary: Summary, link: string | undefined): string {
  const head = [
    `*${escapeMrkdwn(truncateText(`${summary.headline}: ${summary.title}`, 2_000))}*`,
    factsText(summary, 20_000),
    ...(link ? [link] : []),
  ].join("\n");
  if (!summary.description) return truncateText(head, SLACK_LIMITS.text);
  const room = SLACK_LIMITS.text - head.length - 1;
  if (room < 100) return truncateText(head, SLACK_LIMITS.text);
  return `${head}\n${truncateRendered(summary.description, room, escapeMrkdwn)}`;
}

/**
 * A node's template as the message (SPEC §8): its mrkdwn alone as `text` (Slack shows it as the message), every
 * value escaped like the default's (`&`, `<`, `>`), within 40,000 characters. Undefined when it renders blank.
 */
export function slackTemplateText(template: MessageTemplate, view: TemplateView): string | undefined {
  const text = renderWithin(template, view, escapeMrkdwn, SLACK_LIMITS.text);
  return text === undefined ? undefined : truncateMarkup(text, SLACK_LIMITS.text);
}
