/**
 * The delivery journal of one action node: every accepted message is appended (one JSON line) before it is
 * attempted, and a short "done" line follows once it was delivered or failed for good. A node that starts
 * again with the same id reads the file and re-queues what has no "done" line, in the order it was accepted.
 *
 * Write path (group commit): the accept lines of every message accepted in one tick of the event loop are written
 * together, in one write at the end of that tick, before any of those messages is attempted: `add`'s callback runs
 * once its line is in the operating system's cache (which survives a `kill -9`), and only then does the node start
 * sending it, so what is acknowledged is on disk, or is not yet acknowledged. "Done" lines go in the same writes.
 * Losing a "done" line only means a message is sent once more (delivery is at-least-once). The file is emptied when
 * nothing is outstanding and rewritten with only the outstanding entries when it grows; both are cheap: the
 * rewrite copies the outstanding lines byte for byte (it knows where each one is) instead of serialising again.
 * No fsync: it can block the event loop for a tenth of a second, and a process crash does not need it (a power
 * failure can lose the last writes).
 */
import fs from "node:fs";
import path from "node:path";

/** What the journal keeps of an accepted message. */
export interface JournalEntry {
  /** The id the node gave the message when it accepted it (also the on-demand idempotency key). */
  id: string;
  /** ISO-8601 time of acceptance. */
  acceptedAt: string;
  /** The message's JSON-safe properties (see serialiseMessage). */
  msg: Record<string, unknown>;
}

export interface Journal {
  /** False when entries only live in memory (no user directory, or it cannot be written). */
  readonly persistent: boolean;
  /** Entries found unfinished when the journal was opened, in the order they were accepted. */
  readonly recovered: JournalEntry[];
  /**
   * Keeps an accepted entry (no-op for an id already kept, e.g. a recovered one); `written` runs once it is kept:
   * at the end of this tick, after the one write of every entry accepted in it (at once for a memory journal).
   */
  add(entry: JournalEntry, written?: () => void): void;
  /** Forgets an entry: it was delivered or failed for good. */
  remove(id: string): void;
  /**
   * The JSON of a written entry's `msg.payload`, exactly as JSON.stringify wrote it at accept time, read back from
   * the file (one positional read; the bytes are in the page cache); undefined when it cannot be had: a memory
   * journal, no payload or one written by the fallback serialiser, a line not written yet, a read error. Never throws.
   */
  payloadJson(id: string): Buffer | undefined;
  /** Writes what is pending now (instead of at the end of the tick) and calls back those waiting for it. */
  flush(): void;
  /** Writes what is pending and closes the file, keeping the unfinished entries for the next start. */
  close(): void;
  /** Closes and deletes the file (the node was removed from the flows). */
  destroy(): void;
}

/** The journal when there is no file to keep it in: unfinished messages are lost when the process ends. */
export class MemoryJournal implements Journal {
  readonly persistent = false;
  readonly recovered: JournalEntry[] = [];
  add(_entry: JournalEntry, written?: () => void): void {
    written?.();
  }
  remove(_id: string): void {}
  payloadJson(_id: string): Buffer | undefined {
    return undefined;
  }
  flush(): void {}
  close(): void {}
  destroy(): void {}
}

export interface FileJournalOptions {
  /** Rewrite the file with only the outstanding entries once it is this big and mostly finished work (default 8 MiB). */
  compactBytes?: number;
  /** Called once when writing fails; the journal then keeps going in memory only. Must not throw. */
  onError?: (error: Error) => void;
}

/** What opening a journal file found. */
export interface OpenReport {
  /** Lines that could not be read: a torn last line after a crash, or damage. */
  skippedLines: number;
}

const DEFAULT_COMPACT_BYTES = 8 * 1024 * 1024;
/** An empty-again file is truncated once it holds at least this much finished work. */
const TRUNCATE_BYTES = 64 * 1024;

/** A group write is made as soon as this much is pending (the callbacks still wait for the end of the tick). */
const GROUP_BYTES = 1024 * 1024;

/** Compaction copies the outstanding lines in pieces of at most this many bytes. */
const COPY_CHUNK_BYTES = 1024 * 1024;

/**
 * Where an outstanding entry's line is in the file (in bytes), so compaction can copy it without serialising again,
 * and where its payload's JSON is in that line (payloadBytes 0: not known), so a target can send it as it is.
 */
interface Live {
  offset: number;
  bytes: number;
  payloadAt: number;
  payloadBytes: number;
}

