/**
 * Slack incoming webhook ("Slack Webhook"): the event's JSON in a code block (notes/targets.md §4). The whole
 * URL is a secret. Slack answers 200 `ok`; errors are an HTTP status with a plain-text code (`no_text`,
 * `no_service`, `channel_is_archived` …) — 429 and 5xx are retried, everything else is permanent, which is
 * what the default classification does with the code taken from the body.
 */
import { checkUrl } from "../delivery/http";
import { urlSecrets } from "../delivery/redact";
import { slackWebhookBody } from "../render/slack-webhook";
import { ConfigError, type DeliveryEvent, type HttpRequest, type Target } from "./types";

export interface SlackWebhookConfig {
  url: string;
}

/** The webhook URL must be https; plain http only to this machine (local relays and tests). */
export function checkWebhookUrl(value: unknown): string {
  if (typeof value !== "string" || !value.trim()) throw new ConfigError("url", "is required");
  return checkUrl(value, "url", { httpsOnly: true, allowLoopbackHttp: true }).href;
}

export function slackWebhookRequest(event: DeliveryEvent, config: SlackWebhookConfig): HttpRequest {
  return {
    method: "POST",
    url: config.url,
    headers: { "Content-Type": "application/json; charset=utf-8" },
    body: JSON.stringify(slackWebhookBody(event)),
  };
}

export const slackWebhookTarget: Target<SlackWebhookConfig> = {
  name: "Slack",
  secrets: (c) => urlSecrets(c.url),
  validate: (c) => void checkWebhookUrl(c.url),
  request: slackWebhookRequest,
};
