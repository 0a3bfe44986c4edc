/**
 * The Insight as the Full-JSON targets send it (HTTP POST v2, like CSE's own): the API object untouched except
 * for what the node's options remove — `signals` without includeSignals, each signal's `allRecords` without
 * includeRecords, and every record key not in recordFields when that list is given.
 */
import type { Insight, Signal } from "../events/types";

export interface FullJsonOptions {
  includeSignals?: boolean;
  includeRecords?: boolean;
  /** Record keys to keep; empty or missing keeps every key. */
  recordFields?: readonly string[];
}

/** A comma (or newline) separated field list as an array of trimmed, non-empty names. */
export function parseFieldList(text: unknown): string[] {
  if (typeof text !== "string") return [];
  return text
    .split(/[,\n]/)
    .map((f) => f.trim())
    .filter(Boolean);
}

function pick(record: unknown, keep: ReadonlySet<string>): unknown {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return record;
  return Object.fromEntries(Object.entries(record).filter(([key]) => keep.has(key)));
}

/** A shaped copy of `insight` (the input is not changed); key order is kept, so JSON differs only by removals. */
export function fullInsight(insight: Insight, options: FullJsonOptions = {}): Insight {
  const out: Insight = { ...insight };
  if (!options.includeSignals) {
    delete out.signals;
    return out;
  }
  if (!Array.isArray(insight.signals)) return out;
  const keep = options.recordFields && options.recordFields.length ? new Set(options.recordFields) : undefined;
  out.signals = insight.signals.map((signal): Signal => {
    if (typeof signal !== "object" || signal === null) return signal;
    const copy: Signal = { ...signal };
    if (!options.includeRecords) delete copy.allRecords;
    else if (keep && Array.isArray(signal.allRecords)) {
      copy.allRecords = signal.allRecords.map((record) => pick(record, keep) as Record<string, unknown>);
    }
    return copy;
  });
  return out;
}

/** True when the options remove nothing: `fullJson` is then `JSON.stringify(insight)`. */
export function keepsWholeInsight(options: FullJsonOptions): boolean {
  return !!options.includeSignals && !!options.includeRecords && !options.recordFields?.length;
}

/** `fullInsight` as the JSON text that goes on the wire. */
export function fullJson(insight: Insight, options: FullJsonOptions = {}): string {
  // Nothing to remove: the copy would serialise to the same text, so skip making it.
  if (keepsWholeInsight(options)) return JSON.stringify(insight);
  return JSON.stringify(fullInsight(insight, options));
}
