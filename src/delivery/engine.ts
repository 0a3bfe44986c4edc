/**
 * The delivery engine: one per action node. Owns the bounded queue, concurrency, attempts, backoff with
 * jitter, Retry-After, per-attempt timeouts, abort on close and redaction. Targets only build requests and
 * classify answers (src/targets/types.ts).
 */
import { randomUUID } from "node:crypto";
import type { AcceptedMessage, AttemptContext, DeliveryEvent, Outcome, Target } from "../targets/types";
import { backoffDelay, MAX_RETRY_AFTER_MS, sleep as realSleep } from "./backoff";
import { Breaker, type Pass } from "./breaker";
import { classifyError, classifyHttp } from "./classify";
import { checkHost } from "./guard";
import { HttpClient } from "./http";
import { idempotencyKeyFor, type KeyedEvent } from "./idempotency";
import { redact } from "./redact";
import { within } from "./within";

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_QUEUE_LIMIT = 10_000;

/** A unit of work, serialisable as JSON so a journal can keep it across restarts. */
export interface DeliveryJob {
  /** Our own id (never `_msgid`), given when the node accepted the message; kept by the journal. */
  id: string;
  /** The event, with the idempotency key of this accepted message (see ./idempotency). */
  event: KeyedEvent;
  /** ISO-8601 time the node accepted the message. */
  acceptedAt: string;
}

export interface DeliveryResult {
  ok: boolean;
  /** The last HTTP status / SMTP code, null when the target never answered. */
  status: number | null;
  /** The target's error code, when it gave one. */
  code?: string;
  attempts: number;
  durationMs: number;
  /** The target's own id for what it created. */
  id?: string;
  /** Fields for the output message (Outcome.msg). */
  msg?: Record<string, unknown>;
  /** Short reason for a failure (status text), redacted. */
  reason?: string;
  /** Full failure text for done(err), naming the node, redacted. */
  error?: string;
  /** True when the node closed before the job finished (a journal keeps such jobs for the next start). */
  closed?: boolean;
}

/** Where a journal slots in: called when a job enters the queue and when it leaves it. Must not throw. */
export interface JobHooks {
  accepted?(job: DeliveryJob): void;
  completed?(job: DeliveryJob, result: DeliveryResult): void;
}

export type EngineState =
  | { phase: "sending"; attempt: number; maxAttempts: number }
  | { phase: "retrying"; attempt: number; maxAttempts: number; reason: string; waitMs: number }
  | { phase: "sent"; at: Date }
  | { phase: "failed"; reason: string };

export interface EngineOptions {
  /** Names the node in errors: `cse-http-post "SOC receiver"`. */
  label: string;
  timeoutMs?: number;
  maxAttempts?: number;
  concurrency?: number;
  queueLimit?: number;
  /** Multiplies every wait (tests use e.g. 0.001). */
  delayScale?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  allowMetadataAddresses?: () => boolean;
  env?: Record<string, string | undefined>;
  hooks?: JobHooks;
  onState?: (state: EngineState) => void;
}

/** Thrown by submit() when the queue is full; the message must go to Catch. */
export class QueueFullError extends Error {
  readonly code = "EQUEUEFULL";
}

class ClosedError extends Error {}
class AttemptTimeout extends Error {}
/** Ends a backoff early: another job of the node just got through, so the receiver is back. */
class Woken extends Error {}

interface Pending {
  job: DeliveryJob;
  resolve: (result: DeliveryResult) => void;
  accepted?: AcceptedMessage;
}

/**
 * A job for an accepted event. A journalled job started again after a restart passes its original `id`
 * (and acceptance time), so its idempotency key is the same as before.
 */
export function newJob(event: DeliveryEvent, now = new Date(), id: string = randomUUID()): DeliveryJob {
  const keyed: KeyedEvent = { ...event, idempotencyKey: idempotencyKeyFor(event, id) };
  return { id, event: keyed, acceptedAt: now.toISOString() };
}

export class DeliveryEngine<C, R = void> {
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly concurrency: number;
  readonly queueLimit: number;
  private readonly waiting = new FifoQueue<Pending>();
  private running = 0;
  private readonly closing = new AbortController();
  private readonly idle = new Set<Promise<void>>();
  /** Backoffs that another job's success may end early (see wait()). */
  private readonly sleepers = new Set<AbortController>();
  /** Stops each attempt under way (with the reason: a timeout, or the node closing). */
  private readonly underWay = new Set<(reason: unknown) => void>();
  private readonly http: HttpClient;
  /** Holds attempts while the receiver is away, probing with one at a time (./breaker). */
  private readonly breaker: Breaker;
  private readonly resources: R;
  private readonly secrets: string[];

