/** Slack Web API `chat.postMessage`: a summary as text plus Block Kit blocks (notes/targets.md §3). */
import { classifyHttp } from "../delivery/classify";
import { jsonRequest } from "../delivery/http";
import { slackMessage, slackTemplateText } from "../render/slack-blocks";
import { summaryOf } from "../render/summary";
import { templateView, type MessageTemplate } from "../render/template";
import type { DeliveryEvent, HttpAnswer, HttpRequest, Outcome, Target } from "./types";

export interface SlackConfig {
  channel: string;
  /** Base URL of the Web API, `https://slack.com/api`. */
  apiUrl: string;
  apiKey: string;
  /** The message text as a Mustache template (SPEC §8); absent = the default summary with blocks. */
  template?: MessageTemplate;
}

/** `ok:false` error codes that are worth another attempt; every other one is permanent. */
export const SLACK_TRANSIENT = new Set(["ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"]);

export function slackRequest(event: DeliveryEvent, config: SlackConfig): HttpRequest {
  const url = `${config.apiUrl.replace(/\/+$/, "")}/chat.postMessage`;
  const summary = summaryOf(event);
  const text = config.template && slackTemplateText(config.template, templateView(event, summary));
  const body = { channel: config.channel, ...(text ? { text } : slackMessage(summary)), unfurl_links: false };
  return jsonRequest(url, body, { Authorization: `Bearer ${config.apiKey}` });
}

/** HTTP 200 is not success: the JSON says `ok` or carries Slack's error code. */
export function classifySlack(answer: HttpAnswer): Outcome {
  if (answer.status !== 200) {
    return classifyHttp(answer);
  }
  let body: any;
  try {
    body = JSON.parse(answer.body);
  } catch {
    return { kind: "permanent", status: 200, code: "invalid_response", reason: "HTTP 200 with a body that is not Slack's JSON" };
  }
  if (body?.ok === true) return { kind: "ok", status: 200, ...(typeof body.ts === "string" ? { id: body.ts } : {}) };
  const code = typeof body?.error === "string" && body.error ? body.error : "unknown_error";
  const reason = `HTTP 200 ${code}`;
  return SLACK_TRANSIENT.has(code) ? { kind: "retry", status: 200, code, reason } : { kind: "permanent", status: 200, code, reason };
}

export const slackTarget: Target<SlackConfig> = {
  name: "Slack",
  secrets: (c) => [c.apiKey],
  request: slackRequest,
  classify: classifySlack,
};
