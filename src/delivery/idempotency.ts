/**
 * Idempotency keys: delivery is at-least-once (a journalled message is sent again after a crash or a
 * redeploy), so targets that can deduplicate get a key that is the same for every attempt and every replay
 * of one accepted message.
 */
import type { DeliveryEvent } from "../targets/types";

/** A DeliveryEvent as the engine hands it to a target: with the key of the accepted message. */
export type KeyedEvent = DeliveryEvent & { idempotencyKey?: string };

/**
 * The key of an accepted message: `cse.key` for deduplicated events (the same event always has the same key);
 * for `insight.onDemand`, which is never deduplicated, the id given to the message when the node accepted it
 * (journalled with it, so a replay after a restart sends the same key, while two runs get different keys).
 */
export function idempotencyKeyFor(event: DeliveryEvent, acceptedId: string): string {
  return event.topic === "insight.onDemand" ? acceptedId : event.cse.key;
}

/** The key the engine attached to `event`, else its `cse.key`. */
export function idempotencyKeyOf(event: DeliveryEvent): string {
  return (event as KeyedEvent).idempotencyKey ?? event.cse.key;
}

/**
 * The key as an HTTP header value: printable ASCII is sent as it is, anything else (non-ASCII, CR/LF,
 * control characters) percent-encoded, so a hostile Insight id can neither break nor inject a header.
 */
export function headerSafeKey(key: string): string {
  return /^[\x21-\x7e]+$/.test(key) ? key : encodeURIComponent(key);
}
