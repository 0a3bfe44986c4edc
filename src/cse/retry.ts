import { backoffDelay, MAX_RETRY_AFTER_MS } from "../delivery/backoff";
import { retryAfterMs } from "../delivery/classify";

/**
 * How long the CSE client waits before attempt `attempt + 1` (`attempt` = attempts made so far),
 * given the answer's Retry-After header; `undefined` means give up.
 */
export interface RetryPolicy {
  delayMs(attempt: number, retryAfter?: string): number | undefined;
}

/** The delivery engine's backoff and Retry-After rules; `scale` shrinks every wait (tests: `cseDelayScale`). */
export function scaledRetryPolicy(scale = 1): RetryPolicy {
  return {
    delayMs(attempt, retryAfter) {
      const told = retryAfterMs(retryAfter);
      if (told !== undefined) return told > MAX_RETRY_AFTER_MS ? undefined : told * scale;
      return backoffDelay(attempt) * scale;
    },
  };
}

export const defaultRetryPolicy: RetryPolicy = scaledRetryPolicy(1);
