/**
 * The delivery journal of one action node: every accepted message is appended (one JSON line) before it is
 * attempted, and a short "done" line follows once it was delivered or failed for good. A node that starts
 * again with the same id reads the journal and re-queues what has no "done" line, in the order it was accepted.
 *
 * Write path (group commit): the accept lines of every message accepted in one tick of the event loop are written
 * together, in one write at the end of that tick, before any of those messages is attempted: `add`'s callback runs
 * once its line is in the operating system's cache (which survives a `kill -9`), and only then does the node start
 * sending it, so what is acknowledged is on disk, or is not yet acknowledged. "Done" lines go in the same writes.
 * Losing a "done" line only means a message is sent once more (delivery is at-least-once).
 *
 * Two files keep the lines: `<node>.jsonl`, which is appended to, and `<node>.jsonl.previous`, read before it.
 * When the current file is full and nothing outstanding is left in the previous one, the previous one is deleted
 * and the current one renamed to take its place: a queue that drains in the order it was accepted (the usual
 * case, however long) is never copied. Only when an entry still waits in the previous file and most of both is
 * finished work are the outstanding lines copied, byte for byte, into a new previous file. Both are emptied when
 * nothing is outstanding. No fsync: it can block the event loop for a tenth of a second, and a process crash does
 * not need it (a power failure can lose the last writes).
 */
import fs from "node:fs";
import path from "node:path";
import { doneLine, type JournalEntry, jsonLines, lineParts } from "./journal-lines";
import { LineBuffer } from "./line-buffer";

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
   * the file (the bytes are in the page cache); undefined when it cannot be had: a memory journal, no payload or
   * one written by the fallback serialiser, a line not written yet, a read error. Never throws.
   */
  payloadJson(id: string): Buffer | undefined;
  /** Writes what is pending now (instead of at the end of the tick) and calls back those waiting for it. */
  flush(): void;
  /** Writes what is pending and closes the files, keeping the unfinished entries for the next start. */
  close(): void;
  /** Closes and deletes the files (the node was removed from the flows). */
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
  /** The current file is full at this size (default 8 MiB): it is set aside, or the outstanding entries compacted. */
  fullBytes?: number;
  /** Called once when writing fails; the journal then keeps going in memory only. Must not throw. */
  onError?: (error: Error) => void;
}

/** What opening a journal file found. */
export interface OpenReport {
  /** Lines that could not be read: a torn last line after a crash, or damage. */
  skippedLines: number;
}

const DEFAULT_FULL_BYTES = 8 * 1024 * 1024;
/** Once nothing is outstanding, the files are emptied when they hold at least this much finished work. */
const EMPTY_BYTES = 64 * 1024;

/** Compaction copies the outstanding lines in pieces of at most this many bytes. */
const COPY_CHUNK_BYTES = 1024 * 1024;

/** A payload is read back with the lines after it, up to this many bytes: they are usually sent next. */
const READ_AHEAD_BYTES = 256 * 1024;

/** The file read before `file`: the journal's previous file. */
export function previousFileOf(file: string): string {
  return `${file}.previous`;
}

/** One of the journal's two files: its descriptor, the bytes written, and a number new with each new content. */
interface JournalFile {
  fd: number;
  bytes: number;
  generation: number;
}

/**
 * Where an outstanding entry's line is (in which file's content, at which byte), so compaction can copy it without
 * serialising again, and where its payload's JSON is in that line (payloadBytes 0: not known), so a target can send
 * it as it is.
 */
interface Live {
  generation: number;
  offset: number;
  bytes: number;
  payloadAt: number;
  payloadBytes: number;
}

/** An entry not in the file (a memory-only journal). */
const NOT_WRITTEN: Live = { generation: -1, offset: 0, bytes: 0, payloadAt: 0, payloadBytes: 0 };

