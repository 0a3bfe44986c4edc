/** Microsoft Teams: a Workflows webhook (Adaptive Card 1.4 envelope) or a legacy connector (MessageCard). */
import { classifyHttp } from "../delivery/classify";
import { jsonRequest } from "../delivery/http";
import { urlSecrets } from "../delivery/redact";
import { summaryOf } from "../render/summary";
import { teamsAdaptiveMessage, teamsMessageCard, teamsTemplateMessage } from "../render/teams-card";
import { templateView, type MessageTemplate } from "../render/template";
import { type DeliveryEvent, type HttpAnswer, type HttpRequest, type Outcome, type Target } from "./types";

export type TeamsFormat = "adaptive" | "messagecard";
export const TEAMS_FORMATS: readonly TeamsFormat[] = ["adaptive", "messagecard"];

export interface TeamsConfig {
  format: TeamsFormat;
  /** The webhook URL; its path and query are a bearer secret. */
  url: string;
  /** The card's text as a Mustache template (SPEC §8); absent = the default card. */
  template?: MessageTemplate;
}

export function teamsRequest(event: DeliveryEvent, config: TeamsConfig): HttpRequest {
  const summary = summaryOf(event);
  const custom = config.template && teamsTemplateMessage(summary, config.format, config.template, templateView(event, summary));
  const body = custom || (config.format === "messagecard" ? teamsMessageCard(summary) : teamsAdaptiveMessage(summary));
  return jsonRequest(config.url, body);
}

/** A short, single-line piece of a text answer, for an error message. */
function snippet(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

/**
 * Any 2xx is accepted (Workflows answers 202 with an empty body and reports card errors only in the flow's run
 * history). A legacy connector answers 200 with `1`, or 200 with an error text, which is a failure — retried
 * when the text names HTTP 429 (the connector's throttling).
 */
export function classifyTeams(answer: HttpAnswer, config: TeamsConfig): Outcome {
  if (answer.status < 200 || answer.status >= 300) return classifyHttp(answer);
  const text = answer.body.trim();
  if (config.format !== "messagecard" || text === "" || text === "1") return { kind: "ok", status: answer.status };
  if (/\b429\b/.test(text)) return { kind: "retry", status: answer.status, code: "429", reason: `HTTP ${answer.status} ${snippet(text)}` };
  return { kind: "permanent", status: answer.status, code: "connector_error", reason: `HTTP ${answer.status} ${snippet(text)}` };
}

export const teamsTarget: Target<TeamsConfig> = {
  name: "Microsoft Teams",
  secrets: (c) => urlSecrets(c.url),
  request: teamsRequest,
  classify: (answer, _event, config) => classifyTeams(answer, config),
};
