import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A loopback AWS endpoint speaking the Query protocol (form-encoded POST, XML answers) for the two
 * calls the SNS node makes: SNS `Publish` and STS `AssumeRole`. It records every request's form
 * fields, reads the SigV4 `Authorization` header and, for keys it knows, checks the signature, so a
 * test can assert which key signed a request and that it was signed correctly.
 */

export interface SigV4 {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** true/false when the peer knows the key's secret, undefined otherwise. */
  valid?: boolean;
}

export interface AwsQueryRequest {
  action: string;
  form: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** undefined when the request carried no SigV4 Authorization header. */
  sigv4?: SigV4;
  sessionToken?: string;
}

export interface ScriptedAwsError {
  status: number;
  code: string;
  message: string;
  type?: "Sender" | "Receiver";
}

/** Errors AWS really answers with, ready to script. */
export const AWS_ERRORS = {
  throttling: { status: 400, code: "Throttling", message: "Rate exceeded" },
  notFound: { status: 404, code: "NotFound", message: "Topic does not exist" },
  authorization: {
    status: 403,
    code: "AuthorizationError",
    message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: SNS:Publish on resource",
  },
  invalidParameter: { status: 400, code: "InvalidParameter", message: "Invalid parameter: Message too long" },
  internal: { status: 500, code: "InternalError", message: "Internal failure", type: "Receiver" },
  accessDenied: {
    status: 403,
    code: "AccessDenied",
    message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: sts:AssumeRole",
  },
} satisfies Record<string, ScriptedAwsError>;

export interface TemporaryKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

export interface AwsQueryPeer {
  url: string;
  requests: AwsQueryRequest[];
  publishes(): AwsQueryRequest[];
  assumeRoles(): AwsQueryRequest[];
  /** The temporary credentials AssumeRole hands out. */
  temporary: TemporaryKey;
  /** Answer the next `times` requests for `action` with `error` ("hang": never answer). */
  failNext(action: "Publish" | "AssumeRole", error: ScriptedAwsError | "hang", times?: number): void;
  /** Client connections currently open. */
  openConnections(): number;
  /** Resolves once every client connection has closed. */
  allClosed(): Promise<void>;
  close(): Promise<void>;
}

const SNS_NS = "http://sns.amazonaws.com/doc/2010-03-31/";
const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";

function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

function parseSigV4(header: string | undefined): SigV4 | undefined {
  const m = header ? AUTH.exec(header) : null;
  if (!m) return undefined;
  return { accessKeyId: m[1], date: m[2], region: m[3], service: m[4], signedHeaders: m[5].split(";"), signature: m[6] };
}

function hmac(key: crypto.BinaryLike, data: string): Buffer {
  return crypto.createHmac("sha256", key).update(data, "utf8").digest();
}

function sha256Hex(data: string | Buffer): string {
  return crypto.createHash("sha256").update(data).digest("hex");
}

