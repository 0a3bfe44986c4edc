import { defineActionNode } from "./action-node";
import { xsoarConfig, xsoarTarget, type XsoarConfig } from "../targets/xsoar";

export = defineActionNode<XsoarConfig>({
  type: "cse-xsoar",
  target: xsoarTarget,
  credentials: {
    apiKey: { type: "password" },
    apiKeyId: { type: "password" },
    clientCert: { type: "password" },
    clientKey: { type: "password" },
    ca: { type: "password" },
  },
  config: (props, creds) => xsoarConfig(props, creds),
});
