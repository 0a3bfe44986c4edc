/**
 * The JSON text of a message's payload, made once: the journal serialises each accepted message (payload included)
 * and keeps the payload's text here; a target whose request body is the payload as JSON (HTTP POST with signals
 * and records, a non-Insight event) takes it for the message's first attempt instead of serialising the payload
 * again. Texts are kept, oldest first out, up to KEPT_BYTES in all (per process), so a burst queued behind the
 * node's concurrency finds its texts while a long backlog (an outage) does not keep a second copy of every payload.
 * A text is handed out once: later attempts serialise the payload as it is then.
 */
const KEPT_BYTES = 16 * 1024 * 1024;

/** Insertion order is the eviction order. Keys are held only while their message waits for its first attempt. */
const kept = new Map<object, string>();
let keptLength = 0;

/** Keeps `json`, the text of `payload`, for the first attempt of its message. */
export function keepPayloadJson(payload: object, json: string): void {
  if (json.length > KEPT_BYTES || kept.has(payload)) return;
  kept.set(payload, json);
  keptLength += json.length;
  while (keptLength > KEPT_BYTES) {
    const [oldest, text] = kept.entries().next().value as [object, string];
    kept.delete(oldest);
    keptLength -= text.length;
  }
}

/** The text the journal made of this very payload object (handed out once), else `JSON.stringify(payload)`. */
export function payloadJson(payload: unknown): string {
  if (typeof payload === "object" && payload !== null) {
    const json = kept.get(payload);
    if (json !== undefined) {
      forget(payload, json);
      return json;
    }
  }
  return JSON.stringify(payload);
}

/** Drops the text of a payload whose message ended without being attempted (closed, refused). */
export function dropPayloadJson(payload: unknown): void {
  if (typeof payload !== "object" || payload === null) return;
  const json = kept.get(payload);
  if (json !== undefined) forget(payload, json);
}

function forget(payload: object, json: string): void {
  kept.delete(payload);
  keptLength -= json.length;
}
