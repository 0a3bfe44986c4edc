import { escapeHtml } from "./hipchat-html";
import { readableTime, URGENCY_COLOURS, urgencyOf, type Summary } from "./summary";
import { plainText, renderWithin, type MessageTemplate, type TemplateView } from "./template";
import { truncateText } from "./truncate";

/** Mail has no fixed limit; these keep one notification readable and far below servers' SIZE limits. */
export const EMAIL_LIMITS = { subject: 200, field: 2_000, description: 50_000, signals: 200, body: 100_000 } as const;

/** A node's `subject` and `template` (SPEC §8) and the view of the event they are rendered against. */
export interface EmailTemplates {
  subject?: MessageTemplate;
  template?: MessageTemplate;
  view: TemplateView;
}

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

/**
 * The subject: the node's `subject` template rendered (plain text) when it gives one, else one naming the
 * Insight's readableId and name. Line breaks are removed (a subject is one header line).
 */
export function emailSubject(summary: Summary, templates?: EmailTemplates): string {
  const custom = templates?.subject && renderWithin(templates.subject, templates.view, plainText, EMAIL_LIMITS.subject);
  const subject = custom || `[Cloud SIEM] ${summary.kind === "insight" ? `${summary.headline} ${summary.title}` : summary.title}`;
  return truncateText(subject.replace(/[\r\n\t]+/g, " ").trim(), EMAIL_LIMITS.subject);
}

function signalLine(s: Summary["signals"][number]): string {
  return `${s.name}${s.stage ? ` (${s.stage})` : ""}`;
}

function shownSignals(summary: Summary): { lines: string[]; more: number } {
  const lines = summary.signals.slice(0, EMAIL_LIMITS.signals).map((s) => truncateText(signalLine(s), 500));
  return { lines, more: summary.signals.length - lines.length };
}

export function emailText(summary: Summary): string {
  const lines = [`${summary.headline}: ${truncateText(summary.title, EMAIL_LIMITS.field)}`, ""];
  const width = Math.max(...summary.facts.map((f) => f.label.length));
  for (const f of summary.facts) lines.push(`${`${f.label}:`.padEnd(width + 2)}${truncateText(f.value, EMAIL_LIMITS.field)}`);
  if (summary.link) lines.push("", `Open in Cloud SIEM: ${summary.link}`);
  if (summary.description) lines.push("", "Description:", truncateText(summary.description, EMAIL_LIMITS.description));
  const signals = shownSignals(summary);
  if (signals.lines.length) {
    lines.push("", `Signals (${summary.signals.length}):`, ...signals.lines.map((l) => `- ${l}`));
    if (signals.more > 0) lines.push(`- … and ${signals.more} more`);
  }
  lines.push("", `-- Sumo Logic Cloud SIEM, ${readableTime(summary.timestamp)}`);
  return `${lines.join("\n")}\n`;
}

export function emailHtml(summary: Summary): string {
  const colour = URGENCY_COLOURS[urgencyOf(summary)];
  const esc = (text: string, max: number = EMAIL_LIMITS.field) => escapeHtml(truncateText(text, max));
  const rows = summary.facts
    .map(
      (f) =>
        `<tr><th align="left" style="padding:2px 12px 2px 0;vertical-align:top">${esc(f.label)}</th><td style="padding:2px 0">${esc(f.value)}</td></tr>`,
    )
    .join("");
  const parts = [
    `<div style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1a1a1a">`,
    `<div style="border-left:6px solid ${colour};padding:4px 12px;margin-bottom:12px">`,
    `<div style="color:${colour};font-weight:bold">${esc(summary.headline)}${summary.severity ? ` · ${esc(summary.severity)}` : ""}</div>`,
    `<h2 style="margin:4px 0;font-size:18px">${esc(summary.title)}</h2></div>`,
    `<table style="border-collapse:collapse">${rows}</table>`,
  ];
  if (summary.link) {
    parts.push(`<p><a href="${escapeHtml(summary.link)}" style="font-weight:bold">Open in Cloud SIEM</a></p>`);
  }
  if (summary.description) {
    parts.push(`<h3 style="font-size:15px">Description</h3><p style="white-space:pre-wrap">${esc(summary.description, EMAIL_LIMITS.description)}</p>`);
  }
  const signals = shownSignals(summary);
  if (signals.lines.length) {
    const items = signals.lines.map((l) => `<li>${escapeHtml(l)}</li>`);
    if (signals.more > 0) items.push(`<li>… and ${signals.more} more</li>`);
    parts.push(`<h3 style="font-size:15px">Signals (${summary.signals.length})</h3><ul>${items.join("")}</ul>`);
  }
  parts.push(`<p style="color:#666;font-size:12px">Sumo Logic Cloud SIEM · ${esc(readableTime(summary.timestamp) ?? "")}</p></div>`);
  return parts.join("\n");
}

/** The text body a node's `template` gives (plain text, within 100,000 characters), or undefined when blank. */
function templateText(templates: EmailTemplates | undefined): string | undefined {
  const text = templates?.template && renderWithin(templates.template, templates.view, plainText, EMAIL_LIMITS.body);
  return text ? truncateText(text, EMAIL_LIMITS.body) : undefined;
}

/** The HTML part of a templated mail: the same text, escaped, its line breaks kept. */
function textAsHtml(text: string): string {
  return `<div style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1a1a1a;white-space:pre-wrap">${escapeHtml(text)}</div>`;
}

export function emailContent(summary: Summary, templates?: EmailTemplates): EmailContent {
  const text = templateText(templates);
  return {
    subject: emailSubject(summary, templates),
    text: text ?? emailText(summary),
    html: text !== undefined ? textAsHtml(text) : emailHtml(summary),
  };
}