/** An entry not in the file (a memory-only journal). */
const NOT_WRITTEN: Live = { offset: 0, bytes: 0, payloadAt: 0, payloadBytes: 0 };

export class FileJournal implements Journal {
  readonly recovered: JournalEntry[];
  readonly report: OpenReport;
  private fd: number | undefined;
  private readonly live = new Map<string, Live>();
  private liveBytes = 0;
  private fileBytes = 0;
  /**
   * Lines not yet written (accept and done lines, in order, each encoded once: its length is its size in the file
   * and the write takes it as it is), their size in bytes, and who waits for them.
   */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private waiters: (() => void)[] = [];
  private flushScheduled = false;
  private failed = false;
  private readonly compactBytes: number;

  /** Opens (creating the directory if needed) the journal at `file`. Throws when it cannot be read or written. */
  constructor(
    readonly file: string,
    private readonly options: FileJournalOptions = {},
  ) {
    this.compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { entries, skippedLines } = readJournal(file);
    this.report = { skippedLines };
    this.recovered = entries;
    // Rewrite at once: drops finished work and a torn last line (an append after it would be lost with it).
    this.writeAside((out) => {
      const batch = new BatchWriter(out);
      for (const entry of entries) {
        if (this.live.has(entry.id)) continue;
        const { line, payloadAt, payloadBytes } = lineOf(entry);
        this.live.set(entry.id, { offset: batch.bytes, bytes: line.length, payloadAt, payloadBytes });
        batch.add(line);
      }
      batch.end();
      return batch.bytes;
    });
    for (const live of this.live.values()) this.liveBytes += live.bytes;
  }

  get persistent(): boolean {
    return !this.failed && this.fd !== undefined;
  }

  /** Outstanding entries (accepted, not yet removed). */
  get size(): number {
    return this.live.size;
  }

  add(entry: JournalEntry, written?: () => void): void {
    if (this.live.has(entry.id) || !this.persistent) {
      if (!this.live.has(entry.id)) this.live.set(entry.id, NOT_WRITTEN);
      written?.();
      return;
    }
    const { line, payloadAt, payloadBytes } = lineOf(entry);
    this.live.set(entry.id, { offset: this.fileBytes + this.pendingBytes, bytes: line.length, payloadAt, payloadBytes });
    this.liveBytes += line.length;
    this.append(line);
    if (written) this.waiters.push(written);
  }

  remove(id: string): void {
    const live = this.live.get(id);
    if (!live) return;
    this.live.delete(id);
    this.liveBytes -= live.bytes;
    if (!this.persistent) return;
    this.append(Buffer.from(`{"done":${JSON.stringify(id)}}\n`));
  }

  payloadJson(id: string): Buffer | undefined {
    const live = this.live.get(id);
    if (!live || live.payloadBytes === 0 || !this.persistent) return undefined;
    const position = live.offset + live.payloadAt;
    if (position + live.payloadBytes > this.fileBytes) return undefined; // still pending
    try {
      const json = Buffer.allocUnsafe(live.payloadBytes);
      return fs.readSync(this.fd!, json, 0, json.length, position) === json.length ? json : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Queues a line for the write at the end of this tick; a burst accepted in one tick is written in pieces of
   * about GROUP_BYTES, so it is never held all at once.
   */
  private append(line: Buffer): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= GROUP_BYTES) {
      const lines = this.pending;
      this.clearPending();
      this.write(lines);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Writes the pending lines in one write and calls back those waiting for them; then empties or compacts the
   * file when that is worth it.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.persistent) {
      if (this.live.size === 0 && this.fileBytes + this.pendingBytes >= TRUNCATE_BYTES) {
        this.clearPending();
        this.guard(() => {
          fs.ftruncateSync(this.fd!, 0);
          this.fileBytes = 0;
        });
      } else if (this.pending.length > 0) {
        const lines = this.pending;
        this.clearPending();
        this.write(lines);
        if (this.fileBytes >= this.compactBytes && this.liveBytes * 2 < this.fileBytes) this.rewrite();
      }
    }
    // Written, or the journal failed (it then keeps messages in memory only, as it warned): delivery goes on.
    const waiters = this.waiters;
    this.waiters = [];
    for (const written of waiters) written();
  }

