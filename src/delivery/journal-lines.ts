/**
 * The journal's lines: how an accepted message is encoded as one JSON line (its payload first, so a target can
 * send the payload's bytes as they were written), and how a JSON-lines text is read back. The failed-message
 * store and the cluster queue keep messages the same way.
 */

/** What the journal keeps of an accepted message. */
export interface JournalEntry {
  /** The id the node gave the message when it accepted it (also the on-demand idempotency key). */
  id: string;
  /** ISO-8601 time of acceptance. */
  acceptedAt: string;
  /** The message's JSON-safe properties (see serialiseMessage). */
  msg: Record<string, unknown>;
}

/**
 * An entry's line in three parts: the text before its payload's JSON, that JSON exactly as JSON.stringify writes
 * `msg.payload`, and the rest. Without a payload to keep, or when the message needed the fallback serialiser,
 * `payload` is undefined and the line is `head` + `tail`.
 */
export function lineParts(entry: JournalEntry): { head: string; payload?: string; tail: string } {
  const head = `{"id":${JSON.stringify(entry.id)},"acceptedAt":${JSON.stringify(entry.acceptedAt)},"msg":`;
  const { payload, rest } = messageParts(entry.msg);
  if (payload === undefined) return { head, tail: `${rest}}\n` };
  return { head: `${head}{"payload":`, payload, tail: `${afterPayload(rest)}}\n` };
}

/** The "done" line of an entry: it was delivered or failed for good. */
export function doneLine(id: string): string {
  return `{"done":${JSON.stringify(id)}}\n`;
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
