import { readableTime, urgencyOf, type Summary } from "./summary";
import { renderWithin, type MessageTemplate, type TemplateView } from "./template";
import { truncateMarkup, truncateRendered } from "./truncate";

/** HipChat room notifications take 1–10,000 characters. */
export const HIPCHAT_MAX_CHARS = 10_000;
const FIELD_MAX = 500;
const LINK_MAX = 2_000;

export type HipChatColour = "yellow" | "green" | "red" | "purple" | "gray";

const COLOURS: Record<ReturnType<typeof urgencyOf>, HipChatColour> = {
  low: "gray",
  medium: "yellow",
  high: "red",
  critical: "purple",
  resolved: "green",
  warning: "yellow",
};

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

export function hipChatColour(summary: Summary): HipChatColour {
  return COLOURS[urgencyOf(summary)];
}

/** Escaped HTML keeping line breaks. */
const htmlText = (text: string) => escapeHtml(text).replace(/\r?\n/g, "<br>");

/**
 * The notification's HTML (HipChat's subset: b, i, a, br, ul/li): title, facts and link first, the description
 * and signals in the room that is left, so a cut never hides what a person needs.
 */
export function hipChatHtml(summary: Summary, max = HIPCHAT_MAX_CHARS, fieldMax = FIELD_MAX): string {
  const field = (text: string, limit = fieldMax) => truncateRendered(text, limit, htmlText);
  const head = [
    `<b>${field(summary.headline)}: ${field(summary.title)}</b>`,
    ...summary.facts.map((f) => `<b>${field(f.label, Math.min(100, fieldMax))}:</b> ${field(f.value)}`),
    // A link is never cut (a cut link leads nowhere): one too long to fit comfortably is left out.
    ...(summary.link && summary.link.length <= LINK_MAX ? [`<a href="${escapeHtml(summary.link)}">Open in Cloud SIEM</a>`] : []),
  ].join("<br>");
  const tail: string[] = [];
  let room = max - head.length;
  const add = (prefix: string, raw: string, suffix = "") => {
    const budget = room - prefix.length - suffix.length;
    if (budget < 40) return;
    const part = prefix + truncateRendered(raw, budget, htmlText) + suffix;
    tail.push(part);
    room -= part.length;
  };
  if (summary.description) add("<br><br>", summary.description);
  if (summary.signals.length) {
    add(
      `<br><br><b>Signals (${summary.signals.length}):</b><br>`,
      summary.signals.map((s) => `${s.name}${s.stage ? ` (${s.stage})` : ""}`).join("\n"),
    );
  }
  add("<br><i>", `Cloud SIEM · ${readableTime(summary.timestamp)}`, "</i>");
  const html = head + tail.join("");
  if (html.length <= max || fieldMax <= 20) return html;
  return hipChatHtml(summary, max, Math.floor(fieldMax / 2));
}

/**
 * A node's template as the notification's HTML (SPEC §8): the template is HTML, every value is escaped (line
 * breaks become `<br>`), within 10,000 characters. Undefined when it renders blank.
 */
export function hipChatTemplateHtml(template: MessageTemplate, view: TemplateView): string | undefined {
  const html = renderWithin(template, view, htmlText, HIPCHAT_MAX_CHARS);
  return html === undefined ? undefined : truncateMarkup(html, HIPCHAT_MAX_CHARS);
}
