import { checkUrl } from "../delivery/http";
import { parseHeaderLines } from "../delivery/headers";
import { parseFieldList } from "../render/full-json";
import { allowedPortsFrom, DEFAULT_ALLOWED_PORTS, httpPostTarget, type HttpPostConfig } from "../targets/http-post";
import { defineActionNode } from "./action-node";

const flag = (value: unknown): boolean => value === true || value === "true";

export = defineActionNode<HttpPostConfig>({
  type: "cse-http-post",
  target: httpPostTarget,
  credentials: { username: { type: "text" }, password: { type: "password" } },
  settings: { cseHttpPostAllowedPorts: { value: [...DEFAULT_ALLOWED_PORTS], exportable: true } },
  config(props, credentials, RED) {
    const url = checkUrl(props.url, "url");
    return {
      url: url.href,
      headers: parseHeaderLines(props.extraHeaders, "extraHeaders"),
      includeSignals: flag(props.includeSignals),
      includeRecords: flag(props.includeRecords),
      recordFields: parseFieldList(props.recordFields),
      username: credentials.username || undefined,
      password: credentials.password || undefined,
      allowedPorts: allowedPortsFrom((RED.settings as any)?.cseHttpPostAllowedPorts),
    };
  },
});
