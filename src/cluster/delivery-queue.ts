/**
 * An action node's messages in cluster mode: the node's BullMQ queue in Redis is the journal of SPEC §4.
 * A message is stored in Redis before its first attempt and leaves the queue once delivered or failed for
 * good; every replica runs a worker on every node's queue. One job is one message, and the job's processor
 * runs the node's own delivery engine, so attempts, backoff, Retry-After, timeouts and idempotency keys keep
 * their one implementation; BullMQ brings durability, distribution, and the recovery of a dead replica's
 * jobs (a job whose lock is not renewed is "stalled" and handed to another worker).
 */
import { type Job, Queue, QueueEvents, WaitingError, Worker } from "bullmq";
import type { DeliveryResult } from "../delivery/engine";
import { type JournalEntry, serialiseMessage } from "../delivery/journal-lines";
import { within } from "../delivery/within";
import type { ClusterConnection, RedisHealth } from "./connection";

/** What Redis holds of an accepted message: the journal's entry, the message as JSON text. */
interface QueuedData {
  id: string;
  acceptedAt: string;
  msg: string;
}

/**
 * A dead replica's job may stall once per death; a job is never failed for stalling (that would lose it
 * silently), so the bound is only a guard against a job that kills every replica that runs it.
 */
const MAX_STALLS = 50;
/** Failed-for-good jobs never reach Redis' failed set (the engine reports failures); keep it bounded anyway. */
const KEEP_FAILED = 1000;
/** How often the cluster-wide queue depth is read for the queue limit. */
const DEPTH_REFRESH_MS = 1000;
/** The longest a node's close waits for Redis to take back its jobs. */
const CLOSE_WAIT_MS = 3000;

/** A message this replica accepted: the message object itself and what its input handler left (send/done). */
interface Accepted<I> {
  msg: Record<string, any>;
  /** Absent for a message sent again from the failed list. */
  input: I | undefined;
  /** True while this replica's worker runs it. */
  here: boolean;
}

export interface ClusterDeliveryOptions<I> {
  connection: ClusterConnection;
  /** The node's id: its queue's name (every replica runs the same flows, so the same ids). */
  nodeId: string;
  /** Jobs this replica works on at once (the engine's concurrency). */
  concurrency: number;
  /** Messages waiting in the cluster beyond which this replica refuses new ones. */
  queueLimit: number;
  /**
   * Delivers one message with the node's engine; resolves with `closed: true` when the node closed first.
   * `entry.msg` is the message object itself when this replica accepted it, else the one Redis kept.
   */
  deliver(entry: JournalEntry): Promise<DeliveryResult>;
  /**
   * The outcome of a message this replica finished (delivered or failed for good); `input` is what this
   * replica's input handler left, when it accepted the message.
   */
  finished(entry: JournalEntry, result: DeliveryResult, input: I | undefined): void;
  /** A message this replica accepted was finished by another replica, which reported it. */
  finishedElsewhere(input: I | undefined): void;
  /** Redis' health, for the node's status. */
  health?(health: RedisHealth, problem: string | undefined, held: number): void;
}

export class ClusterDelivery<I> {
  private readonly queue: Queue;
  private readonly worker: Worker;
  /** Finishes of other replicas (opened once Redis is first reached: BullMQ cannot close it before). */
  private events?: QueueEvents;
  /** Messages this replica accepted and nobody has finished yet. */
  private readonly local = new Map<string, Accepted<I>>();
  /** Accepted, not yet confirmed stored by Redis (held in memory while Redis is away). */
  private holding = 0;
  private depth = 0;
  private depthTimer?: ReturnType<typeof setInterval>;
  private closed = false;
  private stopStarting?: () => void;
  private readonly unwatch: () => void;

