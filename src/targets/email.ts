/** E-mail through an SMTP server (nodemailer): one multipart text + HTML mail to every recipient. */
import { isIP } from "node:net";
import nodemailer from "nodemailer";
import { emailContent, type EmailContent } from "../render/email";
import { summaryOf } from "../render/summary";
import { templateView, type MessageTemplate } from "../render/template";
import { composeMessage, type ComposedMessage } from "./email-message";
import { ConfigError, type AttemptContext, type DeliveryEvent, type Outcome, type Target } from "./types";

export type SmtpTls = "starttls" | "tls" | "none";
export const SMTP_TLS_MODES: readonly SmtpTls[] = ["starttls", "tls", "none"];

/** What a `cse-smtp` config node holds (credentials included). */
export interface SmtpSettings {
  host: string;
  port: number;
  tls: SmtpTls;
  rejectUnauthorized: boolean;
  from: string;
  user?: string;
  password?: string;
}

type Transporter = ReturnType<typeof nodemailer.createTransport>;

/** The SMTP connection pool of one `cse-smtp` config node, shared by every e-mail node using it. */
export interface SmtpConnection {
  settings: SmtpSettings;
  transport(): Transporter;
}

export interface EmailConfig {
  recipients: string[];
  /** The subject as a Mustache template (SPEC §8); absent = the default naming the Insight's readableId and name. */
  subject?: MessageTemplate;
  /** The text body as a Mustache template (the HTML body is the same text, escaped); absent = the default. */
  template?: MessageTemplate;
  smtp: SmtpConnection;
}

const ADDRESS = /^[^\s@<>(),;:"[\]\\]+@[^\s@<>(),;:"[\]\\]+\.[^\s@<>(),;:"[\]\\]+$/;

/** Splits at commas and semicolons that are not inside quotes or angle brackets. */
function splitList(text: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  let angled = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (ch === "<" && !quoted) angled = true;
    else if (ch === ">" && !quoted) angled = false;
    if ((ch === "," || ch === ";") && !quoted && !angled) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** One address, bare (`a@b.example`) or with a display name (`SOC <soc@b.example>`); else undefined. */
function checkedAddress(entry: string): string | undefined {
  const named = /^(?:"[^"]*"|[^<>"]*)\s*<([^<>]+)>$/.exec(entry);
  const address = named ? named[1].trim() : entry;
  return ADDRESS.test(address) ? entry : undefined;
}

/** The comma (or semicolon) separated recipient list, each checked; throws ConfigError naming the bad one. */
export function parseRecipients(value: unknown, field = "recipients"): string[] {
  if (typeof value !== "string" || !value.trim()) throw new ConfigError(field, "is required (a comma-separated list of e-mail addresses)");
  const entries = splitList(value);
  if (!entries.length) throw new ConfigError(field, "is required (a comma-separated list of e-mail addresses)");
  for (const entry of entries) {
    if (!checkedAddress(entry)) throw new ConfigError(field, `"${entry.slice(0, 100)}" is not an e-mail address`);
  }
  return entries;
}

/** The settings of a `cse-smtp` node from its properties and credentials; throws ConfigError naming the field. */
export function smtpSettings(props: Record<string, any>, credentials: Record<string, string | undefined>): SmtpSettings {
  const host = typeof props.host === "string" ? props.host.trim() : "";
  if (!host) throw new ConfigError("host", "is required (the SMTP server's host name)");
  if (/[\s/:]/.test(host) && !/^\[?[0-9a-f:]+\]?$/i.test(host)) throw new ConfigError("host", "must be a host name or address, without scheme or port");
  const rawPort = props.port === undefined || props.port === "" ? 587 : Number(props.port);
  if (!Number.isInteger(rawPort) || rawPort < 1 || rawPort > 65535) throw new ConfigError("port", "must be a whole number from 1 to 65535");
  const tls = (props.tls || "starttls") as SmtpTls;
  if (!SMTP_TLS_MODES.includes(tls)) throw new ConfigError("tls", `must be one of ${SMTP_TLS_MODES.join(", ")}`);
  const from = typeof props.from === "string" ? props.from.trim() : "";
  if (!from) throw new ConfigError("from", "is required (the sender address)");
  if (!checkedAddress(from)) throw new ConfigError("from", `"${from.slice(0, 100)}" is not an e-mail address`);
  const user = credentials.user?.trim() || undefined;
  const password = credentials.password || undefined;
  if (password && !user) throw new ConfigError("user", "is required when a password is set");
  return { host, port: rawPort, tls, rejectUnauthorized: props.rejectUnauthorized !== false && props.rejectUnauthorized !== "false", from, user, password };
}

