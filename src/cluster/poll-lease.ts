import type { PollCheckpoint } from "../cse/poller";
import type { CheckpointStore, PollRunner } from "../nodes/trigger/backend";
import type { ClusterConnection } from "./connection";
import { within } from "../delivery/within";
import { redisScript, type RedisScript } from "./script";

/** KEYS: lease. ARGV: token, ms. Takes a free lease or renews ours; returns 1, or the holder's token. */
const HOLD = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** KEYS: lease. ARGV: token. Gives the lease up when it is still ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** KEYS: lease, checkpoint. ARGV: token, checkpoint JSON. Only the holder moves the checkpoint. */
const SAVE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1`;

/** Whether this replica polls: it does, another replica does, or Redis could not confirm its lease in time. */
export type PollingStatus = "polling" | "standby" | "paused";

export interface PollLeaseOptions {
  /** How long a lease lasts unless renewed; a dead holder's lease is free after at most this long. */
  leaseMs: number;
  /** How often a replica without the lease tries to take it. */
  retryMs: number;
}

/** The longest wait for Redis when a node closes: a close must not hang while Redis is away. */
const CLOSE_WAIT_MS = 2000;

/**
 * One poller per trigger node for the whole cluster, by a lease in Redis: the replica holding the key
 * `trigger:<node>:poller` (SET NX PX, renewed every third of the lease by its holder) runs the poll loop;
 * the others try to take it every `retryMs`. A holder that cannot renew in time (Redis away, process
 * paused) stops its loop before the lease can run out, so two replicas never poll on purpose at once; a
 * holder killed with `kill -9` leaves a lease that expires by itself, and the next replica to take it
 * builds a new loop from the checkpoint in Redis, which only the current holder can write (fenced by its
 * token). The cluster-wide dedupe window drops what the old holder emitted after its last checkpoint.
 */
export class PollLease implements PollRunner {
  private readonly hold: RedisScript;
  private readonly release: RedisScript;
  private readonly save: RedisScript;
  private readonly leaseKey: string;
  private readonly checkpointKey: string;
  private tenure = 0;
  private token: string;
  private loop?: PollRunner;
  /** Until when the lease is ours for sure (this process's clock): the last confirmed renewal's send time + leaseMs. */
  private validUntil = 0;
  private stopped = false;
  private running?: Promise<void>;
  private wake?: () => void;
  private timer?: ReturnType<typeof setTimeout>;
  private reported?: PollingStatus;

  constructor(
    private readonly connection: ClusterConnection,
    nodeId: string,
    private readonly makeLoop: (checkpoints: CheckpointStore) => PollRunner,
    private readonly tell: (status: PollingStatus) => void,
    private readonly options: PollLeaseOptions,
  ) {
    this.hold = redisScript(connection.client, "csePollLeaseHold", HOLD);
    this.release = redisScript(connection.client, "csePollLeaseRelease", RELEASE);
    this.save = redisScript(connection.client, "csePollCheckpointSave", SAVE);
    this.leaseKey = connection.key("trigger", nodeId, "poller");
    this.checkpointKey = connection.key("trigger", nodeId, "checkpoint");
    this.token = this.nextToken();
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = this.cycle();
  }

  /** Stops polling and gives the lease up, so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    // Not waiting for the step in flight: it may wait on Redis, and it changes nothing once stopped.
    await this.letGo();
    await within(this.release([this.leaseKey], [this.token]).catch(() => undefined), CLOSE_WAIT_MS);
  }

  private async cycle(): Promise<void> {
    while (!this.stopped) {
      // Nothing here may end the cycle (nor reach the process as an unhandled rejection): try again later.
      await this.step().catch(() => undefined);
      if (this.stopped) break;
      await this.sleep(this.loop ? Math.max(1, Math.floor(this.options.leaseMs / 3)) : this.options.retryMs);
    }
  }

  private async step(): Promise<void> {
    const sentAt = Date.now();
    // A holder waits for Redis no longer than its lease is surely valid; a replica standing by, a short while.
    const wait = this.loop ? this.validUntil - sentAt - Math.floor(this.options.leaseMs / 5) : this.options.retryMs;
    let answer: unknown;
    try {
      answer = await within(this.hold([this.leaseKey], [this.token, this.options.leaseMs]), Math.max(0, wait));
    } catch {
      answer = undefined; // Redis refused the command; the connection's health shows why
    }
    if (this.stopped) return;
    if (answer === 1) {
      this.validUntil = sentAt + this.options.leaseMs;
      if (!this.loop) this.lead();
    } else if (typeof answer === "string") {
      if (this.loop) await this.letGo();
      this.token = this.nextToken();
      this.report("standby");
    } else if (this.loop && Date.now() >= this.validUntil - Math.floor(this.options.leaseMs / 5)) {
      // Redis did not confirm the lease in time: stop before another replica may take it.
      await this.letGo();
      this.report("paused");
    }
  }

  private lead(): void {
    const token = this.token;
    this.loop = this.makeLoop({
      loadCheckpoint: async () => {
        const saved = await this.connection.client.get(this.checkpointKey);
        return saved ? JSON.parse(saved) : undefined;
      },
      saveCheckpoint: async (checkpoint: PollCheckpoint) => {
        const saved = await this.save([this.leaseKey, this.checkpointKey], [token, JSON.stringify(checkpoint)]);
        if (saved !== 1 && token === this.token && this.loop) {
          // Another replica holds the lease now: this loop's polls are no longer ours to record.
          void this.letGo();
          this.token = this.nextToken();
          this.report("standby");
        }
      },
    });
    this.report("polling");
    this.loop.start();
  }

  private async letGo(): Promise<void> {
    const loop = this.loop;
    this.loop = undefined;
    // A poll in flight may wait on Redis: do not wait for it longer than a close may take.
    if (loop) await within(loop.stop(), CLOSE_WAIT_MS);
  }

  /** Tells the host when this replica starts or stops polling (not at every retry). */
  private report(status: PollingStatus): void {
    if (status === this.reported) return;
    this.reported = status;
    this.tell(status);
  }

  private nextToken(): string {
    return `${this.connection.replicaId}#${++this.tenure}`;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref?.();
    });
  }
}
