/**
 * The Redis connection of a cluster-mode process: one command connection shared by every node (ioredis
 * queues commands while Redis is away and replays them when it is back), a subscriber connection for the
 * replicas' announcements, and the connection's health for the nodes' status. (BullMQ opens its own blocking
 * connections beside the shared one.)
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import { Redis } from "ioredis";
import type { ClusterSettings } from "./settings";

export type RedisHealth = "connecting" | "ready" | "down" | "refused";

/** The longest wait between two reconnection attempts. */
const MAX_RECONNECT_WAIT_MS = 2000;

export class ClusterConnection {
  readonly client: Redis;
  /** This process among the replicas (leases name their holder with it). */
  readonly replicaId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private healthNow: RedisHealth = "connecting";
  private problemNow?: string;
  private readonly watchers = new Set<(health: RedisHealth, problem?: string) => void>();
  /** The connection in subscriber mode (opened on the first subscription) and the listeners of each channel. */
  private subscriber?: Redis;
  private readonly listeners = new Map<string, Set<(message: string) => void>>();

  constructor(readonly settings: ClusterSettings) {
    this.client = this.connect("cse-actions");
    this.client.on("ready", () => this.setHealth("ready"));
    this.client.on("close", () => {
      if (this.healthNow === "ready") this.setHealth("down", `Redis at ${settings.where} is unreachable`);
    });
    this.client.on("error", (error: Error) => {
      const refused = refusal(error);
      if (refused) this.setHealth("refused", `cseCluster.url: Redis at ${settings.where} ${refused}`);
      else if (this.healthNow !== "refused") this.setHealth("down", `Redis at ${settings.where} is unreachable (${codeOf(error)})`);
    });
  }

  get health(): RedisHealth {
    return this.healthNow;
  }

  /** Why Redis cannot be used right now (names the setting for a refused password; never holds one). */
  get problem(): string | undefined {
    return this.problemNow;
  }

  /** `<prefix>:<part>:<part>…` */
  key(...parts: string[]): string {
    return [this.settings.prefix, ...parts].join(":");
  }

  /** Calls `listen` with every message published on `channel` (by any replica); returns the function that stops it. */
  subscribe(channel: string, listen: (message: string) => void): () => void {
    if (!this.subscriber) {
      const subscriber = (this.subscriber = this.connect("cse-actions subscriber"));
      subscriber.on("error", () => undefined); // the shared client reports the connection's health
      subscriber.on("message", (on: string, message: string) => {
        for (const fn of this.listeners.get(on) ?? []) fn(message);
      });
    }
    let listening = this.listeners.get(channel);
    if (!listening) {
      this.listeners.set(channel, (listening = new Set()));
      this.subscriber.subscribe(channel).catch(() => undefined); // ioredis subscribes again after a reconnection
    }
    listening.add(listen);
    return () => {
      listening.delete(listen);
      if (listening.size > 0 || this.listeners.get(channel) !== listening) return;
      this.listeners.delete(channel);
      this.subscriber?.unsubscribe(channel).catch(() => undefined);
    };
  }

  /** Calls `watch` now and on every change of health; returns the function that stops watching. */
  watch(watch: (health: RedisHealth, problem?: string) => void): () => void {
    this.watchers.add(watch);
    watch(this.healthNow, this.problemNow);
    return () => this.watchers.delete(watch);
  }

  async close(): Promise<void> {
    this.watchers.clear();
    await Promise.allSettled([this.subscriber, this.client].filter((c): c is Redis => c !== undefined).map(closeRedis));
  }

  private connect(name: string): Redis {
    return new Redis(this.settings.url, {
      connectionName: name,
      // Commands wait for Redis instead of failing: an accepted message is kept until Redis is back.
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      retryStrategy: (times) => Math.min(100 * times, MAX_RECONNECT_WAIT_MS),
    });
  }

  private setHealth(health: RedisHealth, problem?: string): void {
    if (health === this.healthNow && problem === this.problemNow) return;
    this.healthNow = health;
    this.problemNow = health === "ready" ? undefined : problem;
    for (const watch of this.watchers) {
      try {
        watch(health, this.problemNow);
      } catch {
        // a status display must not break the connection's bookkeeping
      }
    }
  }
}

/** The longest a close waits for Redis to answer QUIT: a node's close must not hang on an absent Redis. */
const QUIT_WAIT_MS = 1000;

/** Closes a connection: politely when Redis answers, at once when it does not. */
export async function closeRedis(connection: Redis): Promise<void> {
  if (connection.status === "end") return;
  if (connection.status === "ready") {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_WAIT_MS)));
    await Promise.race([connection.quit().catch(() => undefined), gaveUp]);
    clearTimeout(timer);
  }
  connection.disconnect();
}

/** "refused the password" for an authentication error, else undefined. */
function refusal(error: Error): string | undefined {
  const text = String(error?.message ?? "");
  if (/WRONGPASS|invalid password|invalid username-password/i.test(text)) return "refused the user name or password (WRONGPASS)";
  if (/NOAUTH/i.test(text)) return "needs a password (NOAUTH): put it in the URL, redis://:password@host:port";
  return undefined;
}

function codeOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e?.code ?? String(e?.message ?? e).slice(0, 60);
}
