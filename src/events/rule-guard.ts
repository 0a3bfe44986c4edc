import type { RuleAutoDisabled } from "./types";

export interface RuleLimits {
  /** A rule with more signals than this in any 60 minutes is disabled (CSE: 100,000). */
  perHour: number;
  /** A rule with more signals than this in any 24 hours is disabled (CSE: 1,000,000). */
  perDay: number;
}

export const CSE_RULE_LIMITS: RuleLimits = { perHour: 100_000, perDay: 1_000_000 };

export const MINUTE = 60_000;
export const HOUR_MINUTES = 60;
export const DAY_MINUTES = 24 * 60;

/** The event for a rule that went over its hourly or daily limit at `now`. */
export function autoDisabled(ruleId: string, ruleName: string, limits: RuleLimits, breach: "hour" | "day", now: number): RuleAutoDisabled {
  const reason = breach === "hour" ? `more than ${limits.perHour} signals in one hour` : `more than ${limits.perDay} signals in 24 hours`;
  return { ruleId, ruleName, reason, disabledAt: new Date(now).toISOString() };
}

interface RuleCounts {
  /** Minute numbers (epoch minutes), oldest first, and the signal count of each; at most one day of them. */
  minutes: number[];
  counts: number[];
  dayTotal: number;
  disabled: boolean;
}

/**
 * Counts signals per rule in minute buckets and reports a rule once when it goes over a limit, as
 * CSE automatically disables it. A disabled rule is reported again only after a full day without
 * signals. Memory per rule is at most one day of minute buckets, whatever the signal rate.
 */
export class RuleGuard {
  private readonly rules = new Map<string, RuleCounts>();
  private lastSweepMinute = 0;

  constructor(readonly limits: RuleLimits = CSE_RULE_LIMITS) {}

  /** Rules with signals in the last 24 hours. */
  get tracked(): number {
    return this.rules.size;
  }

  /** Counts one signal of `ruleId` at `now`; returns the auto-disable event when this signal crosses a limit. */
  signal(ruleId: string, ruleName: string, now: number): RuleAutoDisabled | undefined {
    const minute = Math.floor(now / MINUTE);
    this.sweep(minute);
    let rule = this.rules.get(ruleId);
    if (!rule) {
      rule = { minutes: [], counts: [], dayTotal: 0, disabled: false };
      this.rules.set(ruleId, rule);
    }
    expire(rule, minute);
    if (rule.minutes.length === 0) rule.disabled = false;

    const last = rule.minutes.length - 1;
    if (last >= 0 && rule.minutes[last] === minute) rule.counts[last]++;
    else {
      rule.minutes.push(minute);
      rule.counts.push(1);
    }
    rule.dayTotal++;
    if (rule.disabled) return undefined;

    let breach: "hour" | "day" | undefined;
    if (hourTotal(rule, minute) > this.limits.perHour) breach = "hour";
    else if (rule.dayTotal > this.limits.perDay) breach = "day";
    if (!breach) return undefined;
    rule.disabled = true;
    return autoDisabled(ruleId, ruleName, this.limits, breach, now);
  }

  /** Forgets rules without a signal in the last day; runs at most once a minute. */
  private sweep(minute: number): void {
    if (minute === this.lastSweepMinute) return;
    this.lastSweepMinute = minute;
    for (const [ruleId, rule] of this.rules) {
      expire(rule, minute);
      if (rule.minutes.length === 0) this.rules.delete(ruleId);
    }
  }
}

function expire(rule: RuleCounts, minute: number): void {
  let drop = 0;
  while (drop < rule.minutes.length && rule.minutes[drop] <= minute - DAY_MINUTES) {
    rule.dayTotal -= rule.counts[drop];
    drop++;
  }
  if (drop) {
    rule.minutes.splice(0, drop);
    rule.counts.splice(0, drop);
  }
}

function hourTotal(rule: RuleCounts, minute: number): number {
  let total = 0;
  for (let i = rule.minutes.length - 1; i >= 0 && rule.minutes[i] > minute - HOUR_MINUTES; i--) total += rule.counts[i];
  return total;
}
