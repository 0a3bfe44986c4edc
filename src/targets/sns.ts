import { createHash } from "node:crypto";
import { PublishCommand, SNSClient, type MessageAttributeValue, type PublishCommandInput, type SNSClientConfig } from "@aws-sdk/client-sns";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";
import { proxyFor, TunnelAgent } from "../delivery/proxy";
import { renderSnsMessage, SnsMessageTooLargeError } from "../render/sns-message";
import { ConfigError, type DeliveryEvent, type Outcome, type Target } from "./types";
import { idempotencyKeyOf } from "../delivery/idempotency";

/** AWS SNS `Publish` through the AWS SDK (Query protocol, SigV4), with static keys, AssumeRole or the default chain. */

export interface SnsConfig {
  region: string;
  topicArn: string;
  fifo: boolean;
  assumeRoleArn?: string;
  externalId?: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export const ROLE_SESSION_NAME = "node-red-cse-actions";

const PARTITION = "aws(?:-[a-z]+)*";
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const TOPIC_ARN = new RegExp(`^arn:(${PARTITION}):sns:([a-z0-9-]+):(\\d{12}):([A-Za-z0-9_-]{1,256}(?:\\.fifo)?)$`);
const ROLE_ARN = new RegExp(`^arn:(${PARTITION}):iam::(\\d{12}):role/(?:[\\w+=,.@-]+/)*[\\w+=,.@-]{1,64}$`);
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

export interface TopicArn {
  partition: string;
  region: string;
  account: string;
  name: string;
}

export function parseTopicArn(arn: string): TopicArn | undefined {
  const m = TOPIC_ARN.exec(arn);
  if (!m || !REGION.test(m[2])) return undefined;
  return { partition: m[1], region: m[2], account: m[3], name: m[4] };
}

function text(value: unknown): string {
  return typeof value === "string" ? value.trim() : value === undefined || value === null ? "" : String(value).trim();
}

/**
 * The SNS config from node properties and credentials; a bad value throws ConfigError naming the field.
 * An empty region is taken from the topic ARN.
 */
export function snsConfig(props: Record<string, unknown>, creds: Record<string, string | undefined>): SnsConfig {
  const topicArn = text(props.topicArn);
  if (!topicArn) throw new ConfigError("topicArn", "is required");
  const topic = parseTopicArn(topicArn);
  if (!topic) {
    throw new ConfigError("topicArn", "not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>)");
  }
  const region = text(props.region) || topic.region;
  if (!REGION.test(region)) throw new ConfigError("region", `${region} is not an AWS region name (like us-east-1)`);
  if (region !== topic.region) {
    throw new ConfigError("region", `${region} does not match the topic ARN's region ${topic.region}`);
  }
  const assumeRoleArn = text(props.assumeRoleArn) || undefined;
  if (assumeRoleArn && !ROLE_ARN.test(assumeRoleArn)) {
    throw new ConfigError("assumeRoleArn", "not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)");
  }
  const externalId = text(props.externalId) || undefined;
  if (externalId && !assumeRoleArn) throw new ConfigError("externalId", "is only used with assumeRoleArn; set the role or clear it");
  if (externalId && !EXTERNAL_ID.test(externalId)) {
    throw new ConfigError("externalId", "must be 2 to 1224 characters of letters, digits and +=,.@:/-_");
  }
  const endpoint = text(props.endpoint) || undefined;
  if (endpoint) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
      throw new ConfigError("endpoint", "not an http(s) URL");
    }
  }
  const accessKeyId = text(creds.accessKeyId) || undefined;
  const secretAccessKey = text(creds.secretAccessKey) || undefined;
  if (accessKeyId && !secretAccessKey) throw new ConfigError("secretAccessKey", "is required with an access key ID");
  if (secretAccessKey && !accessKeyId) throw new ConfigError("accessKeyId", "is required with a secret access key");
  return { region, topicArn, fifo: topic.name.endsWith(".fifo"), assumeRoleArn, externalId, endpoint, accessKeyId, secretAccessKey };
}

/** Errors of the AssumeRole call, told apart from SNS's own. */
class AssumeRoleError extends Error {
  constructor(readonly stsError: unknown) {
    super("AssumeRole failed");
  }
}

