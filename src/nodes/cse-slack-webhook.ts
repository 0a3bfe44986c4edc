import { checkWebhookUrl, slackWebhookTarget, type SlackWebhookConfig } from "../targets/slack-webhook";
import { defineActionNode } from "./action-node";

export = defineActionNode<SlackWebhookConfig>({
  type: "cse-slack-webhook",
  target: slackWebhookTarget,
  credentials: { url: { type: "password" } },
  config: (_props, credentials) => ({ url: checkWebhookUrl(credentials.url) }),
});
