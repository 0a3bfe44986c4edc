import { ConfigError } from "../targets/types";
import { checkSecureUrl } from "../delivery/http";
import { slackTarget, type SlackConfig } from "../targets/slack";
import { defineActionNode } from "./action-node";
import { templateProperty } from "./template-property";
import { DEFAULT_TEMPLATES } from "../render/template-defaults";

export = defineActionNode<SlackConfig>({
  type: "cse-slack",
  target: slackTarget,
  credentials: { apiKey: { type: "password" } },
  // The editor's "Insert the default template" button reads this.
  settings: { cseSlackDefaultTemplate: { value: DEFAULT_TEMPLATES.slack, exportable: true } },
  config(props, credentials) {
    const channel = typeof props.channel === "string" ? props.channel.trim() : "";
    if (!channel) throw new ConfigError("channel", "is required (a channel ID like C0123ABCD or a name like #soc)");
    if (/\s/.test(channel)) throw new ConfigError("channel", "must not contain spaces");
    if (!credentials.apiKey) throw new ConfigError("apiKey", "is required (a bot token with chat:write)");
    const apiUrl = checkSecureUrl(props.apiUrl || "https://slack.com/api", "apiUrl").href.replace(/\/+$/, "");
    return { channel, apiUrl, apiKey: credentials.apiKey, template: templateProperty(props, "template") };
  },
});
