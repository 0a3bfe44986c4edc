import type { Summary } from "./summary";
import { plainText, renderWithin, type MessageTemplate, type TemplateView } from "./template";
import { truncateText } from "./truncate";

/** PagerDuty's limits: `summary`/`description` 1,024 characters, `dedup_key` 255. */
export const PAGERDUTY_LIMITS = { summary: 1_024, dedupKey: 255, detail: 4_000 } as const;

export const CLIENT = "Sumo Logic Cloud SIEM";

const SEVERITIES: Record<string, "info" | "warning" | "error" | "critical"> = {
  LOW: "info",
  MEDIUM: "warning",
  HIGH: "error",
  CRITICAL: "critical",
};

/** PagerDuty severity of an event: the Insight's mapped per SPEC §5; sensor and rule events are warnings. */
export function pagerDutySeverity(summary: Summary): "info" | "warning" | "error" | "critical" {
  return (summary.severity && SEVERITIES[summary.severity]) || "warning";
}

/**
 * The incident key: the Insight's `readableId` (so closing resolves the incident its creation opened),
 * `sensor:<id>` for a sensor and `rule:<id>` for a rule, so a later "back online" can resolve them.
 */
export function dedupKeyOf(summary: Summary): string {
  return truncateText(summary.subjectKey, PAGERDUTY_LIMITS.dedupKey, "");
}

/** An Insight closing resolves its incident; everything else triggers one. */
export function resolves(summary: Summary): boolean {
  return summary.event === "insight.closed";
}

/** One line for the incident list: what, on which entity, which tactics. */
export function incidentSummary(summary: Summary): string {
  const parts = [summary.title];
  if (summary.entity) parts.push(`on ${summary.entity.value}`);
  if (summary.tactics.length) parts.push(`(${summary.tactics.join(", ")})`);
  if (summary.sensor) parts.push(`in zone ${summary.sensor.zone}, last seen ${summary.sensor.lastSeen}`);
  if (summary.rule) parts.push(`— ${summary.rule.reason}`);
  return truncateText(parts.join(" "), PAGERDUTY_LIMITS.summary);
}

/** A node's template as the incident's summary (SPEC §8): plain text, ≤ 1,024 characters; undefined when blank. */
export function templateIncidentSummary(template: MessageTemplate, view: TemplateView): string | undefined {
  const text = renderWithin(template, view, plainText, PAGERDUTY_LIMITS.summary);
  return text === undefined ? undefined : truncateText(text, PAGERDUTY_LIMITS.summary);
}

function details(summary: Summary): Record<string, unknown> {
  const out: Record<string, unknown> = { event: summary.event, ...summary.ids };
  for (const fact of summary.facts) out[fact.label] = truncateText(fact.value, PAGERDUTY_LIMITS.detail);
  if (summary.tactics.length) out.tactics = summary.tactics;
  if (summary.entity) out.entity = { type: summary.entity.type, value: truncateText(summary.entity.value, PAGERDUTY_LIMITS.detail) };
  if (summary.link) out.link = summary.link;
  if (summary.description) out.description = truncateText(summary.description, PAGERDUTY_LIMITS.detail);
  if (summary.signals.length) {
    out.signals = summary.signals.slice(0, 20).map((s) => truncateText(`${s.name}${s.stage ? ` (${s.stage})` : ""}`, 300));
  }
  return out;
}

function links(summary: Summary, subdomain: string | undefined): { href: string; text: string }[] {
  const out: { href: string; text: string }[] = [];
  if (summary.link) out.push({ href: summary.link, text: `Open ${summary.readableId ?? "Insight"} in Cloud SIEM` });
  const account = pagerDutyAccountUrl(subdomain);
  if (account) out.push({ href: account, text: "PagerDuty" });
  return out;
}

/** `https://<subdomain>.pagerduty.com` (an EU account is written `acme.eu`), or undefined without a subdomain. */
export function pagerDutyAccountUrl(subdomain: string | undefined): string | undefined {
  const name = subdomain?.trim();
  return name ? `https://${name}.pagerduty.com` : undefined;
}

/** Events API v2 body (`POST /v2/enqueue`); `text` is the incident's summary when a template gave one. */
export function pagerDutyV2Event(summary: Summary, routingKey: string, subdomain?: string, text = incidentSummary(summary)): Record<string, unknown> {
  const dedupKey = dedupKeyOf(summary);
  if (resolves(summary)) return { routing_key: routingKey, event_action: "resolve", dedup_key: dedupKey };
  const event: Record<string, unknown> = {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: dedupKey,
    payload: {
      summary: text,
      source: truncateText(summary.entity?.value ?? summary.sensor?.name ?? "Cloud SIEM", 255),
      severity: pagerDutySeverity(summary),
      timestamp: summary.timestamp,
      component: summary.kind === "insight" ? "cloud-siem" : `cloud-siem-${summary.kind}`,
      class: truncateText(summary.tactics.join(", ") || summary.headline, 255),
      custom_details: details(summary),
    },
    client: CLIENT,
  };
  if (summary.link) event.client_url = summary.link;
  const all = links(summary, subdomain);
  if (all.length) event.links = all;
  return event;
}

/** Events API v1 body (`POST /generic/2010-04-15/create_event.json`); `text` is the description as for v2. */
export function pagerDutyV1Event(summary: Summary, serviceKey: string, subdomain?: string, text = incidentSummary(summary)): Record<string, unknown> {
  const incidentKey = dedupKeyOf(summary);
  if (resolves(summary)) {
    return { service_key: serviceKey, event_type: "resolve", incident_key: incidentKey, description: text };
  }
  const event: Record<string, unknown> = {
    service_key: serviceKey,
    event_type: "trigger",
    incident_key: incidentKey,
    description: text,
    details: { severity: pagerDutySeverity(summary), ...details(summary) },
    client: CLIENT,
  };
  if (summary.link) event.client_url = summary.link;
  const all = links(summary, subdomain);
  if (all.length) event.contexts = all.map((l) => ({ type: "link", ...l }));
  return event;
}
