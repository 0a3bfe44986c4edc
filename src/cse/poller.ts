import type { Insight, RuleAutoDisabled } from "../events/types";
import type { CseRule } from "./client";

/** What the poller reads; `CseClient` is one. */
export interface PollSource {
  listInsights(q: string, signal?: AbortSignal): Promise<Insight[]>;
  listRules(signal?: AbortSignal): Promise<CseRule[]>;
}

/**
 * Where polling stands; the node keeps it in its context store so that a restart continues from
 * here (times are ISO-8601 UTC).
 */
export interface PollCheckpoint {
  version: 1;
  /** The tenant polled; a checkpoint of another tenant is not reused. */
  apiUrl?: string;
  /** When polling first started: nothing created or closed before it is ever emitted. */
  origin: string;
  createdSince: string;
  closedSince: string;
  /** `status.status` of every rule at the last successful rules poll; absent before the first. */
  rules?: Record<string, string>;
  /**
   * Keys (`<id>:insight.created|closed`) of the Insights already found in the overlapping part of
   * the windows, with their time: a repeat is not returned again, whatever the dedupe window.
   */
  recent?: Record<string, number>;
}

export type PollTopic = "insight.created" | "insight.closed" | "rule.autoDisabled";

export interface PollEvent {
  topic: PollTopic;
  payload: Insight | RuleAutoDisabled;
}

export interface PollOutcome {
  at: Date;
  events: PollEvent[];
  counts: { created: number; closed: number; autoDisabled: number };
  /** The first thing that failed in this poll (the other queries still ran). */
  error?: Error;
  /** Set only when this poll changes the tenant's health: once per outage and once per recovery. */
  transition?: "outageStarted" | "recovered";
  /** Where polling stands once these events are out: pass it to {@link CsePoller.commit}. */
  checkpoint: PollCheckpoint;
}

export interface PollerOptions {
  created?: boolean;
  closed?: boolean;
  rules?: boolean;
  /** How far each window reaches back before the previous poll (late-indexed Insights); default 2 min. */
  overlapMs?: number;
  now?: () => Date;
}

/** `2026-11-28T03:00:00`: UTC, whole seconds, no `Z` — the form the CSE query language takes. */
export function toApiTime(date: Date): string {
  return date.toISOString().slice(0, 19);
}

/** Parses a CSE time (UTC, with or without `Z`, optional fraction); NaN when unparseable. */
export function parseApiTime(value: unknown): number {
  if (typeof value !== "string" || value.trim() === "") return NaN;
  const text = value.trim();
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) ? text : `${text}Z`;
  return Date.parse(zoned.replace(/(\.\d{3})\d+/, "$1"));
}

function clone(checkpoint: PollCheckpoint): PollCheckpoint {
  return JSON.parse(JSON.stringify(checkpoint));
}

export function ruleStatusOf(rule: CseRule): string {
  const status = rule.status;
  const value = typeof status === "object" && status !== null ? status.status : status;
  return typeof value === "string" ? value.toUpperCase() : "";
}

function isCheckpoint(value: unknown): value is PollCheckpoint {
  const c = value as PollCheckpoint;
  return (
    typeof c === "object" && c !== null && c.version === 1 &&
    !Number.isNaN(Date.parse(c.origin)) && !Number.isNaN(Date.parse(c.createdSince)) && !Number.isNaN(Date.parse(c.closedSince))
  );
}

/**
 * The CSE side of `cse-trigger`'s polling (SPEC §3), without Node-RED: each `poll()` lists the
 * Insights created and closed since the checkpoint and the rules, and returns the events to emit
 * plus the next checkpoint. Windows overlap a little, so the same Insight can come back in two
 * polls: the trigger's dedupe of emitted keys drops the repeat.
 */
export class CsePoller {
  private state: PollCheckpoint;
  private failing = false;
  private readonly overlapMs: number;
  private readonly now: () => Date;

  constructor(
    private readonly source: PollSource,
    private readonly options: PollerOptions & { apiUrl?: string; checkpoint?: unknown } = {},
  ) {
    this.overlapMs = options.overlapMs ?? 120_000;
    this.now = options.now ?? (() => new Date());
    const saved = options.checkpoint;
    if (isCheckpoint(saved) && (saved.apiUrl ?? options.apiUrl) === options.apiUrl) {
      this.state = { ...saved, apiUrl: options.apiUrl };
    } else {
      const start = this.now().toISOString();
      this.state = { version: 1, apiUrl: options.apiUrl, origin: start, createdSince: start, closedSince: start };
    }
  }

  /** The committed checkpoint (a copy). */
  get checkpoint(): PollCheckpoint {
    return clone(this.state);
  }

