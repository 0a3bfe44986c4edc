/**
 * Messages that failed for good (SPEC §9): kept per action node, the newest FAILED_PER_NODE of each, so an
 * operator can look at them and send them again once the target is fixed. One interface; a file store under
 * Node-RED's user directory (or memory without one), chosen in one place (failedStoreFor). Cluster mode adds a
 * Redis implementation of the same interface.
 */
import fs from "node:fs";
import path from "node:path";
import { journalFile } from "../delivery/journal";
import { jsonLines, serialiseMessage } from "../delivery/journal-lines";
import { RedisFailedStore } from "../cluster/failed-store";
import { readClusterSettings } from "../cluster/settings";

/** How many failed messages are kept per node; the oldest goes first. */
export const FAILED_PER_NODE = 1000;

/** Where the file store keeps its files: `<userDir>/cse-actions-failed/<node id>.jsonl`. */
export const FAILED_DIR = "cse-actions-failed";

/** A message that failed for good, as JSON (never a credential: `msg` is the message the node received). */
export interface FailedEntry {
  /** The action node's id. */
  node: string;
  /** The id the node gave the message when it accepted it: kept by a retry, so the idempotency key is too. */
  id: string;
  /** The node's type, e.g. `cse-slack`. */
  type: string;
  /** ISO-8601 time it failed. */
  failedAt: string;
  /** What went wrong, naming the node and the target's answer (redacted). */
  reason: string;
  topic: string;
  /** The event's dedupe key (`msg.cse.key`). */
  key: string;
  attempts: number;
  /** The last HTTP status / SMTP code, null when the target never answered. */
  status: number | null;
  /** The message's JSON-safe properties, as the journal keeps them. */
  msg: Record<string, unknown>;
}

/** What the failed list shows: an entry without its message. */
export type FailedSummary = Omit<FailedEntry, "msg">;

