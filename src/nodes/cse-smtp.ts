import type { Node, NodeAPI, NodeDef } from "node-red";
import { smtpConnection, smtpSettings } from "../targets/email";
import { ConfigError } from "../targets/types";

/**
 * Config node for an SMTP server: holds ONE pooled nodemailer transport that every cse-email node using it
 * shares, opened on first mail and closed when the node closes (redeploy, stop).
 */
export = function (RED: NodeAPI): void {
  function CseSmtpNode(this: Node, def: NodeDef & Record<string, any>): void {
    RED.nodes.createNode(this, def);
    const node = this as Node & { connection?: ReturnType<typeof smtpConnection>; configError?: ConfigError };
    const credentials = ((node as any).credentials ?? {}) as Record<string, string | undefined>;
    try {
      node.connection = smtpConnection(smtpSettings(def, credentials));
    } catch (error) {
      node.configError = error instanceof ConfigError ? error : new ConfigError("smtp", String((error as Error)?.message ?? error));
    }
    node.on("close", (done: () => void) => {
      node.connection?.close();
      done();
    });
  }

  RED.nodes.registerType("cse-smtp", CseSmtpNode as any, {
    credentials: { user: { type: "text" }, password: { type: "password" } },
  } as any);
};
