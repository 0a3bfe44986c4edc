/** HipChat Server / Data Center v2 room notification (the cloud service ended in 2019). */
import { classifyHttp } from "../delivery/classify";
import { jsonRequest } from "../delivery/http";
import { hipChatColour, hipChatHtml, hipChatTemplateHtml } from "../render/hipchat-html";
import { summaryOf } from "../render/summary";
import { templateView, type MessageTemplate } from "../render/template";
import type { DeliveryEvent, HttpAnswer, HttpRequest, Outcome, Target } from "./types";

export interface HipChatConfig {
  /** Base URL of the server, e.g. `https://hipchat.example.com`. */
  server: string;
  /** Room ID or name. */
  room: string;
  apiKey: string;
  /** The HTML message as a Mustache template (SPEC §8); absent = the default summary. */
  template?: MessageTemplate;
}

export function hipChatRequest(event: DeliveryEvent, config: HipChatConfig): HttpRequest {
  const summary = summaryOf(event);
  const url = `${config.server.replace(/\/+$/, "")}/v2/room/${encodeURIComponent(config.room)}/notification`;
  const custom = config.template && hipChatTemplateHtml(config.template, templateView(event, summary));
  const body = { message: custom || hipChatHtml(summary), message_format: "html", color: hipChatColour(summary), notify: true, from: "Cloud SIEM" };
  return jsonRequest(url, body, { Authorization: `Bearer ${config.apiKey}` });
}

/** 204 (any 2xx) is success. A 429 without Retry-After waits until `X-Ratelimit-Reset` (epoch seconds). */
export function classifyHipChat(answer: HttpAnswer, now: Date = new Date()): Outcome {
  let code: string | undefined;
  try {
    const error = JSON.parse(answer.body)?.error;
    if (typeof error?.type === "string") code = error.type;
  } catch {
    // not JSON: classifyHttp looks for a plain code
  }
  const outcome = classifyHttp(answer, code);
  if (outcome.kind === "retry" && outcome.retryAfterMs === undefined && answer.status === 429) {
    const reset = Number(answer.headers["x-ratelimit-reset"]);
    if (Number.isFinite(reset) && reset > 0) return { ...outcome, retryAfterMs: Math.max(0, reset * 1000 - now.getTime()) };
  }
  return outcome;
}

export const hipChatTarget: Target<HipChatConfig> = {
  name: "HipChat",
  secrets: (c) => [c.apiKey],
  request: hipChatRequest,
  classify: (answer) => classifyHipChat(answer),
};