export class FileJournal implements Journal {
  readonly recovered: JournalEntry[];
  readonly report: OpenReport;
  private readonly previousFile: string;
  private current: JournalFile | undefined;
  private previous: JournalFile | undefined;
  /** How many outstanding entries have their line in the previous file. */
  private previousLive = 0;
  private generations = 0;
  private readonly live = new Map<string, Live>();
  private liveBytes = 0;
  /**
   * Lines not yet written (accept and done lines, in order, encoded once), written into the current file when the
   * buffer is full or at the end of the tick, and who waits for them.
   */
  private readonly lines = new LineBuffer((bytes) => this.writeCurrent(bytes));
  private waiters: (() => void)[] = [];
  private flushScheduled = false;
  private failed = false;
  private readonly fullBytes: number;
  /** The stretch of a file read last by payloadJson: it holds the next entries' payloads too. */
  private readAhead: { generation: number; start: number; data: Buffer } | undefined;

  /** Opens (creating the directory if needed) the journal at `file`. Throws when it cannot be read or written. */
  constructor(
    readonly file: string,
    private readonly options: FileJournalOptions = {},
  ) {
    this.fullBytes = options.fullBytes ?? DEFAULT_FULL_BYTES;
    this.previousFile = previousFileOf(file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { entries, skippedLines } = readJournal(file);
    this.report = { skippedLines };
    this.recovered = entries;
    this.start(entries);
  }

  get persistent(): boolean {
    return !this.failed && this.current !== undefined;
  }

  add(entry: JournalEntry, written?: () => void): void {
    if (this.live.has(entry.id) || !this.persistent) {
      if (!this.live.has(entry.id)) this.live.set(entry.id, NOT_WRITTEN);
      written?.();
      return;
    }
    const current = this.current!;
    const offset = current.bytes + this.lines.pending;
    const line = appendEntry(this.lines, entry);
    this.live.set(entry.id, { generation: current.generation, offset, ...line });
    this.liveBytes += line.bytes;
    this.scheduleFlush();
    if (written) this.waiters.push(written);
  }

  remove(id: string): void {
    const live = this.live.get(id);
    if (!live) return;
    this.live.delete(id);
    this.liveBytes -= live.bytes;
    if (live.generation === this.previous?.generation) this.previousLive--;
    if (!this.persistent) return;
    this.lines.append(doneLine(id));
    this.scheduleFlush();
  }

  payloadJson(id: string): Buffer | undefined {
    const live = this.live.get(id);
    if (!live || live.payloadBytes === 0 || !this.persistent) return undefined;
    const file = live.generation === this.current!.generation ? this.current : live.generation === this.previous?.generation ? this.previous : undefined;
    const start = live.offset + live.payloadAt;
    const end = start + live.payloadBytes;
    if (!file || end > file.bytes) return undefined; // still pending
    try {
      return this.readBack(file, start, end);
    } catch {
      return undefined;
    }
  }

  /**
   * Bytes start..end of a file: from the stretch read last when it holds them, else with one read of up to
   * READ_AHEAD_BYTES from `start`, kept for the next calls. Undefined when the file is shorter than expected.
   */
  private readBack(file: JournalFile, start: number, end: number): Buffer | undefined {
    const ahead = this.readAhead;
    if (ahead && ahead.generation === file.generation && start >= ahead.start && end <= ahead.start + ahead.data.length) {
      return ahead.data.subarray(start - ahead.start, end - ahead.start);
    }
    const data = Buffer.allocUnsafe(Math.max(end - start, Math.min(READ_AHEAD_BYTES, file.bytes - start)));
    const read = fs.readSync(file.fd, data, 0, data.length, start);
    if (read < end - start) return undefined;
    this.readAhead = { generation: file.generation, start, data: data.subarray(0, read) };
    return data.subarray(0, end - start);
  }

  /** The lines appended in this tick are written at its end (a burst is written in pieces as the buffer fills). */
  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Writes the pending lines and calls back those waiting for them; then empties the files when nothing is
   * outstanding, or makes room when the current file is full.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.persistent) {
      if (this.live.size === 0 && this.current!.bytes + (this.previous?.bytes ?? 0) + this.lines.pending >= EMPTY_BYTES) {
        this.lines.discard();
        this.guard(() => this.empty());
      } else if (this.lines.pending > 0) {
        this.lines.drain();
        if (this.persistent && this.current!.bytes >= this.fullBytes) this.guard(() => this.makeRoom());
      }
    }
    // Written, or the journal failed (it then keeps messages in memory only, as it warned): delivery goes on.
    const waiters = this.waiters;
    this.waiters = [];
    for (const written of waiters) written();
  }

  close(): void {
    if (this.current === undefined) return;
    this.flush();
    for (const file of [this.current, this.previous]) {
      try {
        if (file) fs.closeSync(file.fd);
      } catch {
        // already unusable
      }
    }
    this.current = undefined;
    this.previous = undefined;
  }

  destroy(): void {
    this.lines.discard();
    this.live.clear();
    this.liveBytes = 0;
    this.close();
    for (const file of [this.file, this.previousFile, this.asideFile]) fs.rmSync(file, { force: true });
  }

  private get asideFile(): string {
    return `${this.file}.tmp`;
  }

  /** Appends bytes to the current file; when that fails, the journal is memory-only from then on. */
  private writeCurrent(bytes: Buffer): void {
    if (!this.persistent) return;
    this.guard(() => {
      writeFully(this.current!.fd, bytes);
      this.current!.bytes += bytes.length;
    });
  }

  /**
   * Starts from what was found: the outstanding entries are written into a new previous file and the current file
   * is replaced by an empty one. A crash in between leaves lines in the current file that are either outstanding,
   * and then in the previous file too, or finished: the journal reads back the same entries.
   */
  private start(entries: JournalEntry[]): void {
    if (entries.length > 0) {
      this.replacePrevious((out) => {
        let written = 0;
        const lines = new LineBuffer((bytes) => {
          writeFully(out, bytes);
          written += bytes.length;
        });
        for (const entry of entries) {
          const offset = written + lines.pending;
          const line = appendEntry(lines, entry);
          this.live.set(entry.id, { generation: -1, offset, ...line });
          this.liveBytes += line.bytes;
        }
        lines.drain();
        return written;
      });
    } else {
      this.dropPrevious();
    }
    this.newCurrent();
  }

  /** The current file is full: set it aside when the previous file is all finished work, else compact when worth it. */
  private makeRoom(): void {
    if (this.previousLive === 0) this.rotate();
    else if (this.liveBytes * 2 < this.current!.bytes + this.previous!.bytes) this.compact();
  }

  /**
   * The current file becomes the previous one (renamed to a free name: nothing is copied or forced to disk) and a
   * new, empty file is opened. The old previous file, with nothing outstanding in it, is deleted first: a crash
   * in between leaves the current file, which reads back the same entries.
   */
  private rotate(): void {
    this.dropPrevious();
    fs.renameSync(this.file, this.previousFile);
    this.previous = this.current;
    this.previousLive = this.live.size;
    this.current = undefined;
    this.newCurrent();
  }

  /**
   * Copies the outstanding lines of both files, byte for byte and in order (adjacent lines in one piece, at most
   * COPY_CHUNK_BYTES in memory, nothing serialised again), into a new previous file, then replaces the current one
   * by an empty one (crash safety: see start).
   */
  private compact(): void {
    const fds = new Map<number, number>([[this.current!.generation, this.current!.fd]]);
    if (this.previous) fds.set(this.previous.generation, this.previous.fd);
    this.replacePrevious((out) => {
      const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
      let total = 0;
      let run: { fd: number; start: number; end: number } | undefined;
      for (const live of this.live.values()) {
        const fd = fds.get(live.generation)!;
        if (run?.fd !== fd || run.end !== live.offset) {
          if (run) copyRange(run.fd, out, run.start, run.end - run.start, buffer);
          run = { fd, start: live.offset, end: live.offset };
        }
        run.end += live.bytes;
        live.offset = total;
        total += live.bytes;
      }
      if (run) copyRange(run.fd, out, run.start, run.end - run.start, buffer);
      return total;
    });
    this.newCurrent();
  }

  /**
   * Makes a new previous file holding every outstanding entry's line, from what `fill` writes into an aside file
   * (in order, setting each entry's offset, and returning the size): renamed over the previous file, which is
   * atomic: a crash before it leaves the journal as it was (and a stale aside file that the next one overwrites).
   */
  private replacePrevious(fill: (fd: number) => number): void {
    const out = fs.openSync(this.asideFile, "w");
    let bytes: number;
    try {
      bytes = fill(out);
    } finally {
      fs.closeSync(out);
    }
    // Closed before the rename, which Windows refuses over an open file.
    if (this.previous) fs.closeSync(this.previous.fd);
    this.previous = undefined;
    fs.renameSync(this.asideFile, this.previousFile);
    this.previous = { fd: fs.openSync(this.previousFile, "r"), bytes, generation: ++this.generations };
    for (const live of this.live.values()) live.generation = this.previous.generation;
    this.previousLive = this.live.size;
  }

  /**
   * Replaces the current file by a new, empty one: what is outstanding in it was copied to the previous file, or
   * nothing is. Deleted and created again rather than truncated: ext4 forces the data of a file truncated to zero
   * to disk when it is closed, which would make each later close of a full file take tens of milliseconds.
   */
  private newCurrent(): void {
    if (this.current) fs.closeSync(this.current.fd);
    this.current = undefined;
    fs.rmSync(this.file, { force: true });
    // Appending, and reading back a payload (payloadJson).
    this.current = { fd: fs.openSync(this.file, "a+"), bytes: 0, generation: ++this.generations };
  }

  /** Deletes the previous file: nothing in it is outstanding. */
  private dropPrevious(): void {
    if (this.previous) fs.closeSync(this.previous.fd);
    this.previous = undefined;
    this.previousLive = 0;
    fs.rmSync(this.previousFile, { force: true });
  }

  /** Nothing is outstanding: both files are emptied (the previous one first, so a crash cannot bring its entries back). */
  private empty(): void {
    this.dropPrevious();
    this.newCurrent();
  }

  /** Runs a write; the first failure switches the journal to memory only and is reported once. */
  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      if (!this.failed) {
        this.failed = true;
        this.lines.discard();
        try {
          this.options.onError?.(error as Error);
        } catch {
          // a warning must not break delivery
        }
      }
    }
  }
}