/**
 * nodemailer options: `tls` = implicit TLS, `starttls` = upgrade required, `none` = never upgrade. One pool of at
 * most 4 connections, whatever `cseConcurrency` says: servers limit connections per client (Exchange Online
 * allows 3 per mailbox and refuses more with 432), and a message waiting for a connection is not an error.
 */
export function transportOptions(s: SmtpSettings): Record<string, unknown> {
  return {
    host: s.host,
    port: s.port,
    secure: s.tls === "tls",
    requireTLS: s.tls === "starttls",
    ignoreTLS: s.tls === "none",
    // SNI takes host names only (RFC 6066); an address is still checked against the certificate.
    tls: { rejectUnauthorized: s.rejectUnauthorized, ...(isIP(s.host) ? {} : { servername: s.host }) },
    ...(s.user ? { auth: { user: s.user, pass: s.password ?? "" } } : {}),
    pool: true,
    maxConnections: 4,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
    logger: false,
    debug: false,
  };
}

/** A pool opened on first use and closed by `close()` (the cse-smtp node's close). */
export function smtpConnection(settings: SmtpSettings): SmtpConnection & { close(): void } {
  let pool: Transporter | undefined;
  return {
    settings,
    transport() {
      pool ??= nodemailer.createTransport(transportOptions(settings) as any);
      return pool;
    },
    close() {
      pool?.close();
      pool = undefined;
    },
  };
}

const CONNECTION_CODES = new Set(["ECONNECTION", "ESOCKET", "ETIMEDOUT", "EDNS", "ECONNRESET", "ECONNREFUSED", "EPIPE"]);

/** A short, single-line reason (nodemailer's messages may span lines with the server's reply). */
function shortMessage(e: any): string {
  const text = String(e?.message ?? e ?? "error").replace(/\s+/g, " ").trim();
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** SMTP 4xx and connection failures are retried; 5xx, TLS certificate and configuration errors are permanent. */
export function classifySmtpError(e: any): Outcome {
  const status = typeof e?.responseCode === "number" ? e.responseCode : undefined;
  const code = typeof e?.code === "string" ? e.code : undefined;
  const reason = `SMTP ${[status, code].filter(Boolean).join(" ")}: ${shortMessage(e)}`.replace("SMTP : ", "SMTP error: ");
  if (status !== undefined) {
    return status >= 400 && status < 500 ? { kind: "retry", status, code, reason } : { kind: "permanent", status, code, reason };
  }
  const certificate = /certificate|CERT_|self[- ]signed|wrong version number|SSL routines/i.test(shortMessage(e));
  if (code && CONNECTION_CODES.has(code) && !certificate) return { kind: "retry", code, reason };
  return { kind: "permanent", code, reason };
}

function smtpStatus(response: unknown): number {
  const m = typeof response === "string" ? /^(\d{3})/.exec(response) : null;
  return m ? Number(m[1]) : 250;
}

/** The subject and both bodies of the mail for an event. */
export function emailOf(event: DeliveryEvent, config: EmailConfig): EmailContent {
  const summary = summaryOf(event);
  const { subject, template } = config;
  return emailContent(summary, subject || template ? { subject, template, view: templateView(event, summary) } : undefined);
}

export async function sendEmail(event: DeliveryEvent, config: EmailConfig, ctx: AttemptContext<unknown>): Promise<Outcome> {
  const mail = emailOf(event, config);
  await ctx.checkHost(config.smtp.settings.host);
  let message: ComposedMessage;
  let info: any;
  try {
    // Composed here in one pass and handed over whole: nodemailer's own build takes eleven event-loop turns.
    message = composeMessage({ from: config.smtp.settings.from, to: config.recipients, ...mail });
    info = await config.smtp.transport().sendMail({ envelope: message.envelope, raw: message.raw, messageId: message.messageId, signal: ctx.signal });
  } catch (e) {
    return classifySmtpError(e);
  }
  const accepted = (info.accepted ?? []).map(String);
  const rejected = (info.rejected ?? []).map(String);
  return {
    kind: "ok",
    status: smtpStatus(info.response),
    id: message.messageId,
    msg: { delivery: { accepted, rejected } },
  };
}

export const emailTarget: Target<EmailConfig, unknown> = {
  name: "SMTP server",
  secrets: (c) => [c.smtp.settings.password].filter((s): s is string => !!s),
  send: sendEmail,
  /** The subject and the plain-text part (the HTML part says the same). */
  preview(event, config): string {
    const mail = emailOf(event, config);
    return `Subject: ${mail.subject}\n\n${mail.text}`;
  },
};