  private clearPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }

  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    const fd = this.fd;
    this.fd = undefined;
    try {
      fs.closeSync(fd);
    } catch {
      // already unusable
    }
  }

  destroy(): void {
    this.clearPending();
    this.live.clear();
    this.liveBytes = 0;
    this.close();
    fs.rmSync(this.file, { force: true });
  }

  /** Appends `lines` in one write; when it fails, the journal is memory-only from then on. */
  private write(lines: Buffer[]): void {
    this.guard(() => {
      this.fileBytes += writeAll(this.fd!, lines);
    });
  }

  /** Replaces the file with the outstanding entries only (write aside, rename), then reopens it for appending. */
  private rewrite(): void {
    this.guard(() => this.rewriteFile());
  }

  /**
   * Compaction: copies the outstanding lines, byte for byte, from the file into the aside file (adjacent lines
   * in one piece, at most COPY_CHUNK_BYTES in memory), so nothing is serialised again and no big string is built.
   */
  private rewriteFile(): void {
    this.writeAside((out) => {
      const source = fs.openSync(this.file, "r");
      try {
        const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
        let total = 0;
        let runStart = 0;
        let runEnd = -1;
        for (const live of this.live.values()) {
          if (live.offset !== runEnd) {
            if (runEnd >= 0) copyRange(source, out, runStart, runEnd - runStart, buffer);
            runStart = live.offset;
            runEnd = live.offset;
          }
          runEnd += live.bytes;
          live.offset = total;
          total += live.bytes;
        }
        if (runEnd >= 0) copyRange(source, out, runStart, runEnd - runStart, buffer);
        return total;
      } finally {
        fs.closeSync(source);
      }
    });
  }

  /**
   * Replaces the file by what `fill` writes into a new aside file (returning its size in bytes), then reopens
   * it for appending. The rename is atomic: a crash before it leaves the old file whole (and a stale aside file
   * that the next rewrite overwrites).
   */
  private writeAside(fill: (fd: number) => number): void {
    const aside = `${this.file}.tmp`;
    const out = fs.openSync(aside, "w");
    let size: number;
    try {
      size = fill(out);
    } finally {
      fs.closeSync(out);
    }
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      fs.closeSync(fd);
    }
    fs.renameSync(aside, this.file);
    // Appending, and reading back a payload (payloadJson).
    this.fd = fs.openSync(this.file, "a+");
    this.fileBytes = size;
    this.clearPending();
  }

  /** Runs a write; the first failure switches the journal to memory only and is reported once. */
  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      if (!this.failed) {
        this.failed = true;
        this.clearPending();
        try {
          this.options.onError?.(error as Error);
        } catch {
          // a warning must not break delivery
        }
      }
    }
  }
}

/** Reads a journal file: the accepted entries without a "done" line, in order; unreadable lines are skipped. */
export function readJournal(file: string): { entries: JournalEntry[]; skippedLines: number } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { entries: [], skippedLines: 0 };
    throw error;
  }
  const live = new Map<string, JournalEntry>();
  const { records, skippedLines: unreadable } = jsonLines(text);
  let skippedLines = unreadable;
  for (const record of records as any[]) {
    if (record && typeof record.done === "string") {
      live.delete(record.done);
    } else if (record && typeof record.id === "string" && record.msg && typeof record.msg === "object" && !live.has(record.id)) {
      live.set(record.id, { id: record.id, acceptedAt: String(record.acceptedAt ?? ""), msg: record.msg });
    } else {
      skippedLines++;
    }
  }
  return { entries: [...live.values()], skippedLines };
}

/** The records of a JSON-lines text, in order; a line that is not JSON (cut short by a crash, damaged) is counted, not kept. */
export function jsonLines(text: string): { records: unknown[]; skippedLines: number } {
  const records: unknown[] = [];
  let skippedLines = 0;
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line));
    } catch {
      skippedLines++;
    }
  }
  return { records, skippedLines };
}

/** The journal file of a node: `<dir>/<node id>.jsonl`, the id made safe for any file system. */
export function journalFile(dir: string, nodeId: string): string {
  let name = "";
  for (const byte of Buffer.from(nodeId, "utf8")) {
    const c = String.fromCharCode(byte);
    name += /[A-Za-z0-9_.-]/.test(c) && !(name === "" && c === ".") ? c : `%${byte.toString(16).padStart(2, "0").toUpperCase()}`;
  }
  return path.join(dir, `${name || "%00"}.jsonl`);
}