/**
 * Reads a journal (its previous file, then `file`): the accepted entries without a "done" line, in order;
 * unreadable lines are skipped.
 */
export function readJournal(file: string): { entries: JournalEntry[]; skippedLines: number } {
  const live = new Map<string, JournalEntry>();
  let skippedLines = 0;
  for (const part of [previousFileOf(file), file]) {
    const { records, skippedLines: unreadable } = jsonLines(textOf(part));
    skippedLines += unreadable;
    for (const record of records as any[]) {
      if (record && typeof record.done === "string") {
        live.delete(record.done);
      } else if (record && typeof record.id === "string" && record.msg && typeof record.msg === "object") {
        // An entry in both files (a crash between compaction's rename and the emptying of the current file) counts once.
        if (!live.has(record.id)) live.set(record.id, { id: record.id, acceptedAt: String(record.acceptedAt ?? ""), msg: record.msg });
      } else {
        skippedLines++;
      }
    }
  }
  return { entries: [...live.values()], skippedLines };
}

/** A file's text, or "" when there is no such file. */
function textOf(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw error;
  }
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

/** Appends an entry's line: its size, and where its payload's JSON is in it, in bytes (payloadBytes 0: not known). */
function appendEntry(lines: LineBuffer, entry: JournalEntry): { bytes: number; payloadAt: number; payloadBytes: number } {
  const { head, payload, tail } = lineParts(entry);
  const payloadAt = lines.append(head);
  const payloadBytes = payload === undefined ? 0 : lines.append(payload);
  return { bytes: payloadAt + payloadBytes + lines.append(tail), payloadAt, payloadBytes };
}

/** Writes all of `bytes` at the end of the file (a short write, which files hardly ever make, is finished). */
function writeFully(fd: number, bytes: Buffer): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
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
