/** Time as the limiter sees it; tests inject a virtual clock. */
export interface LimiterClock {
  now(): number;
  /** Runs `fn` after `ms`; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const realClock: LimiterClock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref?.();
    return () => clearTimeout(timer);
  },
};

export interface RateLimiterOptions {
  /** Requests allowed to start in any window (CSE: 4 per second). */
  perWindow?: number;
  windowMs?: number;
  /** Requests allowed in flight at once (CSE: 10 per access key). */
  maxInFlight?: number;
  clock?: LimiterClock;
}

/** What a client waits on before each request: this process's {@link RateLimiter}, or the cluster's (cluster mode). */
export interface RequestLimiter {
  /** Waits for a slot (rejects with the signal's reason on abort); call the returned function when the request has finished. */
  acquire(signal?: AbortSignal): Promise<() => void>;
}

interface Waiter {
  resolve(release: () => void): void;
  reject(err: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Callers waiting for a slot, first come first served; a caller whose signal aborts leaves the line at once. */
export class WaitLine {
  private readonly waiters: Waiter[] = [];

  /** `onLeave(wasFirst)`: called when a caller gave up (the gate may want to look at the new first one). */
  constructor(private readonly onLeave?: (wasFirst: boolean) => void) {}

  get length(): number {
    return this.waiters.length;
  }

  /** Who is first now (compare it after an await: the first one may have given up meanwhile). */
  get first(): unknown {
    return this.waiters[0];
  }

  /** Joins the line; resolves with the release function the gate hands over in {@link admit}. */
  join(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(abortReason(signal));
          this.onLeave?.(i === 0);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  /** Lets the first caller through with its release function. */
  admit(release: () => void): void {
    const waiter = this.waiters.shift();
    if (!waiter) return;
    if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
    waiter.resolve(release);
  }

  /** Rejects everyone still waiting. */
  rejectAll(err: unknown): void {
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.reject(err);
    }
  }
}

/**
 * First come, first served gate in front of an API: never more than `perWindow` request starts in
 * any `windowMs` (a sliding window, not a fixed bucket) and never more than `maxInFlight` open at once.
 */
export class RateLimiter implements RequestLimiter {
  readonly perWindow: number;
  readonly windowMs: number;
  readonly maxInFlight: number;
  private readonly clock: LimiterClock;
  private readonly starts: number[] = [];
  private readonly line = new WaitLine();
  private inFlight = 0;
  private cancelTimer?: () => void;

  constructor(options: RateLimiterOptions = {}) {
    this.perWindow = options.perWindow ?? 4;
    this.windowMs = options.windowMs ?? 1000;
    this.maxInFlight = options.maxInFlight ?? 10;
    this.clock = options.clock ?? realClock;
  }

  get active(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.line.length;
  }

  /** Waits for a slot; call the returned function when the request has finished. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const waiting = this.line.join(signal);
    this.pump();
    return waiting;
  }

  /** Rejects everything still waiting (used when the owner closes). */
  rejectAll(err: Error): void {
    this.line.rejectAll(err);
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private pump(): void {
    while (this.line.length > 0) {
      const now = this.clock.now();
      while (this.starts.length > 0 && this.starts[0] <= now - this.windowMs) this.starts.shift();
      if (this.inFlight >= this.maxInFlight) return; // a release pumps again
      if (this.starts.length >= this.perWindow) {
        if (!this.cancelTimer) {
          const wait = Math.max(1, this.starts[0] + this.windowMs - now);
          this.cancelTimer = this.clock.setTimer(() => {
            this.cancelTimer = undefined;
            this.pump();
          }, wait);
        }
        return;
      }
      this.starts.push(now);
      this.inFlight++;
      let released = false;
      this.line.admit(() => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.pump();
      });
    }
  }
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error("aborted");
}

const shared = new Map<string, RateLimiter>();

/**
 * The one limiter of an access key at an API: CSE counts its limits per access key, so every client
 * using the same key (several tenant nodes, the editor's Test connection) waits in the same line.
 */
export function sharedLimiter(key: string, options: RateLimiterOptions = {}): RateLimiter {
  const id = `${key}|${options.perWindow ?? 4}|${options.windowMs ?? 1000}|${options.maxInFlight ?? 10}`;
  let limiter = shared.get(id);
  if (!limiter) {
    limiter = new RateLimiter(options);
    shared.set(id, limiter);
  }
  return limiter;
}