function credentialsFor(c: SnsConfig): SNSClientConfig["credentials"] {
  const keys = c.accessKeyId && c.secretAccessKey ? { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey } : undefined;
  if (!c.assumeRoleArn) return keys; // undefined: the SDK's default chain (environment, shared files, instance role)
  const assume = fromTemporaryCredentials({
    masterCredentials: keys,
    params: {
      RoleArn: c.assumeRoleArn,
      RoleSessionName: ROLE_SESSION_NAME,
      ...(c.externalId ? { ExternalId: c.externalId } : {}),
      DurationSeconds: 3600,
    },
    // STS at its standard regional endpoint, or AWS_ENDPOINT_URL_STS; the engine retries, not the SDK.
    clientConfig: { region: c.region, maxAttempts: 1 },
  });
  return async (props?: Parameters<typeof assume>[0]) => {
    try {
      return await assume(props);
    } catch (e) {
      throw new AssumeRoleError(e);
    }
  };
}

/** The URL the client talks to: the node's endpoint, or SNS's regional one. */
function snsUrl(c: SnsConfig): URL {
  if (c.endpoint) return new URL(c.endpoint);
  const suffix = c.region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return new URL(`https://sns.${c.region}.${suffix}`);
}

/**
 * One SNS client per node (its STS calls share its connections). HTTPS_PROXY / NO_PROXY apply to an https
 * endpoint through a CONNECT tunnel; a plain-http endpoint (a local emulator) is always reached directly.
 */
export function openSnsClient(c: SnsConfig, env: Record<string, string | undefined> = process.env): SNSClient {
  const url = snsUrl(c);
  const proxy = url.protocol === "https:" ? proxyFor(url, env) : undefined;
  return new SNSClient({
    region: c.region,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    credentials: credentialsFor(c),
    maxAttempts: 1,
    ...(proxy ? { requestHandler: { httpsAgent: new TunnelAgent(proxy, { keepAlive: true }) } } : {}),
  });
}

/** FIFO ids allow 1-128 of these characters; anything else is hashed. */
function fifoId(value: string): string {
  return /^[\x21-\x7e]{1,128}$/.test(value) ? value : createHash("sha256").update(value).digest("hex");
}

/**
 * FIFO message group: the subject the event is about (the Insight's id, `sensor:<id>`, `rule:<id>`), so the
 * events of one Insight stay in order (created before closed) while different Insights do not wait for each other.
 */
export function fifoGroupId(event: DeliveryEvent): string {
  const key = event.cse.key;
  const cut = key.lastIndexOf(":");
  return fifoId(cut > 0 ? key.slice(0, cut) : key);
}

export function publishInput(event: DeliveryEvent, c: SnsConfig): PublishCommandInput {
  const rendered = renderSnsMessage(event.topic, event.payload);
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(rendered.attributes)) attributes[name] = { DataType: "String", StringValue: value };
  const input: PublishCommandInput = {
    TopicArn: c.topicArn,
    Message: rendered.message,
    Subject: rendered.subject,
    MessageAttributes: attributes,
  };
  if (c.fifo) {
    input.MessageGroupId = fifoGroupId(event);
    input.MessageDeduplicationId = fifoId(idempotencyKeyOf(event));
  }
  return input;
}