  constructor(
    private readonly target: Target<C, R>,
    private readonly config: C,
    private readonly options: EngineOptions,
  ) {
    this.timeoutMs = positive(options.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.maxAttempts = Math.floor(positive(options.maxAttempts, DEFAULT_MAX_ATTEMPTS));
    this.concurrency = Math.floor(positive(options.concurrency, DEFAULT_CONCURRENCY));
    this.queueLimit = Math.floor(positive(options.queueLimit, DEFAULT_QUEUE_LIMIT));
    this.secrets = target.secrets(config).filter(Boolean);
    this.http = new HttpClient({ allowMetadataAddresses: options.allowMetadataAddresses, env: options.env });
    this.breaker = new Breaker({
      threshold: Math.max(2, this.concurrency),
      sleep: options.sleep ?? realSleep,
      delayScale: Math.max(0, options.delayScale ?? 1),
      random: options.random,
      reachable: () => this.http.acceptsConnections(),
    });
    this.resources = target.open ? target.open(config) : (undefined as R);
  }

  /** Messages accepted and not finished (waiting + in flight). */
  get size(): number {
    return this.waiting.size + this.running;
  }

  /** Messages waiting for their first attempt. */
  get queued(): number {
    return this.waiting.size;
  }

  /** Messages being delivered: an attempt, or the wait before the next one. */
  get inFlight(): number {
    return this.running;
  }

  /** Redacts this node's secrets from `text`. */
  redact(text: string): string {
    return redact(text, this.secrets);
  }

  /**
   * Throws QueueFullError when a new job would be refused (queue full, or the node closing); `reserved` jobs
   * were accepted and are about to be submitted (their journal line is being written).
   */
  assertAccepting(reserved = 0): void {
    if (this.closing.signal.aborted) throw new QueueFullError(`${this.options.label}: the node is closing; message refused`);
    if (this.waiting.size + reserved >= this.queueLimit) {
      throw new QueueFullError(`${this.options.label}: queue full (${this.queueLimit} messages waiting); message refused`);
    }
  }

  /**
   * Queues a job. Throws QueueFullError (synchronously) when the queue is full or the node is closing;
   * otherwise the promise resolves (never rejects) with the result once delivered, failed or closed.
   * `resumed` jobs (taken back from the journal at start) are queued even beyond the queue limit: they were
   * accepted before. `accepted` is handed to the target on each attempt.
   */
  submit(job: DeliveryJob, options: { resumed?: boolean; accepted?: AcceptedMessage } = {}): Promise<DeliveryResult> {
    if (options.resumed) {
      if (this.closing.signal.aborted) throw new QueueFullError(`${this.options.label}: the node is closing; message refused`);
    } else {
      this.assertAccepting();
    }
    return new Promise((resolve) => {
      this.waiting.push({ job, resolve, accepted: options.accepted });
      this.options.hooks?.accepted?.(job);
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.concurrency && this.waiting.size > 0) {
      const pending = this.waiting.take()!;
      this.running++;
      const work: Promise<void> = this.deliver(pending.job, pending.accepted)
        .then((result) => this.finish(pending, result))
        .finally(() => {
          this.running--;
          this.idle.delete(work);
          this.pump();
        });
      this.idle.add(work);
    }
  }

  private finish(pending: Pending, result: DeliveryResult): void {
    try {
      this.options.hooks?.completed?.(pending.job, result);
    } finally {
      pending.resolve(result);
    }
  }

  private state(state: EngineState): void {
    try {
      this.options.onState?.(state);
    } catch {
      // a status display must never break a delivery
    }
  }

  /**
   * Sleeps before a retry. A `wakeable` backoff (after a network error, a timeout or a 5xx) ends as soon as
   * another job of this node succeeds, so a backlog drains when the receiver is back instead of after the
   * longest backoff. A wait the target asked for (Retry-After) or a rejection of our request (e.g. 429) is kept.
   */
  private async wait(ms: number, wakeable = false): Promise<void> {
    const scaled = Math.max(0, ms * (this.options.delayScale ?? 1));
    const sleep = this.options.sleep ?? realSleep;
    if (!wakeable) return sleep(scaled, this.closing.signal);
    const wake = new AbortController();
    const onClose = () => wake.abort(this.closing.signal.reason);
    if (this.closing.signal.aborted) onClose();
    else this.closing.signal.addEventListener("abort", onClose, { once: true });
    this.sleepers.add(wake);
    try {
      await sleep(scaled, wake.signal);
    } catch (error) {
      if (!(error instanceof Woken) || this.closing.signal.aborted) throw error;
    } finally {
      this.sleepers.delete(wake);
      this.closing.signal.removeEventListener("abort", onClose);
    }
  }

  /** Ends the wakeable backoffs: the receiver answered, their next attempts go now. */
  private wakeSleepers(): void {
    for (const wake of this.sleepers) wake.abort(new Woken());
    this.sleepers.clear();
  }

  /** All attempts of one job. Never rejects. */
  private async deliver(job: DeliveryJob, accepted: AcceptedMessage | undefined): Promise<DeliveryResult> {
    const started = Date.now();
    let attempts = 0;
    let last: Outcome | undefined;
    const result = (fields: Partial<DeliveryResult>): DeliveryResult => ({
      ok: false,
      status: last && last.status !== undefined ? last.status : null,
      ...(last && last.kind !== "ok" && last.code ? { code: this.redact(last.code) } : {}),
      attempts,
      durationMs: Date.now() - started,
      ...fields,
    });
    try {
      for (;;) {
        const entered = this.breaker.enter(attempts);
        const pass: Pass = typeof entered === "string" ? entered : await entered;
        attempts++;
        this.state({ phase: "sending", attempt: attempts, maxAttempts: this.maxAttempts });
        last = await this.attempt(job, attempts, accepted);
        const receiverTrouble = last.kind === "retry" && (last.status === undefined || last.status >= 500);
        this.breaker.settle(pass, receiverTrouble ? "away" : "answered");
        if (last.kind === "ok") {
          if (this.sleepers.size > 0) this.wakeSleepers();
          this.state({ phase: "sent", at: new Date() });
          return result({ ok: true, ...(last.id !== undefined ? { id: last.id } : {}), ...(last.msg ? { msg: last.msg } : {}) });
        }
        const said = this.describe(last);
        const short = this.redact(last.reason);
        if (last.kind === "permanent") {
          return this.failed(result, said, short, attempts > 1 ? ` (attempt ${attempts} of ${this.maxAttempts})` : "");
        }
        if (attempts >= this.maxAttempts) {
          return this.failed(result, said, short, `, gave up after ${attempts} attempt${attempts > 1 ? "s" : ""}`);
        }
        let waitMs = backoffDelay(attempts, this.options.random);
        if (last.retryAfterMs !== undefined) {
          if (last.retryAfterMs > MAX_RETRY_AFTER_MS) {
            const seconds = Math.round(last.retryAfterMs / 1000);
            return this.failed(result, said, short, ` and asked to retry after ${seconds} s (more than 5 minutes); not waiting`);
          }
          waitMs = last.retryAfterMs;
        }
        this.state({ phase: "retrying", attempt: attempts + 1, maxAttempts: this.maxAttempts, reason: this.redact(last.reason), waitMs });
        // While the breaker is open its probes are the wait: this message's next attempt is a probe or follows one.
        if (receiverTrouble && last.retryAfterMs === undefined && this.breaker.isOpen) continue;
        await this.wait(waitMs, receiverTrouble && last.retryAfterMs === undefined);
      }
    } catch (error) {
      if (error instanceof ClosedError || this.closing.signal.aborted) {
        const text = "the node closed before the message was delivered";
        return result({ closed: true, reason: "node closed", error: `${this.options.label}: ${text}` });
      }
      const reason = this.redact(String((error as Error)?.message ?? error));
      this.state({ phase: "failed", reason });
      return result({ reason, error: `${this.options.label}: ${reason}` });
    }
  }

  /** "Slack answered HTTP 400 no_text" for an answer, the bare reason for a failure on the way. */
  private describe(outcome: Exclude<Outcome, { kind: "ok" }>): string {
    const reason = this.redact(outcome.reason);
    return outcome.status !== undefined ? `${this.target.name} answered ${reason}` : reason;
  }

  private failed(
    result: (f: Partial<DeliveryResult>) => DeliveryResult,
    said: string,
    short: string,
    suffix: string,
  ): DeliveryResult {
    this.state({ phase: "failed", reason: short });
    return result({ reason: short, error: `${this.options.label}: ${said}${this.redact(suffix)}` });
  }

  /**
   * One attempt, bounded by the timeout; a close aborts it. Stopping it (timeout or close) aborts its request and
   * ends it at once, even if the target does not heed the signal.
   */
  private async attempt(job: DeliveryJob, attempt: number, accepted: AcceptedMessage | undefined): Promise<Outcome> {
    if (this.closing.signal.aborted) throw new ClosedError();
    const controller = new AbortController();
    let end!: (reason: unknown) => void;
    const ended = new Promise<never>((_, reject) => (end = reject));
    ended.catch(() => undefined);
    const stop = (reason: unknown) => {
      controller.abort(reason);
      end(reason);
    };
    const timer = setTimeout(() => stop(new AttemptTimeout()), this.timeoutMs);
    this.underWay.add(stop);
    try {
      return await Promise.race([this.once(job, attempt, controller.signal, accepted), ended]);
    } catch (error) {
      if (error instanceof ClosedError || this.closing.signal.aborted) throw new ClosedError();
      if (error instanceof AttemptTimeout || controller.signal.reason instanceof AttemptTimeout) {
        return { kind: "retry", code: "ETIMEDOUT", reason: `${this.target.name} did not answer within ${this.timeoutMs} ms` };
      }
      return classifyError(error);
    } finally {
      clearTimeout(timer);
      this.underWay.delete(stop);
    }
  }

  private async once(job: DeliveryJob, attempt: number, signal: AbortSignal, accepted: AcceptedMessage | undefined): Promise<Outcome> {
    const { target, config } = this;
    const allow = this.options.allowMetadataAddresses ?? (() => false);
    if (target.send) {
      const ctx: AttemptContext<R> = {
        signal,
        timeoutMs: this.timeoutMs,
        attempt,
        maxAttempts: this.maxAttempts,
        resources: this.resources,
        http: (req) => this.http.request(req, signal),
        checkHost: (host) => checkHost(host, allow()),
      };
      return target.send(job.event, config, ctx);
    }
    if (!target.request) throw new Error(`${target.name} target has neither request() nor send()`);
    const req = target.request(job.event, config, accepted);
    const answer = await this.http.request(req, signal);
    return target.classify?.(answer, job.event, config) ?? classifyHttp(answer, undefined, req.url);
  }

  /**
   * Stops the node's deliveries: refuses new jobs, aborts in-flight attempts and waits, and resolves every
   * queued job with `closed: true`. Finishes quickly (in-flight requests are aborted, not awaited to the end).
   */
  async close(): Promise<void> {
    if (!this.closing.signal.aborted) this.closing.abort(new ClosedError());
    for (const stop of this.underWay) stop(new ClosedError());
    this.breaker.abort(new ClosedError());
    const queued = this.waiting.takeAll();
    for (const pending of queued) {
      this.finish(pending, {
        ok: false,
        status: null,
        attempts: 0,
        durationMs: 0,
        closed: true,
        reason: "node closed",
        error: `${this.options.label}: the node closed before the message was delivered`,
      });
    }
    await within(Promise.allSettled([...this.idle]), CLOSE_WAIT_MS);
    this.http.destroy();
    if (this.target.close) {
      try {
        await within(Promise.resolve(this.target.close(this.resources)), CLOSE_WAIT_MS);
      } catch {
        // closing a transport that is already broken is not an error worth reporting
      }
    }
  }
}

/**
 * First in, first out, O(1) per job. (Array#shift copies the whole array once it is big — a backlog of
 * 20,000 jobs made shift() the engine's largest cost while draining.)
 */
class FifoQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  take(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    // Drop the consumed front now and then, so memory follows the backlog (amortised O(1)).
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  takeAll(): T[] {
    const all = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return all;
  }
}

/** Longest a close waits for aborted attempts and the target's close(): a stuck client must not stall a redeploy. */
const CLOSE_WAIT_MS = 2000;


function positive(value: number | undefined, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? value : fallback;
}
