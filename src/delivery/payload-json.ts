/**
 * The JSON text of a message's payload, made once: the journal serialises each accepted message (payload included)
 * and keeps the payload's text here until the end of its group write; a target whose request body is the payload
 * as JSON (HTTP POST with signals and records, a non-Insight event) and whose first attempt starts right after
 * that write takes the text from here instead of serialising the payload again. Keyed by the payload object; held
 * only until the write's callbacks have run, so a backlog does not keep a second copy of every payload.
 */
const made = new WeakMap<object, string>();
let held: object[] = [];

/** Keeps `json`, the text of `payload`, until the next forgetPayloadJson(). */
export function keepPayloadJson(payload: object, json: string): void {
  made.set(payload, json);
  held.push(payload);
}

/** `JSON.stringify(payload)`, or the text the journal just made of this very object. */
export function payloadJson(payload: unknown): string {
  if (typeof payload === "object" && payload !== null) {
    const json = made.get(payload);
    if (json !== undefined) return json;
  }
  return JSON.stringify(payload);
}

/** Drops every kept text (the messages written together have started their first attempts, or are queued). */
export function forgetPayloadJson(): void {
  for (const payload of held) made.delete(payload);
  held = [];
}