const THROTTLING = new Set([
  "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
  "RequestLimitExceeded", "RequestThrottled", "SlowDown", "PriorRequestNotComplete", "KMSThrottlingException",
]);
const TRANSIENT = new Set(["InternalError", "InternalErrorException", "InternalFailure", "ServiceUnavailable", "ServiceUnavailableException", "TimeoutError", "RequestTimeout", "RequestTimeoutException", "ExpiredToken", "ExpiredTokenException", "IDPCommunicationError"]);
const BAD_CREDENTIALS = new Set(["InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "InvalidSecurity", "InvalidSecurityException", "IncompleteSignature", "MissingAuthenticationToken"]);

interface AwsError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

function awsMessage(e: AwsError): string {
  const message = (e.message ?? "").replace(/\s+/g, " ").trim();
  return message.length > 200 ? `${message.slice(0, 197)}...` : message;
}

/** What one SNS (or STS) error means: retry or permanent, with a clear reason. */
export function classifySnsError(error: unknown, c: SnsConfig): Outcome | undefined {
  const viaSts = error instanceof AssumeRoleError;
  const e = (viaSts ? error.stsError : error) as AwsError;
  const name = e?.name ?? "Error";
  const status = e?.$metadata?.httpStatusCode;
  const detail = awsMessage(e);
  const where = viaSts ? "STS AssumeRole" : "SNS";
  const code = name;
  const head = `${status ? `HTTP ${status} ` : ""}${name}`;

  if (THROTTLING.has(name) || TRANSIENT.has(name) || (status !== undefined && (status === 429 || status >= 500))) {
    return { kind: "retry", status, code, reason: `${where} ${head}${detail ? `: ${detail}` : ""}` };
  }
  if (status === undefined) {
    if (name === "CredentialsProviderError") {
      return {
        kind: "permanent",
        code,
        reason: viaSts
          ? "no AWS credentials for the AssumeRole call: set the access keys or give Node-RED credentials (environment, shared files, instance role)"
          : "no AWS credentials: set the access keys or give Node-RED credentials (environment, shared files, instance role)",
      };
    }
    return undefined; // network error or abort: the engine decides
  }
  if (viaSts) {
    if (name === "AccessDenied" || name === "AccessDeniedException") {
      return { kind: "permanent", status, code, reason: `not allowed to assume ${c.assumeRoleArn}; check sts:AssumeRole in the caller's policy and the role's trust policy and external ID (${where} ${head})` };
    }
    if (name === "RegionDisabledException") {
      return { kind: "permanent", status, code, reason: `STS is not activated in ${c.region} (${where} ${head})` };
    }
  }
  if (name === "NotFoundException" || name === "NotFound") {
    return { kind: "permanent", status, code, reason: `topic not found: ${c.topicArn} (${head})` };
  }
  if (name === "AuthorizationErrorException" || name === "AuthorizationError") {
    return { kind: "permanent", status, code, reason: `not authorized to publish to ${c.topicArn}; the IAM policy needs sns:Publish on the topic (${head})` };
  }
  if (BAD_CREDENTIALS.has(name)) {
    return { kind: "permanent", status, code, reason: `AWS rejected the credentials (${where} ${head})` };
  }
  if (name.startsWith("InvalidParameter")) {
    return { kind: "permanent", status, code, reason: `invalid parameter${detail ? `: ${detail}` : ""} (${head})` };
  }
  if (name.startsWith("KMS")) {
    return { kind: "permanent", status, code, reason: `the topic's KMS key cannot be used${detail ? `: ${detail}` : ""} (${head})` };
  }
  return { kind: "permanent", status, code, reason: `${where} ${head}${detail ? `: ${detail}` : ""}` };
}

export const snsTarget: Target<SnsConfig, SNSClient> = {
  name: "AWS SNS",
  secrets: (c) => [c.secretAccessKey, c.accessKeyId].filter((s): s is string => Boolean(s)),
  open: (c) => openSnsClient(c),
  close: (client) => client.destroy(),
  /** The Publish call's Subject, Message and MessageAttributes (and FIFO ids), as JSON. */
  preview(event, c): string {
    const { TopicArn: _topic, ...input } = publishInput(event, c);
    return JSON.stringify(input);
  },
  async send(event, c, ctx): Promise<Outcome> {
    if (c.endpoint) await ctx.checkHost(c.endpoint);
    let input: PublishCommandInput;
    try {
      input = publishInput(event, c);
    } catch (e) {
      if (e instanceof SnsMessageTooLargeError) return { kind: "permanent", code: "MessageTooLarge", reason: e.message };
      throw e;
    }
    try {
      const out = await ctx.resources.send(new PublishCommand(input), { abortSignal: ctx.signal });
      return { kind: "ok", status: out.$metadata.httpStatusCode ?? 200, id: out.MessageId };
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      const outcome = classifySnsError(e, c);
      if (outcome) return outcome;
      throw e instanceof AssumeRoleError ? e.stsError : e;
    }
  },
};
