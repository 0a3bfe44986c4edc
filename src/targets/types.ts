import type { CseMeta, EventTopic, Insight, RuleAutoDisabled, SensorOffline } from "../events/types";

/** What a target receives: the event of one message. `cse` is always present (built when missing). */
export interface DeliveryEvent {
  topic: EventTopic;
  /** The Insight already unwrapped from its `{data, errors}` envelope, or a sensor/rule payload. */
  payload: Insight | SensorOffline | RuleAutoDisabled;
  cse: CseMeta;
}

/** The result of one attempt. */
export type Outcome =
  | {
      kind: "ok";
      /** HTTP status, SMTP code, ... */
      status?: number;
      /** The target's own id for what it created (Slack ts, SNS MessageId ...): `msg.delivery.id`. */
      id?: string;
      /** Fields merged onto the output message on success (e.g. `{ enrichments }`). */
      msg?: Record<string, unknown>;
    }
  | {
      kind: "retry";
      status?: number;
      /** The target's own error code (`ratelimited`, `ECONNRESET`, ...). */
      code?: string;
      /** Short human text, e.g. `HTTP 503`. */
      reason: string;
      /** How long the target asked us to wait (Retry-After). Over 5 minutes fails instead of waiting. */
      retryAfterMs?: number;
    }
  | { kind: "permanent"; status?: number; code?: string; reason: string };

/** A bad node configuration, found at deploy: shown as "field: problem" and every message is rejected with it. */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = "ConfigError";
  }
}

export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  pfx?: Buffer;
  passphrase?: string;
  rejectUnauthorized?: boolean;
}

export interface HttpRequest {
  /** Default POST. */
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers?: Record<string, string>;
  /** Sent exactly as given. */
  body?: string | Buffer;
  /** Client certificate / own CA. One set of keep-alive connections per distinct object per node. */
  tls?: TlsOptions;
}

export interface HttpAnswer {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

/** The message as the node accepted it, for a target that would send its payload's JSON as it is. */
export interface AcceptedMessage {
  /**
   * When the event's payload is the very `msg.payload` the node journalled: its JSON as JSON.stringify wrote it
   * then, read back from the journal. Undefined when it cannot be had (no file journal, cluster mode, a payload
   * the journal could not write as is, a read error); the target then serialises the payload itself.
   */
  acceptedPayloadJson?(): Buffer | undefined;
}

/** Per-attempt context for `send()`-style targets. */
export interface AttemptContext<R = void> {
  /** Aborted on the attempt's timeout and when the node closes. */
  signal: AbortSignal;
  timeoutMs: number;
  /** 1-based. */
  attempt: number;
  maxAttempts: number;
  resources: R;
  /**
   * The engine's guarded HTTP client (keep-alive, proxies, metadata guard, no redirects, this attempt's signal).
   * Resolves with any status; rejects only on a network error or abort.
   */
  http(req: HttpRequest): Promise<HttpAnswer>;
  /** Rejects if the host (or a URL's host) is or resolves to a cloud metadata address that is not allowed. */
  checkHost(hostOrUrl: string): Promise<void>;
}

/** One target system: how an event becomes a request and what the answer means. */
export interface Target<C, R = void> {
  /** Name used in errors: `<node>: <name> answered HTTP 400 no_text`. */
  name: string;
  /** Every secret in the config (credentials, webhook URL path and query): redacted from every text. */
  secrets(config: C): string[];
  /** Extra deploy-time checks; throw ConfigError. */
  validate?(config: C): void;
  /** HTTP form: the request for an event (`accepted` is missing for a Test or Preview). */
  request?(event: DeliveryEvent, config: C, accepted?: AcceptedMessage): HttpRequest;
  /** HTTP form: the answer's meaning; undefined falls back to classifyHttp. */
  classify?(answer: HttpAnswer, event: DeliveryEvent, config: C): Outcome | undefined;
  /** Custom form: one attempt. */
  send?(event: DeliveryEvent, config: C, ctx: AttemptContext<R>): Promise<Outcome>;
  /**
   * Custom form: what `send` would transmit for an event, as text, for the editor's Preview. Never a
   * secret (no credentials, no addresses that are secret). HTTP-form targets are previewed from `request`.
   */
  preview?(event: DeliveryEvent, config: C): string;
  /** Per-node resources, opened when the node starts. */
  open?(config: C): R;
  /** Called once when the node closes, after in-flight attempts were aborted. */
  close?(resources: R): void | Promise<void>;
}
