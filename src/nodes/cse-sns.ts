import { defineActionNode } from "./action-node";
import { snsConfig, snsTarget, type SnsConfig } from "../targets/sns";
import type { SNSClient } from "@aws-sdk/client-sns";

export = defineActionNode<SnsConfig, SNSClient>({
  type: "cse-sns",
  target: snsTarget,
  credentials: { accessKeyId: { type: "password" }, secretAccessKey: { type: "password" } },
  config: (props, creds) => snsConfig(props, creds),
});