/** Recomputes the SigV4 signature of a request (path "/" and no query, as the Query protocol sends). */
function expectedSignature(req: http.IncomingMessage, body: Buffer, sig: SigV4, secret: string): string {
  const url = new URL(req.url ?? "/", "http://peer");
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join("&");
  const canonicalHeaders = sig.signedHeaders
    .map((name) => {
      const raw = req.headers[name];
      const value = Array.isArray(raw) ? raw.join(",") : (raw ?? "");
      return `${name}:${value.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
  const payloadHash = (req.headers["x-amz-content-sha256"] as string | undefined) ?? sha256Hex(body);
  const canonicalRequest = [req.method, url.pathname, query, canonicalHeaders, sig.signedHeaders.join(";"), payloadHash].join("\n");
  const scope = `${sig.date}/${sig.region}/${sig.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", req.headers["x-amz-date"], scope, sha256Hex(canonicalRequest)].join("\n");
  let key = hmac(`AWS4${secret}`, sig.date);
  for (const part of [sig.region, sig.service, "aws4_request"]) key = hmac(key, part);
  return hmac(key, stringToSign).toString("hex");
}

function errorXml(ns: string, error: ScriptedAwsError, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${ns}"><Error><Type>${error.type ?? "Sender"}</Type><Code>${xmlEscape(error.code)}</Code>` +
    `<Message>${xmlEscape(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

/**
 * Starts the peer on 127.0.0.1. `keys` maps access key ids to their secrets (the configured static
 * key); the temporary key AssumeRole returns is known to the peer as well.
 */
export async function startAwsQueryPeer(keys: Record<string, string> = {}): Promise<AwsQueryPeer> {
  const requests: AwsQueryRequest[] = [];
  const scripted: { action: string; error: ScriptedAwsError | "hang" }[] = [];
  const sockets = new Set<Socket>();
  const temporary: TemporaryKey = {
    accessKeyId: `ASIA${crypto.randomBytes(8).toString("hex").toUpperCase()}`,
    secretAccessKey: crypto.randomBytes(20).toString("base64"),
    sessionToken: `FwoGZXIvYXdzE${crypto.randomBytes(24).toString("base64")}`,
  };
  const secrets = new Map<string, string>(Object.entries(keys));
  secrets.set(temporary.accessKeyId, temporary.secretAccessKey);
  let counter = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const text = body.toString("utf8");
      const form = Object.fromEntries(new URLSearchParams(text));
      const sigv4 = parseSigV4(req.headers.authorization);
      if (sigv4) {
        const secret = secrets.get(sigv4.accessKeyId);
        if (secret !== undefined) sigv4.valid = expectedSignature(req, body, sigv4, secret) === sigv4.signature;
      }
      const token = req.headers["x-amz-security-token"];
      const record: AwsQueryRequest = {
        action: form.Action ?? "",
        form,
        headers: req.headers,
        body: text,
        sigv4,
        sessionToken: typeof token === "string" ? token : undefined,
      };
      requests.push(record);
      counter += 1;
      const requestId = `00000000-0000-4000-8000-${String(counter).padStart(12, "0")}`;
      const ns = record.action === "AssumeRole" ? STS_NS : SNS_NS;
      const reply = (status: number, xml: string) => {
        res.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": requestId });
        res.end(xml);
      };

      const i = scripted.findIndex((s) => s.action === record.action);
      if (i >= 0) {
        const [{ error }] = scripted.splice(i, 1);
        if (error === "hang") return;
        reply(error.status, errorXml(ns, error, requestId));
        return;
      }
      if (!sigv4 || sigv4.valid === false) {
        reply(403, errorXml(ns, { status: 403, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match" }, requestId));
        return;
      }
      if (record.action === "Publish") {
        const messageId = crypto.randomUUID();
        const sequence = form.TopicArn?.endsWith(".fifo") ? `<SequenceNumber>${String(counter).padStart(20, "1")}</SequenceNumber>` : "";
        reply(200, `<PublishResponse xmlns="${ns}"><PublishResult><MessageId>${messageId}</MessageId>${sequence}</PublishResult>` +
          `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`);
        return;
      }
      if (record.action === "AssumeRole") {
        const expiration = new Date(Date.now() + Number(form.DurationSeconds || 3600) * 1000).toISOString();
        const session = xmlEscape(form.RoleSessionName ?? "session");
        reply(200, `<AssumeRoleResponse xmlns="${ns}"><AssumeRoleResult>` +
          `<AssumedRoleUser><Arn>${xmlEscape(form.RoleArn ?? "")}/${session}</Arn><AssumedRoleId>AROAEXAMPLE:${session}</AssumedRoleId></AssumedRoleUser>` +
          `<Credentials><AccessKeyId>${temporary.accessKeyId}</AccessKeyId><SecretAccessKey>${xmlEscape(temporary.secretAccessKey)}</SecretAccessKey>` +
          `<SessionToken>${xmlEscape(temporary.sessionToken)}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
          `</AssumeRoleResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`);
        return;
      }
      reply(400, errorXml(ns, { status: 400, code: "InvalidAction", message: `Unknown action ${record.action}` }, requestId));
    });
  });
  // Idle keep-alive connections stay open until the client closes them (so a test can see that it does).
  server.keepAliveTimeout = 10 * 60_000;
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    publishes: () => requests.filter((r) => r.action === "Publish"),
    assumeRoles: () => requests.filter((r) => r.action === "AssumeRole"),
    temporary,
    failNext(action, error, times = 1) {
      for (let n = 0; n < times; n++) scripted.push({ action, error });
    },
    openConnections: () => sockets.size,
    allClosed: () => Promise.all([...sockets].map((s) => new Promise((resolve) => s.once("close", resolve)))).then(() => undefined),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The SNS message attributes of a recorded Publish, as `{name: value}`. */
export function messageAttributes(request: AwsQueryRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (let n = 1; request.form[`MessageAttributes.entry.${n}.Name`] !== undefined; n++) {
    out[request.form[`MessageAttributes.entry.${n}.Name`]] = request.form[`MessageAttributes.entry.${n}.Value.StringValue`];
  }
  return out;
}
