/** Retry timing: exponential backoff with jitter and the `Retry-After` limit (SPEC §4). */

export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 30_000;
/** A target asking us to wait longer than this fails the message instead. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * The wait before retry number `retry` (1 = after the first failed attempt): the exponential step
 * (1 s, 2 s, 4 s … capped at 30 s) times a random factor in [0.5, 1], so many nodes failing together
 * do not retry in lockstep, and no wait exceeds 30 s.
 */
export function backoffDelay(retry: number, random: () => number = Math.random): number {
  const step = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, retry - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
