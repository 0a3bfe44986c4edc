/** Emitted keys and when they were emitted (epoch ms), as kept in a context store. */
export type EmittedKeys = Record<string, number>;

/**
 * Far more distinct events than a SOC sees in a day; a guard against unbounded growth, not a working limit.
 * About 200 bytes of heap per key (map, order queue and stored object, key string included): ~200 MB at the cap.
 */
export const MAX_REMEMBERED_KEYS = 1_000_000;

/** The order queue is compacted once this many consumed entries sit at its head (and they are half of it). */
const COMPACT_AFTER = 1024;

/**
 * Remembers which event keys were emitted and when, so the same key is not emitted twice within
 * `windowMs`. Entries older than the window are pruned; a window of 0 turns deduplication off.
 *
 * Every operation is O(1) (amortised), whatever the number of keys:
 * - a queue (keys and times, oldest first) holds the entries, and a Map from key to its place in the queue
 *   answers the checks; a queue entry the Map no longer points at (the key was forgotten or remembered again)
 *   is skipped. Not the Map's own order: V8 leaves a hole for each deleted Map entry until the table is
 *   rebuilt, and an iterator from the start walks over every hole, so "oldest first" through a Map costs up
 *   to ~1 ms at a million keys;
 * - a plain object kept in step is what {@link toJSON} hands to the context store — the same object every
 *   time, so saving after each emit does not copy the log (a memory or cached store keeps the reference and
 *   serialises it when it persists).
 */
export class DedupeLog {
  /** Key → its place in the queue, counted from the queue's first entry ever (`base + index`). */
  private readonly emitted = new Map<string, number>();
  private saved: EmittedKeys = {};
  private orderKeys: string[] = [];
  private orderTimes: number[] = [];
  /** First live-or-stale entry of the arrays; entries before it are consumed. */
  private head = 0;
  /** Queue places dropped from the front of the arrays by compaction. */
  private base = 0;

  constructor(
    readonly windowMs: number,
    saved: unknown = undefined,
    private readonly maxKeys = MAX_REMEMBERED_KEYS,
  ) {
    if (typeof saved === "object" && saved !== null && !Array.isArray(saved)) {
      const record = saved as Record<string, unknown>;
      const keys = Object.keys(record);
      const times: number[] = [];
      let clean = keys.length <= maxKeys;
      for (let i = 0; clean && i < keys.length; i++) {
        const at = record[keys[i]];
        clean = typeof at === "number" && Number.isFinite(at) && (i === 0 || at >= times[i - 1]);
        times.push(at as number);
      }
      if (clean) {
        // A log this class saved: in order and valid. Adopt the stored object rather than copy it (a million
        // keys take seconds to copy), so the store keeps the very object this log keeps in step.
        for (let i = 0; i < keys.length; i++) this.emitted.set(keys[i], i);
        this.saved = record as EmittedKeys;
        this.orderKeys = keys;
        this.orderTimes = times;
      } else {
        const entries = keys
          .map((key): [string, unknown] => [key, record[key]])
          .filter((e): e is [string, number] => typeof e[1] === "number" && Number.isFinite(e[1]));
        // Kept oldest first, so pruning stops at the first fresh entry.
        entries.sort((a, b) => a[1] - b[1]);
        for (let i = Math.max(0, entries.length - maxKeys); i < entries.length; i++) this.set(entries[i][0], entries[i][1]);
      }
    }
  }

  get size(): number {
    return this.emitted.size;
  }

  /** True when `key` was emitted less than the window ago. */
  isDuplicate(key: string, now: number): boolean {
    if (this.windowMs <= 0) return false;
    const place = this.emitted.get(key);
    return place !== undefined && now - this.orderTimes[place - this.base] < this.windowMs;
  }

  /** Records that `key` was emitted at `now`, dropping entries that have left the window. */
  remember(key: string, now: number): void {
    this.prune(now);
    if (this.windowMs <= 0) return;
    this.forget(key);
    this.set(key, now);
    while (this.emitted.size > this.maxKeys) this.dropOldest();
    this.compact();
  }

  has(key: string): boolean {
    return this.emitted.has(key);
  }

  forget(key: string): void {
    if (this.emitted.delete(key)) delete this.saved[key];
  }

  prune(now: number): void {
    while (this.skipStale()) {
      if (this.windowMs > 0 && now - this.orderTimes[this.head] < this.windowMs) break;
      this.dropOldest();
    }
  }

  /** The log as saved in the context store: a live object, kept in step with every change (do not modify it). */
  toJSON(): EmittedKeys {
    return this.saved;
  }

  private set(key: string, at: number): void {
    this.emitted.set(key, this.base + this.orderKeys.length);
    this.saved[key] = at;
    this.orderKeys.push(key);
    this.orderTimes.push(at);
  }

  /** Moves `head` to the oldest live entry; false when the log is empty. */
  private skipStale(): boolean {
    while (this.head < this.orderKeys.length) {
      if (this.emitted.get(this.orderKeys[this.head]) === this.base + this.head) return true;
      this.head++;
    }
    this.compact();
    return false;
  }

  private dropOldest(): void {
    if (!this.skipStale()) return;
    this.forget(this.orderKeys[this.head]);
    this.head++;
    this.compact();
  }

  /** Drops the consumed front of the queue, and rebuilds the queue when stale entries pile up. */
  private compact(): void {
    const length = this.orderKeys.length;
    if (this.head >= COMPACT_AFTER && this.head * 2 >= length) {
      this.orderKeys = this.orderKeys.slice(this.head);
      this.orderTimes = this.orderTimes.slice(this.head);
      this.base += this.head;
      this.head = 0;
    } else if (length - this.head > 2 * this.emitted.size + COMPACT_AFTER) {
      // Only when many keys were forgotten or remembered again (rare): O(n) once, amortised O(1).
      const live = [...this.emitted].sort((a, b) => a[1] - b[1]);
      const keys: string[] = [];
      const times: number[] = [];
      this.base += length;
      for (const [key, place] of live) {
        times.push(this.orderTimes[place - (this.base - length)]);
        keys.push(key);
        this.emitted.set(key, this.base + keys.length - 1);
      }
      this.orderKeys = keys;
      this.orderTimes = times;
      this.head = 0;
    }
  }
}