  constructor(private readonly options: ClusterDeliveryOptions<I>) {
    const { connection, nodeId } = options;
    const prefix = connection.settings.prefix;
    const name = `delivery-${nodeId}`;
    this.queue = new Queue(name, { connection: connection.client, prefix });
    this.queue.on("error", () => undefined); // the connection's health is reported instead
    this.worker = new Worker(name, (job, token) => this.process(job, token), {
      connection: connection.client, // BullMQ opens its own blocking connection beside it
      prefix,
      autorun: false,
      concurrency: options.concurrency,
      lockDuration: connection.settings.lockMs,
      stalledInterval: connection.settings.stalledCheckMs,
      maxStalledCount: MAX_STALLS,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: KEEP_FAILED },
    });
    this.worker.on("error", () => undefined);
    this.unwatch = connection.watch((health, problem) => options.health?.(health, problem, this.holding));
  }

  /** Starts working the queue once Redis answers (and the flows run, so outcomes have somewhere to go). */
  start(): void {
    this.stopStarting = this.options.connection.watch((health) => {
      if (health !== "ready" || this.closed || this.events) return;
      const { connection, nodeId } = this.options;
      this.events = new QueueEvents(`delivery-${nodeId}`, { connection: connection.client, prefix: connection.settings.prefix });
      this.events.on("error", () => undefined);
      this.events.on("completed", ({ jobId }) => this.settledElsewhere(jobId));
      this.worker.run().catch(() => undefined);
      queueMicrotask(() => this.stopStarting?.()); // started: no need to watch any longer
    });
  }

  /** Messages waiting or in flight in the cluster for this node (refreshed every second once read). */
  get waiting(): number {
    this.refreshDepth();
    return this.depth;
  }

  /** Throws when a new message must be refused: the cluster's queue for this node is full. */
  assertRoom(): void {
    this.refreshDepth();
    if (this.depth + this.holding >= this.options.queueLimit) {
      throw new Error(`queue full (${this.options.queueLimit} messages waiting in the cluster); message refused`);
    }
  }

  /**
   * Stores an accepted message in Redis; resolves once Redis has it (while Redis is away the message waits
   * in this replica's memory and the promise with it). Never rejects for a Redis outage.
   */
  async accept(entry: JournalEntry, input: I | undefined): Promise<void> {
    this.local.set(entry.id, { msg: entry.msg, input, here: false });
    const data: QueuedData = { id: entry.id, acceptedAt: entry.acceptedAt, msg: serialiseMessage(entry.msg) };
    this.holding++;
    try {
      await this.queue.add("message", data, { jobId: entry.id });
      this.depth++;
    } finally {
      this.holding--;
    }
  }

  /** Stops working the queue; what is queued or in flight stays in Redis for the other replicas (or the next start). */
  async close(abortInFlight: () => Promise<void>): Promise<void> {
    this.closed = true;
    this.unwatch();
    this.stopStarting?.();
    if (this.depthTimer) clearInterval(this.depthTimer);
    // Without Redis the worker cannot hand its jobs back: their locks expire and another replica (or the
    // next start) takes them, so the close does not wait for Redis.
    const reachable = this.options.connection.health === "ready";
    const stopping = Promise.allSettled([this.worker.close(!reachable), this.events?.close(), this.queue.close()]);
    await abortInFlight(); // the engine ends its attempts: their jobs go back to waiting (see process)
    await within(stopping, reachable ? CLOSE_WAIT_MS : 0);
  }

  private async process(job: Job, token: string | undefined): Promise<{ ok: boolean }> {
    const data = job.data as QueuedData;
    const mine = this.local.get(data.id);
    if (mine) mine.here = true;
    const entry: JournalEntry = { id: data.id, acceptedAt: data.acceptedAt, msg: mine ? mine.msg : parseMessage(data.msg) };
    const result = await this.options.deliver(entry);
    if (result.closed) {
      // This replica stopped before the message was finished: it goes back to waiting, for another replica
      // or the next start. (One that finished as the node closed is reported: sending it again would repeat it.)
      if (mine) mine.here = false;
      await job.moveToWait(token);
      throw new WaitingError();
    }
    this.local.delete(data.id);
    this.options.finished(entry, result, mine?.input);
    return { ok: result.ok };
  }

  /** Another replica finished a message this one accepted: it reported the outcome; ours is let go. */
  private settledElsewhere(jobId: string): void {
    this.depth = Math.max(0, this.depth - 1);
    const mine = this.local.get(jobId);
    if (!mine || mine.here) return;
    this.local.delete(jobId);
    this.options.finishedElsewhere(mine.input);
  }

  private refreshDepth(): void {
    if (this.depthTimer || this.closed) return;
    const read = () =>
      this.queue.getJobCounts("wait", "delayed", "active", "prioritized").then(
        (counts) => (this.depth = Object.values(counts).reduce((sum, n) => sum + n, 0)),
        () => undefined,
      );
    void read();
    this.depthTimer = setInterval(read, DEPTH_REFRESH_MS);
    this.depthTimer.unref?.();
  }
}

function parseMessage(text: string): Record<string, unknown> {
  try {
    const msg = JSON.parse(text);
    return msg && typeof msg === "object" ? msg : {};
  } catch {
    return {};
  }
}
