/**
 * Truncation to a target's size limit, always with a visible marker so a reader knows text is missing.
 * Lengths are JavaScript string lengths (UTF-16 code units) unless a function says bytes.
 */

export const TRUNCATION_MARKER = "… [truncated]";

/** Cuts `end` back so the string does not end on the first half of a surrogate pair. */
function safeEnd(text: string, end: number): number {
  if (end > 0 && end < text.length) {
    const code = text.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) return end - 1;
  }
  return end;
}

/** `text` if it fits in `max` characters, else its start plus `marker`, `max` characters in all. */
export function truncateText(text: string, max: number, marker = TRUNCATION_MARKER): string {
  if (text.length <= max) return text;
  if (max <= marker.length) return marker.slice(0, Math.max(0, max));
  return text.slice(0, safeEnd(text, max - marker.length)) + marker;
}

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** `text` if it fits in `maxBytes` UTF-8 bytes, else its start plus `marker`, within `maxBytes`. */
export function truncateBytes(text: string, maxBytes: number, marker = TRUNCATION_MARKER): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  return truncateRendered(text, maxBytes, (s) => s, marker, utf8Bytes);
}

/**
 * Renders `raw` (e.g. HTML- or mrkdwn-escaped) within `max`, measured by `measure` (default: string length).
 * When the whole does not fit, renders the longest prefix of `raw` that fits together with the marker, so an
 * escape sequence such as `&amp;` is never cut in half. The marker is appended as is (not rendered).
 */
export function truncateRendered(
  raw: string,
  max: number,
  render: (text: string) => string,
  marker = TRUNCATION_MARKER,
  measure: (text: string) => number = (s) => s.length,
): string {
  const whole = render(raw);
  if (measure(whole) <= max) return whole;
  if (measure(marker) > max) return "";
  let lo = 0;
  let hi = raw.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (measure(render(raw.slice(0, safeEnd(raw, mid))) + marker) <= max) lo = mid;
    else hi = mid - 1;
  }
  return render(raw.slice(0, safeEnd(raw, lo))) + marker;
}

/**
 * The largest per-field budget (from `minBudget` to `maxBudget`) for which `build(budget)` measures at most
 * `max`, and what it built. For views whose total size depends on many truncated fields at once (a Teams card's
 * byte limit). When even `minBudget` is too big, returns that smallest build: the caller decides what to do.
 */
export function fitWithin<T>(
  max: number,
  build: (budget: number) => T,
  measure: (built: T) => number,
  maxBudget: number,
  minBudget = 0,
): { budget: number; built: T; fits: boolean } {
  const first = build(maxBudget);
  if (measure(first) <= max) return { budget: maxBudget, built: first, fits: true };
  let lo = minBudget;
  let hi = maxBudget - 1;
  let best: { budget: number; built: T } | undefined;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const built = build(mid);
    if (measure(built) <= max) {
      best = { budget: mid, built };
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (best) return { ...best, fits: true };
  return { budget: minBudget, built: build(minBudget), fits: false };
}

/**
 * `truncateText` for markup (HTML, Slack mrkdwn): the cut never ends inside a tag, a `<link|label>` or an
 * entity such as `&amp;`, so what is kept stays well-formed text.
 */
export function truncateMarkup(text: string, max: number, marker = TRUNCATION_MARKER): string {
  if (text.length <= max) return text;
  if (max <= marker.length) return marker.slice(0, Math.max(0, max));
  let kept = text.slice(0, safeEnd(text, max - marker.length));
  const open = kept.lastIndexOf("<");
  if (open > kept.lastIndexOf(">")) kept = kept.slice(0, open);
  const amp = kept.lastIndexOf("&");
  if (amp > kept.lastIndexOf(";") && kept.length - amp <= 10) kept = kept.slice(0, amp);
  return kept + marker;
}
