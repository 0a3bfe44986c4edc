import { DedupeLog } from "../../events/dedupe";

/** The callback form of a Node-RED context (works with stores that have no cache). */
export interface CallbackContext {
  get(key: string, store: string | undefined, callback: (err: Error | null | undefined, value?: unknown) => void): void;
  set(key: string, value: unknown, store: string | undefined, callback: (err?: Error | null) => void): void;
}

export const EMITTED_KEYS = "emittedKeys";

/**
 * The keys the trigger has emitted, kept in the node's context store so deduplication survives a
 * redeploy or restart (with a persistent store). Claims run one at a time, so two messages with the
 * same key arriving together cannot both pass.
 */
export class EmittedKeyStore {
  private log?: DedupeLog;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly context: CallbackContext,
    private readonly store: string | undefined,
    private readonly windowMs: number,
  ) {}

  /** Resolves true and records `key` when it was not emitted within the window; false for a duplicate. */
  claim(key: string, now: () => number): Promise<boolean> {
    return this.exclusive(async () => {
      const log = await this.load();
      const at = now();
      if (log.isDuplicate(key, at)) return false;
      log.remember(key, at);
      try {
        await this.save(log);
      } catch (err) {
        log.forget(key);
        throw err;
      }
      return true;
    });
  }

  /**
   * Forgets `key`, so it may be emitted again at once. A sensor that reports again ends its outage:
   * its next silence is a new outage, even within the dedupe window.
   */
  release(key: string): Promise<void> {
    return this.exclusive(async () => {
      const log = await this.load();
      if (!log.has(key)) return;
      log.forget(key);
      await this.save(log);
    });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<DedupeLog> {
    if (this.log) return this.log;
    const saved = await new Promise<unknown>((resolve, reject) =>
      this.context.get(EMITTED_KEYS, this.store, (err, value) => (err ? reject(contextError("read", err)) : resolve(value))),
    );
    this.log = new DedupeLog(this.windowMs, saved);
    return this.log;
  }

  private save(log: DedupeLog): Promise<void> {
    return new Promise((resolve, reject) =>
      this.context.set(EMITTED_KEYS, log.toJSON(), this.store, (err) => (err ? reject(contextError("write", err)) : resolve())),
    );
  }
}

function contextError(action: string, err: Error): Error {
  return new Error(`cannot ${action} the emitted event keys in the context store: ${err.message ?? err}`);
}
