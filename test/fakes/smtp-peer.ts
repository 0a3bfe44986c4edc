import type { AddressInfo } from "node:net";
import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";

/** A real SMTP server on 127.0.0.1 (smtp-server) that parses what it receives (mailparser). */
export interface ReceivedMail {
  mailFrom: string;
  rcptTo: string[];
  /** The authenticated user, if the client logged in. */
  user?: string;
  /** Whether the session ran over TLS (implicit or STARTTLS). */
  secure: boolean;
  parsed: ParsedMail;
}

export interface SmtpPeerOptions {
  /** Recipient address → SMTP reply code to refuse it with (e.g. 550 unknown user, 451 try later). */
  rejectRecipients?: Record<string, number>;
  /** Reply codes for successive DATA commands; the last one repeats. Default all 250. */
  dataReplies?: number[];
  /** Accepted logins; when set, AUTH is required and other logins get 535. */
  users?: Record<string, string>;
  /** Key and certificate for STARTTLS (or implicit TLS with `secure: true`); without them STARTTLS is off. */
  tls?: { key: string; cert: string; secure?: boolean };
  /**
   * false: accept each mail once its data has arrived, without parsing it (`mails` stays empty, `received`
   * counts). The bench uses this: a real server answers 250 when it has queued the mail, and mailparser's
   * parse costs this process 0.3–0.4 ms of CPU per mail, half of what the client being measured spends.
   */
  parse?: boolean;
  /** Hold each reply to the data this long (a slow server), so that sessions overlap. */
  dataDelayMs?: number;
}

export interface SmtpPeer {
  host: string;
  port: number;
  mails: ReceivedMail[];
  /** Number of DATA commands seen, answered with any code. */
  dataCommands: number;
  /** Number of mails accepted (answered 250), parsed or not. */
  received: number;
  /** The most client connections that were open at once. */
  peakSessions: number;
  /** Forgets the mails and counts so far. */
  reset(): void;
  waitForMails(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

function smtpError(code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code });
}

export async function startSmtpPeer(options: SmtpPeerOptions = {}): Promise<SmtpPeer> {
  const mails: ReceivedMail[] = [];
  const waiters: (() => void)[] = [];
  const replies = options.dataReplies ?? [250];
  const state = { dataCommands: 0, received: 0, sessions: 0, peakSessions: 0 };
  const parse = options.parse ?? true;

  const serverOptions: SMTPServerOptions = {
    logger: false,
    // A pooled client keeps its connection open: don't let close() wait the default 30 s for it.
    closeTimeout: 500,
    authOptional: !options.users,
    allowInsecureAuth: true,
    secure: options.tls?.secure ?? false,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : { disabledCommands: ["STARTTLS"] }),
    onConnect(_session, callback) {
      state.sessions++;
      state.peakSessions = Math.max(state.peakSessions, state.sessions);
      callback();
    },
    onClose() {
      state.sessions--;
    },
    onAuth(auth, _session, callback) {
      const expected = options.users?.[auth.username ?? ""];
      if (options.users && expected !== auth.password) return callback(smtpError(535, "5.7.8 Authentication credentials invalid"));
      callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      const code = options.rejectRecipients?.[address.address.toLowerCase()];
      if (code) return callback(smtpError(code, code >= 500 ? "5.1.1 No such user here" : "4.2.1 Mailbox busy, try later"));
      callback();
    },
    onData(stream, session, reply) {
      const callback = (error?: Error | null) => (options.dataDelayMs ? setTimeout(() => reply(error), options.dataDelayMs) : reply(error));
      const code = replies[Math.min(state.dataCommands, replies.length - 1)];
      state.dataCommands++;
      const refused = () => code >= 400 && smtpError(code, code >= 500 ? "5.6.0 Message refused" : "4.3.0 Temporary failure, try later");
      if (!parse) {
        stream.on("data", () => {});
        stream.on("end", () => {
          const error = refused();
          if (error) return callback(error);
          state.received++;
          callback();
        });
        return;
      }
      simpleParser(stream).then(
        (parsed) => {
          const error = refused();
          if (error) return callback(error);
          state.received++;
          mails.push({
            mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
            rcptTo: session.envelope.rcptTo.map((r) => r.address),
            user: typeof session.user === "string" ? session.user : undefined,
            secure: session.secure,
            parsed,
          });
          waiters.splice(0).forEach((wake) => wake());
          callback();
        },
        (error) => callback(error),
      );
    },
  };
  const server = new SMTPServer(serverOptions);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  server.on("error", () => {
    /* client hang-ups during tests are expected */
  });
  const port = ((server as any).server.address() as AddressInfo).port;

  return {
    host: "127.0.0.1",
    port,
    mails,
    get dataCommands() {
      return state.dataCommands;
    },
    get received() {
      return state.received;
    },
    get peakSessions() {
      return state.peakSessions;
    },
    reset() {
      mails.length = 0;
      state.dataCommands = 0;
      state.received = 0;
      state.peakSessions = state.sessions;
    },
    async waitForMails(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (mails.length < count) {
        if (Date.now() > deadline) throw new Error(`SMTP peer received ${mails.length} of ${count} mails`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
      return mails;
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
