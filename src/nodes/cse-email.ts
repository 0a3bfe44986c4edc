import type { NodeAPI } from "node-red";
import { ConfigError } from "../targets/types";
import { emailTarget, parseRecipients, type EmailConfig, type SmtpConnection } from "../targets/email";
import { defineActionNode } from "./action-node";
import { templateProperty } from "./template-property";
import { DEFAULT_TEMPLATES } from "../render/template-defaults";

/** The SMTP pool of the `cse-smtp` node a property points at, or a ConfigError saying what is wrong. */
function smtpOf(RED: NodeAPI, id: unknown): SmtpConnection {
  if (typeof id !== "string" || !id) throw new ConfigError("smtp", "is required (choose or add a cse-smtp server)");
  const node = RED.nodes.getNode(id) as any;
  if (!node || node.type !== "cse-smtp") throw new ConfigError("smtp", "the selected SMTP server is not deployed");
  if (node.configError) throw new ConfigError(`smtp ${node.configError.field}`, node.configError.problem);
  return node.connection as SmtpConnection;
}

export = defineActionNode<EmailConfig, unknown>({
  type: "cse-email",
  target: emailTarget,
  credentials: {},
  // The editor's "Insert the default template" button reads these.
  settings: {
    cseEmailDefaultSubject: { value: DEFAULT_TEMPLATES.emailSubject, exportable: true },
    cseEmailDefaultTemplate: { value: DEFAULT_TEMPLATES.email, exportable: true },
  },
  config(props, _credentials, RED) {
    const recipients = parseRecipients(props.recipients);
    const subject = templateProperty(props, "subject");
    const template = templateProperty(props, "template");
    return { recipients, subject, template, smtp: smtpOf(RED, props.smtp) };
  },
});
