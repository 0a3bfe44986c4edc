/**
 * The circuit breaker of one node's deliveries. After a run of failures that say the receiver is away (network
 * errors, timeouts, 5xx — never 429 or another answer), it opens: messages stop going out each on its own
 * schedule, and wait here instead, without spending attempts. One probe at a time is let through (an attempt of
 * the waiting message with the fewest attempts, so no single message burns its attempts); when any attempt gets
 * an answer, the breaker closes and every waiting message goes at once, the queue behind them at full concurrency.
 * Probes follow the backoff (from 1 s, doubling) but at most PROBE_MAX_MS apart, so a drain starts within that
 * long of the receiver's return. When the last attempt reached no one (connection refused), the breaker also checks
 * every REACH_CHECK_MS whether the receiver accepts connections again, and sends the probe the moment it does:
 * such a check sends nothing and spends no attempt, so the probes themselves can keep their slower pace.
 */
import { backoffDelay, sleep as realSleep } from "./backoff";

/** Longest wait between two probes while the receiver is away. */
export const PROBE_MAX_MS = 5000;

/** How often the breaker checks, while the receiver refuses connections, whether it accepts them again. */
export const REACH_CHECK_MS = 250;

/** How an attempt may go: normally, or as the breaker's probe. */
export type Pass = "go" | "probe";

/** What the breaker learns from an attempt: the receiver answered (or delivered), or seems to be away. */
export type Verdict = "answered" | "away";

interface Waiter {
  attempts: number;
  resolve(pass: Pass): void;
  reject(error: unknown): void;
}

export interface BreakerOptions {
  /** Consecutive "away" verdicts that open it (the node's concurrency: every slot saw the receiver away). */
  threshold: number;
  /** Waits `ms` (already scaled); rejects when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Multiplies every wait (tests). */
  delayScale: number;
  random?: () => number;
  /**
   * Whether the receiver accepts connections again, after an attempt that reached no one; undefined when there is
   * nothing to check (the last attempt got an answer, or this target cannot tell). Never rejects.
   */
  reachable?: () => Promise<boolean> | undefined;
}

export class Breaker {
  private awayInARow = 0;
  private opened = false;
  private probing = false;
  private failedProbes = 0;
  /** The next probe may go now (its wait is over and no one took it yet). */
  private probeDue = false;
  private timer: AbortController | undefined;
  /** Set while the reachability checks run (see watch()). */
  private watching = false;
  private waiters: Waiter[] = [];
  private closedWith: unknown;

  constructor(private readonly options: BreakerOptions) {}

  get isOpen(): boolean {
    return this.opened;
  }

  /**
   * Before an attempt (`attempts` made so far): "go" at once while closed; while open, "probe" if it is this
   * message's turn to probe, otherwise a promise that settles when it is (or the breaker closes).
   */
  enter(attempts: number): Pass | Promise<Pass> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    if (!this.opened) return "go";
    if (this.probeDue && !this.probing) {
      this.probeDue = false;
      this.probing = true;
      return "probe";
    }
    return new Promise<Pass>((resolve, reject) => {
      this.waiters.push({ attempts, resolve, reject });
      if (!this.timer && !this.probing) this.armProbe();
    });
  }

  /** After an attempt that went with `pass`. */
  settle(pass: Pass, verdict: Verdict): void {
    if (verdict === "answered") return this.close();
    this.awayInARow++;
    if (pass === "probe") {
      this.probing = false;
      this.failedProbes++;
      if (this.waiters.length > 0) this.armProbe();
    } else if (!this.opened && this.awayInARow >= this.options.threshold) {
      this.opened = true;
      this.failedProbes = 0;
      if (this.waiters.length > 0) this.armProbe();
    }
  }

  /** The node closes: every waiting message ends with `reason`. */
  abort(reason: unknown): void {
    this.closedWith = reason;
    this.timer?.abort(reason);
    this.timer = undefined;
    for (const waiter of this.waiters.splice(0)) waiter.reject(reason);
  }

  /** The receiver answered: everything waiting goes now. */
  private close(): void {
    this.awayInARow = 0;
    if (!this.opened) return;
    this.opened = false;
    this.probing = false;
    this.probeDue = false;
    this.timer?.abort();
    this.timer = undefined;
    for (const waiter of this.waiters.splice(0)) waiter.resolve("go");
  }

  /** Starts the wait before the next probe (only while someone waits: an idle breaker keeps no timer). */
  private armProbe(): void {
    this.timer?.abort();
    const timer = new AbortController();
    this.timer = timer;
    const delay = Math.min(PROBE_MAX_MS, backoffDelay(this.failedProbes + 1, this.options.random)) * this.options.delayScale;
    this.options.sleep(Math.max(0, delay), timer.signal).then(
      () => {
        if (this.timer === timer) this.endWait();
      },
      () => undefined,
    );
    if (this.options.reachable && !this.watching) void this.watch();
  }

  /**
   * While a probe's wait runs: checks every REACH_CHECK_MS whether the receiver accepts connections again and,
   * the moment it does, ends the wait and sends the probe. Stops when there is nothing to check or no wait.
   */
  private async watch(): Promise<void> {
    this.watching = true;
    try {
      while (this.timer) {
        const check = this.options.reachable!();
        if (!check) return;
        if (await check) {
          const wait = this.timer;
          if (wait) {
            wait.abort();
            this.endWait();
          }
          return;
        }
        if (this.timer) await realSleep(REACH_CHECK_MS, this.timer.signal).catch(() => undefined);
      }
    } finally {
      this.watching = false;
    }
  }

  /** The wait before the next probe is over: the probe goes. */
  private endWait(): void {
    this.timer = undefined;
    this.probeDue = true;
    this.sendProbe();
  }

  /** Lets the waiting message with the fewest attempts (the earliest of those) go as the probe. */
  private sendProbe(): void {
    if (!this.opened || this.probing || !this.probeDue || this.waiters.length === 0) return;
    let chosen = 0;
    for (let i = 1; i < this.waiters.length; i++) if (this.waiters[i].attempts < this.waiters[chosen].attempts) chosen = i;
    const [waiter] = this.waiters.splice(chosen, 1);
    this.probeDue = false;
    this.probing = true;
    waiter.resolve("probe");
  }
}