export interface FailedStore {
  /** Keeps an entry (replacing one of the same node and id), dropping the node's oldest beyond FAILED_PER_NODE. */
  add(entry: FailedEntry): Promise<void>;
  /** The entries of one node, or of every node, newest first. */
  list(node?: string): Promise<FailedEntry[]>;
  get(node: string, id: string): Promise<FailedEntry | undefined>;
  /** Forgets an entry; false when there was none. */
  remove(node: string, id: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A failed entry as JSON-safe data: the message serialised as the journal does (no `req`/`res`, no functions). */
export function failedEntry(fields: Omit<FailedEntry, "msg">, msg: Record<string, unknown>): FailedEntry {
  return { ...fields, msg: JSON.parse(serialiseMessage(msg)) };
}

export function summaryOf(entry: FailedEntry): FailedSummary {
  const { msg: _msg, ...summary } = entry;
  return summary;
}

function newestFirst(a: FailedEntry, b: FailedEntry): number {
  return a.failedAt < b.failedAt ? 1 : a.failedAt > b.failedAt ? -1 : 0;
}

/** The store when there is nowhere to write: the failed list lives as long as the process. */
export class MemoryFailedStore implements FailedStore {
  /** Per node, its entries by id, oldest first (insertion order). */
  protected readonly nodes = new Map<string, Map<string, FailedEntry>>();

  constructor(protected readonly perNode = FAILED_PER_NODE) {}

  async add(entry: FailedEntry): Promise<void> {
    this.keep(entry);
  }

  async list(node?: string): Promise<FailedEntry[]> {
    const lists = node === undefined ? [...this.nodes.values()] : [this.nodes.get(node) ?? new Map<string, FailedEntry>()];
    const all = lists.flatMap((entries) => [...entries.values()].reverse());
    return all.sort(newestFirst);
  }

  async get(node: string, id: string): Promise<FailedEntry | undefined> {
    return this.nodes.get(node)?.get(id);
  }

  async remove(node: string, id: string): Promise<boolean> {
    return this.forget(node, id);
  }

  async close(): Promise<void> {}

  /** Keeps `entry` in memory; returns the ids it pushed out (the node's oldest). */
  protected keep(entry: FailedEntry): string[] {
    let entries = this.nodes.get(entry.node);
    if (!entries) this.nodes.set(entry.node, (entries = new Map()));
    entries.delete(entry.id);
    entries.set(entry.id, entry);
    const dropped: string[] = [];
    for (const id of entries.keys()) {
      if (entries.size <= this.perNode) break;
      entries.delete(id);
      dropped.push(id);
    }
    return dropped;
  }

  protected forget(node: string, id: string): boolean {
    const entries = this.nodes.get(node);
    if (!entries?.delete(id)) return false;
    if (entries.size === 0) this.nodes.delete(node);
    return true;
  }
}

/**
 * One append-only JSON-lines file per node: an entry per line, `{"removed": id}` when one leaves. Read whole at
 * start; rewritten with only the kept entries once it holds twice as many lines as it keeps. Writes of a node are
 * serialised; a failed write is reported once (onError) and the store goes on in memory.
 */
export class FileFailedStore extends MemoryFailedStore {
  private readonly lines = new Map<string, number>();
  private readonly writing = new Map<string, Promise<void>>();
  private failed = false;

  constructor(
    private readonly dir: string,
    private readonly onError: (error: Error) => void = () => undefined,
    perNode = FAILED_PER_NODE,
  ) {
    super(perNode);
    fs.mkdirSync(dir, { recursive: true });
    for (const file of fs.readdirSync(dir)) {
      if (file.endsWith(".jsonl")) this.load(path.join(dir, file));
    }
  }

  override async add(entry: FailedEntry): Promise<void> {
    const dropped = this.keep(entry);
    const text = JSON.stringify(entry) + "\n" + dropped.map((id) => `{"removed":${JSON.stringify(id)}}\n`).join("");
    await this.append(entry.node, text, 1 + dropped.length);
  }

  override async remove(node: string, id: string): Promise<boolean> {
    if (!this.forget(node, id)) return false;
    await this.append(node, `{"removed":${JSON.stringify(id)}}\n`, 1);
    return true;
  }

  override async close(): Promise<void> {
    await Promise.allSettled([...this.writing.values()]);
  }

  private load(file: string): void {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      return;
    }
    // A last line cut short by a crash is ended, so that the next append starts a line of its own.
    if (text.length > 0 && !text.endsWith("\n")) fs.appendFileSync(file, "\n");
    let node: string | undefined;
    const { records } = jsonLines(text);
    for (const record of records as any[]) {
      if (record && typeof record.removed === "string") {
        if (node !== undefined) this.forget(node, record.removed);
      } else if (record && typeof record.node === "string" && typeof record.id === "string" && record.msg && typeof record.msg === "object") {
        node = record.node;
        this.keep(record as FailedEntry);
      }
    }
    if (node !== undefined) this.lines.set(node, records.length);
  }

  /** Appends to the node's file after its earlier writes; compacts when the file is mostly history. */
  private append(node: string, text: string, lineCount: number): Promise<void> {
    const previous = this.writing.get(node) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (this.failed) return;
      const file = journalFile(this.dir, node);
      try {
        const lines = (this.lines.get(node) ?? 0) + lineCount;
        if (lines > 2 * Math.max(this.nodes.get(node)?.size ?? 0, 100)) {
          const kept = [...(this.nodes.get(node)?.values() ?? [])];
          await fs.promises.writeFile(`${file}.tmp`, kept.map((e) => JSON.stringify(e) + "\n").join(""));
          await fs.promises.rename(`${file}.tmp`, file);
          this.lines.set(node, kept.length);
        } else {
          await fs.promises.appendFile(file, text);
          this.lines.set(node, lines);
        }
      } catch (error) {
        this.failed = true;
        this.onError(error as Error);
      }
    });
    this.writing.set(node, next);
    return next.finally(() => {
      if (this.writing.get(node) === next) this.writing.delete(node);
    });
  }
}

/**
 * The one place the failed-message store is chosen: a file store under Node-RED's user directory, memory
 * without one (the test helper) or when the directory cannot be used (with a warning).
 */
export function failedStoreFor(settings: Record<string, any> | undefined, warn: (text: string) => void): FailedStore {
  // In cluster mode the list lives in Redis, shared by the replicas (a bad setting is reported by the nodes).
  if (clusterConfigured(settings)) return new RedisFailedStore(settings!, FAILED_PER_NODE);
  const userDir = settings?.userDir;
  if (typeof userDir !== "string" || !userDir) return new MemoryFailedStore();
  const dir = path.join(userDir, FAILED_DIR);
  const lost = "failed messages are kept in memory only until Node-RED stops";
  try {
    return new FileFailedStore(dir, (error) => warn(`cse-actions: writing failed messages in ${dir} failed (${(error as NodeJS.ErrnoException).code ?? error.message}); ${lost}`));
  } catch (error) {
    warn(`cse-actions: cannot keep failed messages in ${dir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ${lost}`);
    return new MemoryFailedStore();
  }
}

function clusterConfigured(settings: Record<string, any> | undefined): boolean {
  try {
    return readClusterSettings(settings) !== undefined;
  } catch {
    return true;
  }
}