  /**
   * Makes a poll's checkpoint the starting point of the next poll. Call it once the poll's events
   * are out: if they could not be sent, the next poll finds them again.
   */
  commit(checkpoint: PollCheckpoint): void {
    this.state = clone(checkpoint);
  }

  /** True while the last poll failed. */
  get inOutage(): boolean {
    return this.failing;
  }

  /** One poll from the committed checkpoint; nothing changes until {@link commit}. */
  async poll(signal?: AbortSignal): Promise<PollOutcome> {
    const at = this.now();
    const state = clone(this.state);
    const recent = state.recent ?? {};
    const origin = Date.parse(state.origin);
    const next = Math.max(origin, at.getTime() - this.overlapMs);
    const nextSince = new Date(next).toISOString();
    const events: PollEvent[] = [];
    const counts = { created: 0, closed: 0, autoDisabled: 0 };
    const errors: Error[] = [];
    const step = async (run: () => Promise<void>) => {
      try {
        await run();
      } catch (err) {
        if (signal?.aborted) throw err;
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
    };

    await step(async () => {
      if (this.options.created !== false) {
        const since = Date.parse(state.createdSince);
        const found = await this.source.listInsights(`created:>=${toApiTime(new Date(since))}`, signal);
        const fresh = this.unseen(this.since(found, "created", origin), "insight.created", "created", recent);
        counts.created = fresh.length;
        for (const insight of fresh) events.push({ topic: "insight.created", payload: insight });
      }
      state.createdSince = nextSince;
    });

    await step(async () => {
      if (this.options.closed !== false) {
        const since = Date.parse(state.closedSince);
        const found = await this.source.listInsights(`status:"closed" closed:>=${toApiTime(new Date(since))}`, signal);
        const fresh = this.unseen(this.since(found, "closed", origin), "insight.closed", "closed", recent);
        counts.closed = fresh.length;
        for (const insight of fresh) events.push({ topic: "insight.closed", payload: insight });
      }
      state.closedSince = nextSince;
    });

    await step(async () => {
      if (this.options.rules === false) {
        state.rules = undefined; // switched off: when back on, the first poll is backlog again
        return;
      }
      const rules = await this.source.listRules(signal);
      const previous = state.rules;
      const current: Record<string, string> = {};
      for (const rule of rules) {
        if (!rule || typeof rule.id !== "string") continue;
        const status = ruleStatusOf(rule);
        current[rule.id] = status;
        if (previous && status === "FAILED" && previous[rule.id] !== "FAILED") {
          const message = typeof rule.status === "object" && rule.status ? rule.status.message : undefined;
          events.push({
            topic: "rule.autoDisabled",
            payload: {
              ruleId: rule.id,
              ruleName: typeof rule.name === "string" && rule.name ? rule.name : rule.id,
              reason: typeof message === "string" && message ? message : "automatically disabled by Cloud SIEM",
              disabledAt: at.toISOString(),
            },
          });
          counts.autoDisabled++;
        }
      }
      state.rules = current;
    });

    // Keep the keys only as long as their Insight can still come back in a window (with a margin).
    const keepFrom = Math.min(Date.parse(state.createdSince), Date.parse(state.closedSince)) - this.overlapMs;
    for (const [key, time] of Object.entries(recent)) if (!(time >= keepFrom)) delete recent[key];
    state.recent = recent;

    const outcome: PollOutcome = { at, events, counts, checkpoint: state };
    if (errors.length > 0) {
      outcome.error = errors[0];
      if (!this.failing) outcome.transition = "outageStarted";
      this.failing = true;
    } else {
      if (this.failing) outcome.transition = "recovered";
      this.failing = false;
    }
    return outcome;
  }

  /** The Insights not found by an earlier poll; remembers the new ones in `recent`. */
  private unseen(insights: Insight[], topic: PollTopic, field: "created" | "closed", recent: Record<string, number>): Insight[] {
    return insights.filter((insight) => {
      const key = `${insight.id}:${topic}`;
      if (key in recent) return false;
      const time = parseApiTime(insight[field]);
      recent[key] = Number.isNaN(time) ? this.now().getTime() : time;
      return true;
    });
  }

  /** Insights whose `field` time is not before polling began, oldest first. */
  private since(insights: Insight[], field: "created" | "closed", origin: number): Insight[] {
    const kept = (Array.isArray(insights) ? insights : []).filter((insight) => {
      if (!insight || typeof insight !== "object" || typeof insight.id !== "string") return false;
      const time = parseApiTime(insight[field]);
      return Number.isNaN(time) || time >= origin;
    });
    return kept.sort((a, b) => (parseApiTime(a[field]) || 0) - (parseApiTime(b[field]) || 0));
  }
}
