import type { Insight, RuleAutoDisabled } from "../events/types";
import { CsePoller, type PollCheckpoint, type PollOutcome, type PollSource, type PollTopic } from "./poller";

export interface PollStatus {
  fill: "red" | "green" | "yellow" | "blue" | "grey";
  shape: "ring" | "dot";
  text: string;
}

/** What the loop needs from its host (the trigger node, or a test). */
export interface PollLoopPorts {
  /** The tenant's API client; throws when the tenant is missing or misconfigured. */
  source(): PollSource & { apiUrl?: string };
  loadCheckpoint(): Promise<unknown>;
  saveCheckpoint(checkpoint: PollCheckpoint): Promise<void>;
  /** Sends one event through the trigger (switches, dedupe of emitted keys, `msg.cse`). */
  emit(topic: PollTopic, payload: Insight | RuleAutoDisabled): Promise<unknown>;
  status(status: PollStatus): void;
  /** Called once per outage (and for a checkpoint that cannot be saved): the host tells Catch. */
  reportError(err: Error): void;
  /** Called when polling works again after an outage. */
  recovered?(): void;
}

export interface PollLoopOptions {
  intervalMs: number;
  created: boolean;
  closed: boolean;
  rules: boolean;
  now?: () => Date;
  overlapMs?: number;
}

function clock(at: Date): string {
  return at.toTimeString().slice(0, 8);
}

function short(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Runs the CSE poller every `intervalMs` (one poll at a time, the first at once): restores the
 * checkpoint from the host's store, emits what each poll finds in order, then saves the new
 * checkpoint — so after a restart the next poll resumes where the last one ended, and anything
 * emitted twice is dropped by the trigger's emitted keys. `stop()` aborts a poll in flight.
 */
export class PollLoop {
  private timer?: ReturnType<typeof setTimeout>;
  private readonly controller = new AbortController();
  private poller?: CsePoller;
  private running?: Promise<void>;
  private stopped = false;
  /** The last poll's outcome (for status and tests). */
  last?: PollOutcome;
  polls = 0;

  constructor(
    private readonly ports: PollLoopPorts,
    private readonly options: PollLoopOptions,
  ) {}

  start(): void {
    if (this.stopped || this.running) return;
    this.running = this.run();
  }

  /** Stops polling; resolves when the poll in flight (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const reason = new Error("polling stopped");
    reason.name = "AbortError";
    this.controller.abort(reason);
    await this.running?.catch(() => undefined);
  }

  /** Polls now, unless a poll is in flight (tests and the first poll). */
  private async run(): Promise<void> {
    try {
      await this.pollOnce();
    } catch (err) {
      // Only the host can fail here (an emit or the context store): say so each time, polling goes on.
      if (!this.stopped) this.ports.reportError(err as Error);
    } finally {
      this.running = undefined;
      if (!this.stopped) {
        this.timer = setTimeout(() => this.start(), this.options.intervalMs);
        this.timer.unref?.();
      }
    }
  }

  private async setUp(): Promise<CsePoller> {
    if (this.poller) return this.poller;
    const source = this.ports.source();
    const saved = await this.ports.loadCheckpoint();
    this.poller = new CsePoller(source, {
      apiUrl: source.apiUrl,
      checkpoint: saved,
      created: this.options.created,
      closed: this.options.closed,
      rules: this.options.rules,
      now: this.options.now,
      overlapMs: this.options.overlapMs,
    });
    // Save the starting point at once: Insights created from now on are owed even if Node-RED stops before the first poll ends.
    await this.ports.saveCheckpoint(this.poller.checkpoint);
    return this.poller;
  }

  private failedSetup = false;

  private async pollOnce(): Promise<void> {
    let poller: CsePoller;
    try {
      poller = await this.setUp();
    } catch (err) {
      if (this.stopped) return;
      this.ports.status({ fill: "red", shape: "ring", text: short(`poll failed: ${(err as Error).message}`) });
      if (!this.failedSetup) this.ports.reportError(err as Error);
      this.failedSetup = true;
      return;
    }
    if (this.failedSetup) {
      this.failedSetup = false;
      this.ports.recovered?.();
    }
    let outcome: PollOutcome;
    try {
      outcome = await poller.poll(this.controller.signal);
    } catch (err) {
      if (this.stopped) return;
      throw err;
    }
    this.polls++;
    this.last = outcome;
    for (const event of outcome.events) {
      if (this.stopped) return; // the checkpoint is not advanced: the next run polls these again
      await this.ports.emit(event.topic, event.payload);
    }
    if (this.stopped) return;
    poller.commit(outcome.checkpoint);
    try {
      await this.ports.saveCheckpoint(outcome.checkpoint);
    } catch (err) {
      this.ports.reportError(err as Error);
    }
    if (outcome.transition === "outageStarted" && outcome.error) this.ports.reportError(outcome.error);
    if (outcome.transition === "recovered") this.ports.recovered?.();
    if (outcome.error) {
      this.ports.status({ fill: "red", shape: "ring", text: short(`poll failed ${clock(outcome.at)}: ${outcome.error.message}`) });
    } else {
      const c = outcome.counts;
      this.ports.status({
        fill: "green",
        shape: "ring",
        text: `polled ${clock(outcome.at)}: ${c.created} new, ${c.closed} closed, ${c.autoDisabled} rule${c.autoDisabled === 1 ? "" : "s"}`,
      });
    }
  }
}
