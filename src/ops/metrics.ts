/**
 * The Prometheus series of SPEC §9, in a registry of their own (nothing else Node-RED or another package
 * registers ends up in our scrape, nor ours in theirs). Labels are the node type and id — never a name, a URL
 * or anything a user typed (names change, and a label is no place for user text).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export type Outcome = "delivered" | "failed" | "refused";
const OUTCOMES: Outcome[] = ["delivered", "failed", "refused"];

/** Seconds from acceptance to the end of the last attempt: from a quick answer to the longest retry series. */
const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class Metrics {
  readonly registry = new Registry();
  private readonly deliveries = new Counter({
    name: "cse_deliveries_total",
    help: "Messages an action node finished, by outcome: delivered, failed (for good, after its attempts) or refused (queue full, invalid configuration).",
    labelNames: ["type", "node", "outcome"] as const,
    registers: [this.registry],
  });
  private readonly attempts = new Counter({
    name: "cse_delivery_attempts_total",
    help: "Delivery attempts (the first and every retry).",
    labelNames: ["type", "node"] as const,
    registers: [this.registry],
  });
  private readonly retries = new Counter({
    name: "cse_delivery_retries_total",
    help: "Delivery attempts beyond the first of a message.",
    labelNames: ["type", "node"] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: "cse_delivery_duration_seconds",
    help: "Time from taking a message off the queue to its outcome (all attempts and waits), delivered or failed.",
    labelNames: ["type", "node"] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly triggerEvents = new Counter({
    name: "cse_trigger_events_total",
    help: "Events a cse-trigger node emitted, by event.",
    labelNames: ["node", "event"] as const,
    registers: [this.registry],
  });

  /** `depths()` gives every running action node's queue depth (queued + in flight) at scrape time. */
  constructor(depths: () => { type: string; node: string; depth: number }[]) {
    new Gauge({
      name: "cse_queue_depth",
      help: "Messages an action node accepted and has not finished (waiting in its queue or in flight).",
      labelNames: ["type", "node"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { type, node, depth } of depths()) this.set({ type, node }, depth);
      },
    });
  }

  attempt(type: string, node: string, retry: boolean): void {
    this.attempts.inc({ type, node });
    if (retry) this.retries.inc({ type, node });
  }

  finished(type: string, node: string, outcome: Outcome, durationMs?: number): void {
    this.deliveries.inc({ type, node, outcome });
    if (durationMs !== undefined) this.duration.observe({ type, node }, durationMs / 1000);
  }

  triggerEvent(node: string, event: string): void {
    this.triggerEvents.inc({ node, event });
  }

  /** Forgets a closed action node's series: counting starts again when it starts again. */
  forgetAction(type: string, node: string): void {
    for (const outcome of OUTCOMES) this.deliveries.remove({ type, node, outcome });
    this.attempts.remove({ type, node });
    this.retries.remove({ type, node });
    this.duration.remove({ type, node });
  }

  forgetTrigger(node: string, events: Iterable<string>): void {
    for (const event of events) this.triggerEvents.remove({ node, event });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
