import { readableTime, URGENCY_COLOURS, urgencyOf, type Summary } from "./summary";
import { plainText, renderTemplate, type MessageTemplate, type TemplateView } from "./template";
import { fitWithin, truncateText, utf8Bytes } from "./truncate";

/** Teams rejects (inside the flow, after answering 202) a request body over 28 KB = 28,672 bytes. */
export const TEAMS_MAX_BYTES = 28_672;
/**
 * What the views aim for by default: bodies of about 27.7 KB have been reported to fail through Workflows,
 * which wraps the card in its own envelope, so 4 KB are left as headroom.
 */
export const TEAMS_BUDGET_BYTES = 24_576;

export const OPEN_LABEL = "Open in Cloud SIEM";

/** Adaptive Card colour names (TextBlock `color`, Container `style`) per urgency. */
const CARD_COLOURS: Record<ReturnType<typeof urgencyOf>, { color: string; style: string }> = {
  low: { color: "Accent", style: "accent" },
  medium: { color: "Warning", style: "warning" },
  high: { color: "Attention", style: "attention" },
  critical: { color: "Attention", style: "attention" },
  resolved: { color: "Good", style: "good" },
  warning: { color: "Warning", style: "warning" },
};

/** Links are never cut (a cut link leads nowhere): one longer than this is left out. */
const LINK_MAX = 2_000;
const usableLink = (summary: Summary) => !!summary.link && summary.link.length <= LINK_MAX;

function signalsText(summary: Summary): string {
  return summary.signals.map((s) => `- ${s.name}${s.stage ? ` (${s.stage})` : ""}`).join("\n");
}

/** Builds a body with every free text shortened to `budget` characters, then keeps the largest that fits. */
function fitted(build: (cut: (text: string) => string) => Record<string, unknown>, maxBytes: number): Record<string, unknown> {
  const { built } = fitWithin(
    maxBytes,
    (budget) => build((text) => truncateText(text, budget)),
    (body) => utf8Bytes(JSON.stringify(body)),
    maxBytes,
    20,
  );
  return built;
}

/**
 * The Workflows ("When a Teams webhook request is received") envelope around an Adaptive Card 1.4 — version 1.5
 * does not render through Workflows — holding `body`, with the Open action when there is a usable link.
 */
function adaptiveEnvelope(summary: Summary, body: Record<string, unknown>[]): Record<string, unknown> {
  const card: Record<string, unknown> = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    body,
    msteams: { width: "Full" },
  };
  if (usableLink(summary)) card.actions = [{ type: "Action.OpenUrl", title: OPEN_LABEL, url: summary.link }];
  return {
    type: "message",
    attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card }],
  };
}

/** A legacy MessageCard with `fields` (sections or text), its summary line, colour and Open action. */
function messageCardOf(summary: Summary, cut: (text: string) => string, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    "@type": "MessageCard",
    "@context": "http://schema.org/extensions",
    summary: cut(`${summary.headline}: ${summary.title}`),
    themeColor: URGENCY_COLOURS[urgencyOf(summary)].slice(1),
    title: summary.headline,
    ...fields,
    ...(usableLink(summary)
      ? { potentialAction: [{ "@type": "OpenUri", name: OPEN_LABEL, targets: [{ os: "default", uri: summary.link }] }] }
      : {}),
  };
}

/** The default Adaptive Card message of a summary; the whole JSON body stays within `maxBytes`. */
export function teamsAdaptiveMessage(summary: Summary, maxBytes = TEAMS_BUDGET_BYTES): Record<string, unknown> {
  const colours = CARD_COLOURS[urgencyOf(summary)];
  return fitted((cut) => {
    const body: Record<string, unknown>[] = [
      {
        type: "Container",
        style: colours.style,
        bleed: true,
        items: [
          {
            type: "TextBlock",
            text: cut([summary.headline, summary.severity].filter(Boolean).join(" · ")),
            color: colours.color,
            weight: "Bolder",
            size: "Small",
            wrap: true,
          },
          { type: "TextBlock", text: cut(summary.title), weight: "Bolder", size: "Medium", wrap: true },
        ],
      },
      { type: "FactSet", facts: summary.facts.map((f) => ({ title: f.label, value: cut(f.value) })) },
    ];
    if (summary.description) body.push({ type: "TextBlock", text: cut(summary.description), wrap: true, spacing: "Medium" });
    if (summary.signals.length) {
      body.push({ type: "TextBlock", text: `Signals (${summary.signals.length})`, weight: "Bolder", spacing: "Medium", wrap: true });
      body.push({ type: "TextBlock", text: cut(signalsText(summary)), wrap: true, isSubtle: true });
    }
    body.push({ type: "TextBlock", text: `Cloud SIEM · ${readableTime(summary.timestamp)}`, isSubtle: true, size: "Small", wrap: true });
    return adaptiveEnvelope(summary, body);
  }, maxBytes);
}

/** A legacy Office 365 connector MessageCard (connectors are retired; kept for servers that still take it). */
export function teamsMessageCard(summary: Summary, maxBytes = TEAMS_BUDGET_BYTES): Record<string, unknown> {
  return fitted((cut) => {
    const sections: Record<string, unknown>[] = [
      {
        activityTitle: cut(summary.title),
        activitySubtitle: cut([summary.headline, summary.severity].filter(Boolean).join(" · ")),
        facts: summary.facts.map((f) => ({ name: f.label, value: cut(f.value) })),
        markdown: false,
        ...(summary.description ? { text: cut(summary.description) } : {}),
      },
    ];
    if (summary.signals.length) {
      sections.push({ title: `Signals (${summary.signals.length})`, text: cut(signalsText(summary)), markdown: false });
    }
    return messageCardOf(summary, cut, { sections });
  }, maxBytes);
}

/**
 * A node's template as the card's text (SPEC §8): plain text (Teams reads it as its Markdown subset) in one
 * wrapping TextBlock of an Adaptive Card, or as a MessageCard's `text`, with the Open action kept; the whole
 * body within `maxBytes`, long values shortened first. Undefined when the template renders blank.
 */
export function teamsTemplateMessage(
  summary: Summary,
  format: "adaptive" | "messagecard",
  template: MessageTemplate,
  view: TemplateView,
  maxBytes = TEAMS_BUDGET_BYTES,
): Record<string, unknown> | undefined {
  if (!renderTemplate(template, view, plainText).trim()) return undefined;
  const card = (budget: number, textMax: number) => {
    const text = truncateText(renderTemplate(template, view, plainText, budget), textMax);
    if (format === "messagecard") return messageCardOf(summary, (t) => truncateText(t, 200), { text });
    return adaptiveEnvelope(summary, [{ type: "TextBlock", text, wrap: true }]);
  };
  const bytes = (body: Record<string, unknown>) => utf8Bytes(JSON.stringify(body));
  const byValues = fitWithin(maxBytes, (budget) => card(budget, maxBytes), bytes, maxBytes, 20);
  if (byValues.fits) return byValues.built;
  // The template's own text is too long: the whole text is cut to what the card has room for.
  return fitWithin(maxBytes, (textMax) => card(20, textMax), bytes, maxBytes, 0).built;
}
