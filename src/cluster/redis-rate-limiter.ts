/**
 * The CSE API limits of one access ID for the whole cluster (SPEC §7): never more than `perWindow` request
 * starts in any `windowMs` and never more than `maxInFlight` open at once, counted in Redis by every replica.
 *
 * Two sorted sets per access ID, changed only by Lua scripts that read Redis' own clock (TIME), so the
 * replicas' clocks never matter:
 * - `<prefix>:cse-limit:<id>:starts` — one member per request start, scored with its start time; the
 *   sliding window is the members newer than `now - windowMs`.
 * - `<prefix>:cse-limit:<id>:inflight` — one member per request open, scored with the time its lease
 *   ends. The holder renews its leases while the request runs and removes the member when it is done;
 *   a replica that dies stops renewing, so its slots come back within `leaseMs`.
 * `<id>` is a SHA-256 of the API URL and the access ID: neither the access key nor the ID itself is in Redis.
 *
 * The callers of one process wait in one local first-come-first-served line; only its head asks Redis, and
 * when refused sleeps until the window moves on (the script says when) or a slot may be free (a short poll,
 * cut short by a release in this process).
 */
import { createHash } from "node:crypto";
import { WaitLine, type RequestLimiter } from "../cse/rate-limiter";
import type { ClusterConnection } from "./connection";
import { redisScript } from "./script";

export interface RedisRateLimiterOptions {
  /** Request starts allowed in any window (CSE: 4 per second). */
  perWindow?: number;
  windowMs?: number;
  /** Requests allowed open at once (CSE: 10 per access ID). */
  maxInFlight?: number;
  /** How long a slot outlives a holder that stopped renewing it (a dead replica). */
  leaseMs?: number;
  /** How often a waiter asks again while all slots are taken. */
  pollMs?: number;
}

const DEFAULT_LEASE_MS = 15_000;
const DEFAULT_POLL_MS = 25;
/** Wait before asking again after Redis answered with an error (not a disconnection: those commands queue). */
const ERROR_WAIT_MS = 250;

/**
 * KEYS: starts, inflight. ARGV: perWindow, windowMs, maxInFlight, token, leaseMs.
 * Returns {1, 0} when the slot is taken, or {0, ms}: how long until the window has room (0: a slot is busy).
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local perWindow, windowMs, maxInFlight, leaseMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= maxInFlight then return {0, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
if redis.call('ZCARD', KEYS[1]) >= perWindow then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.max(1, math.ceil(tonumber(oldest[2]) + windowMs - now))}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(windowMs) + 1)
redis.call('ZADD', KEYS[2], now + leaseMs, ARGV[4])
redis.call('PEXPIRE', KEYS[2], math.ceil(leaseMs) + 1)
return {1, 0}
`;

/** KEYS: inflight. ARGV: leaseMs, tokens… — extends the leases of the tokens still held. */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local leaseMs = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + leaseMs, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], math.ceil(leaseMs) + 1)
return 1
`;

/** The Redis name of an access ID at an API: a hash, so Redis holds neither the ID nor, of course, the key. */
export function limiterId(apiUrl: string, accessId: string): string {
  return createHash("sha256").update(`${apiUrl.trim().replace(/\/+$/, "")}\n${accessId}`).digest("hex").slice(0, 32);
}

export class RedisRateLimiter implements RequestLimiter {
  readonly perWindow: number;
  readonly windowMs: number;
  readonly maxInFlight: number;
  readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly startsKey: string;
  private readonly inflightKey: string;
  /** When the first caller gives up, the pump stops waiting for its slot and asks for the next one's. */
  private readonly line = new WaitLine((wasFirst) => wasFirst && this.wake?.());
  /** Tokens this process holds, renewed while held. */
  private readonly held = new Set<string>();
  private pumping = false;
  private wake?: () => void;
  private renewTimer?: NodeJS.Timeout;
  private counter = 0;

  constructor(
    private readonly connection: ClusterConnection,
    id: string,
    options: RedisRateLimiterOptions = {},
  ) {
    this.perWindow = options.perWindow ?? 4;
    this.windowMs = options.windowMs ?? 1000;
    this.maxInFlight = options.maxInFlight ?? 10;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.startsKey = connection.key("cse-limit", id, "starts");
    this.inflightKey = connection.key("cse-limit", id, "inflight");
  }

  /** Requests of this process open now. */
  get active(): number {
    return this.held.size;
  }

  /** Requests of this process waiting for a slot. */
  get queued(): number {
    return this.line.length;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    const waiting = this.line.join(signal);
    void this.pump();
    return waiting;
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.line.length > 0) {
        const first = this.line.first;
        const token = `${this.connection.replicaId}:${++this.counter}`;
        let granted = false;
        let waitMs = this.pollMs;
        try {
          const acquire = redisScript(this.connection.client, "cseLimitAcquire", ACQUIRE);
          const [ok, wait] = (await acquire([this.startsKey, this.inflightKey], [this.perWindow, this.windowMs, this.maxInFlight, token, this.leaseMs])) as [number, number];
          granted = Number(ok) === 1;
          if (!granted && Number(wait) > 0) waitMs = Number(wait);
        } catch (err) {
          if (this.connection.client.status === "end") {
            // The cluster connection was closed (the last node using it left): nobody can be let through.
            this.line.rejectAll(err);
            return;
          }
          waitMs = ERROR_WAIT_MS;
        }
        if (granted) {
          this.held.add(token);
          this.renewWhileHeld();
          if (this.line.first === first) {
            this.line.admit(this.releaser(token));
          } else {
            this.release(token); // its caller gave up while Redis was answering
          }
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, waitMs);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.wake = done;
        });
        this.wake = undefined;
      }
    } finally {
      this.pumping = false;
    }
  }

  private releaser(token: string): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(token);
    };
  }

  private release(token: string): void {
    this.held.delete(token);
    if (this.held.size === 0) this.stopRenewing();
    // Queued while Redis is away, like every command; the lease ends it anyway if it never arrives.
    this.connection.client.zrem(this.inflightKey, token).catch(() => undefined);
    this.wake?.();
  }

  private renewWhileHeld(): void {
    if (this.renewTimer) return;
    this.renewTimer = setInterval(() => {
      if (this.held.size === 0) return this.stopRenewing();
      redisScript(this.connection.client, "cseLimitRenew", RENEW)([this.inflightKey], [this.leaseMs, ...this.held]).catch(() => undefined);
    }, Math.max(10, Math.floor(this.leaseMs / 3)));
    this.renewTimer.unref?.();
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }
}

const shared = new WeakMap<ClusterConnection, Map<string, RedisRateLimiter>>();

/**
 * The one cluster limiter of an access ID at an API in this process (every tenant node and Test button with
 * that ID waits in the same line, as with {@link sharedLimiter} in-process).
 */
export function clusterLimiter(connection: ClusterConnection, apiUrl: string, accessId: string, options: RedisRateLimiterOptions = {}): RedisRateLimiter {
  const id = limiterId(apiUrl, accessId);
  const key = `${id}|${options.perWindow ?? 4}|${options.windowMs ?? 1000}|${options.maxInFlight ?? 10}|${options.leaseMs ?? DEFAULT_LEASE_MS}`;
  let limiters = shared.get(connection);
  if (!limiters) shared.set(connection, (limiters = new Map()));
  let limiter = limiters.get(key);
  if (!limiter) limiters.set(key, (limiter = new RedisRateLimiter(connection, id, options)));
  return limiter;
}