/** Writes `lines` at the end of the file, one writev (a short write, which files hardly ever make, is finished). */
function writeAll(fd: number, lines: Buffer[]): number {
  let total = 0;
  for (const line of lines) total += line.length;
  let done = fs.writevSync(fd, lines);
  if (done < total) {
    const rest = Buffer.concat(lines, total);
    while (done < total) done += fs.writeSync(fd, rest, done, total - done);
  }
  return total;
}

/** Copies `length` bytes at `position` of `source` to the end of what was written to `target`. */
function copyRange(source: number, target: number, position: number, length: number, buffer: Buffer): void {
  while (length > 0) {
    const read = fs.readSync(source, buffer, 0, Math.min(length, buffer.length), position);
    if (read <= 0) throw new Error("the journal file is shorter than expected");
    let done = 0;
    while (done < read) done += fs.writeSync(target, buffer, done, read - done);
    position += read;
    length -= read;
  }
}

/** Writes lines in batches of about COPY_CHUNK_BYTES, counting the bytes. */
class BatchWriter {
  bytes = 0;
  private batch: Buffer[] = [];
  private batchBytes = 0;

  constructor(private readonly fd: number) {}

  add(line: Buffer): void {
    this.batch.push(line);
    this.batchBytes += line.length;
    this.bytes += line.length;
    if (this.batchBytes >= COPY_CHUNK_BYTES) this.end();
  }

  end(): void {
    if (this.batch.length === 0) return;
    writeAll(this.fd, this.batch);
    this.batch = [];
    this.batchBytes = 0;
  }
}

/** An entry's line, encoded, and where its payload's JSON is in it (in bytes; payloadBytes 0 when not known). */
function lineOf(entry: JournalEntry): { line: Buffer; payloadAt: number; payloadBytes: number } {
  const head = `{"id":${JSON.stringify(entry.id)},"acceptedAt":${JSON.stringify(entry.acceptedAt)},"msg":`;
  const { payload, rest } = messageParts(entry.msg);
  if (payload === undefined) return { line: Buffer.from(`${head}${rest}}\n`), payloadAt: 0, payloadBytes: 0 };
  const payloadHead = `${head}{"payload":`;
  const tail = `${afterPayload(rest)}}\n`;
  const line = Buffer.from(payloadHead + payload + tail);
  const payloadAt = Buffer.byteLength(payloadHead);
  return { line, payloadAt, payloadBytes: line.length - payloadAt - Buffer.byteLength(tail) };
}

/** Message properties never journalled: the `http in` request and response objects. */
const NOT_KEPT = new Set(["req", "res"]);

/**
 * The JSON of a message's keepable parts: everything JSON can hold except `req`/`res` and functions; a
 * circular reference is dropped (best effort), a BigInt becomes a string. `payload` comes first.
 */
export function serialiseMessage(msg: Record<string, unknown>): string {
  const { payload, rest } = messageParts(msg);
  return payload === undefined ? rest : `{"payload":${payload}${afterPayload(rest)}`;
}

/** The JSON object `rest` as it follows the payload inside the message's object: its other members, then "}". */
function afterPayload(rest: string): string {
  return rest === "{}" ? "}" : `,${rest.slice(1)}`;
}

/**
 * serialiseMessage in two parts: the JSON of `msg.payload` exactly as JSON.stringify(msg.payload) writes it, and
 * the JSON object of the other keepable properties. When the message needs the fallback (a circular reference,
 * a BigInt) or has no payload to keep, `payload` is undefined and `rest` is the whole message.
 */
function messageParts(msg: Record<string, unknown>): { payload?: string; rest: string } {
  const kept: Record<string, unknown> = {};
  let payload: unknown;
  for (const key of Object.keys(msg)) {
    const value = msg[key];
    if (NOT_KEPT.has(key) || typeof value === "function") continue;
    if (key === "payload") payload = value;
    else kept[key] = value;
  }
  try {
    const payloadJson = payload === undefined ? undefined : JSON.stringify(payload);
    return { payload: payloadJson, rest: JSON.stringify(kept) };
  } catch {
    if (payload !== undefined) kept.payload = payload;
    return { rest: JSON.stringify(kept, safeReplacer()) };
  }
}

/** A JSON.stringify replacer that drops circular references and turns BigInts into strings. */
function safeReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  const ancestors: unknown[] = [];
  return function (this: unknown, _key: string, value: unknown): unknown {
    if (typeof value === "bigint") return value.toString();
    if (typeof value !== "object" || value === null) return value;
    while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
    if (ancestors.includes(value)) return undefined;
    ancestors.push(value);
    return value;
  };
}
