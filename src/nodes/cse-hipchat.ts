import { ConfigError } from "../targets/types";
import { hipChatTarget, type HipChatConfig } from "../targets/hipchat";
import { checkSecureUrl } from "../delivery/http";
import { defineActionNode } from "./action-node";
import { templateProperty } from "./template-property";
import { DEFAULT_TEMPLATES } from "../render/template-defaults";

export = defineActionNode<HipChatConfig>({
  type: "cse-hipchat",
  target: hipChatTarget,
  credentials: { apiKey: { type: "password" } },
  // The editor's "Insert the default template" button reads this.
  settings: { cseHipchatDefaultTemplate: { value: DEFAULT_TEMPLATES.hipchat, exportable: true } },
  config(props, credentials) {
    if (typeof props.server !== "string" || !props.server.trim()) {
      throw new ConfigError("server", "is required (the base URL of your HipChat Server, e.g. https://hipchat.example.com)");
    }
    const server = checkSecureUrl(props.server, "server").href.replace(/\/+$/, "");
    const room = typeof props.room === "string" ? props.room.trim() : "";
    if (!room) throw new ConfigError("room", "is required (a room ID or name)");
    if (room.length > 100) throw new ConfigError("room", "must be at most 100 characters");
    if (!credentials.apiKey) throw new ConfigError("apiKey", "is required (a room notification token)");
    return { server, room, apiKey: credentials.apiKey, template: templateProperty(props, "template") };
  },
});
