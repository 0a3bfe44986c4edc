/** Emitted keys and when they were emitted (epoch ms), as kept in a context store. */
export type EmittedKeys = Record<string, number>;

/** Far more distinct events than a SOC sees in a day; a guard against unbounded growth, not a working limit. */
export const MAX_REMEMBERED_KEYS = 200_000;

/**
 * Remembers which event keys were emitted and when, so the same key is not emitted twice within
 * `windowMs`. Entries older than the window are pruned; a window of 0 turns deduplication off.
 */
export class DedupeLog {
  private readonly emitted = new Map<string, number>();

  constructor(
    readonly windowMs: number,
    saved: unknown = undefined,
    private readonly maxKeys = MAX_REMEMBERED_KEYS,
  ) {
    if (typeof saved === "object" && saved !== null && !Array.isArray(saved)) {
      const entries = Object.entries(saved as Record<string, unknown>).filter(
        (e): e is [string, number] => typeof e[1] === "number" && Number.isFinite(e[1]),
      );
      // Kept oldest first, so pruning stops at the first fresh entry.
      entries.sort((a, b) => a[1] - b[1]);
      for (const [key, at] of entries) this.emitted.set(key, at);
    }
  }

  get size(): number {
    return this.emitted.size;
  }

  /** True when `key` was emitted less than the window ago. */
  isDuplicate(key: string, now: number): boolean {
    if (this.windowMs <= 0) return false;
    const at = this.emitted.get(key);
    return at !== undefined && now - at < this.windowMs;
  }

  /** Records that `key` was emitted at `now`, dropping entries that have left the window. */
  remember(key: string, now: number): void {
    this.prune(now);
    if (this.windowMs <= 0) return;
    this.emitted.delete(key);
    this.emitted.set(key, now);
    while (this.emitted.size > this.maxKeys) {
      const oldest = this.emitted.keys().next().value as string;
      this.emitted.delete(oldest);
    }
  }

  has(key: string): boolean {
    return this.emitted.has(key);
  }

  forget(key: string): void {
    this.emitted.delete(key);
  }

  prune(now: number): void {
    for (const [key, at] of this.emitted) {
      if (this.windowMs > 0 && now - at < this.windowMs) break;
      this.emitted.delete(key);
    }
  }

  toJSON(): EmittedKeys {
    return Object.fromEntries(this.emitted);
  }
}
