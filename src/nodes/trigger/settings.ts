import type { RuleLimits } from "../../events/rule-guard";
import type { EventTopic } from "../../events/types";

/** The cse-trigger node's properties as the editor saves them (numbers may arrive as strings). */
export interface TriggerConfig {
  name?: string;
  onInsightCreated?: unknown;
  onInsightClosed?: unknown;
  onDemand?: unknown;
  onSensorOffline?: unknown;
  onRuleAutoDisabled?: unknown;
  active?: unknown;
  tenant?: string;
  pollInterval?: unknown;
  sensorTimeout?: unknown;
  signalLimitHour?: unknown;
  signalLimitDay?: unknown;
  dedupeWindow?: unknown;
  store?: string;
}

/** The checked settings the trigger runs with. Times in milliseconds. */
export interface TriggerSettings {
  switches: Record<EventTopic, boolean>;
  active: boolean;
  tenantId?: string;
  pollIntervalMs: number;
  sensorTimeoutMs: number;
  limits: RuleLimits;
  dedupeWindowMs: number;
  /** Context store name; undefined = the default store. */
  store?: string;
}

export class ConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === "") return fallback;
  return value === true || value === "true";
}

interface NumberRule {
  fallback: number;
  min: number;
  integer?: boolean;
  what: string;
}

function numberField(field: string, value: unknown, rule: NumberRule): number {
  if (value === undefined || value === null || (typeof value === "string" && value.trim() === "")) return rule.fallback;
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value.trim()) : NaN;
  const ok = Number.isFinite(n) && n >= rule.min && (!rule.integer || Number.isInteger(n));
  if (!ok) throw new ConfigError(field, `${field} must be ${rule.what} (got ${JSON.stringify(value)})`);
  return n;
}

/** Reads and checks the node's properties; throws a {@link ConfigError} naming the first bad field. */
export function readTriggerSettings(config: TriggerConfig): TriggerSettings {
  const pollInterval = numberField("pollInterval", config.pollInterval, { fallback: 60, min: 0, what: "a number of seconds, 0 (no polling) or more" });
  const sensorTimeout = numberField("sensorTimeout", config.sensorTimeout, { fallback: 900, min: Number.MIN_VALUE, what: "a number of seconds greater than 0" });
  const perHour = numberField("signalLimitHour", config.signalLimitHour, { fallback: 100_000, min: 1, integer: true, what: "a whole number of signals, 1 or more" });
  const perDay = numberField("signalLimitDay", config.signalLimitDay, { fallback: 1_000_000, min: 1, integer: true, what: "a whole number of signals, 1 or more" });
  const dedupeWindow = numberField("dedupeWindow", config.dedupeWindow, { fallback: 86_400, min: 0, what: "a number of seconds, 0 (no deduplication) or more" });
  const store = typeof config.store === "string" && config.store.trim() ? config.store.trim() : undefined;
  const tenantId = typeof config.tenant === "string" && config.tenant.trim() ? config.tenant.trim() : undefined;
  return {
    switches: {
      "insight.created": flag(config.onInsightCreated, true),
      "insight.closed": flag(config.onInsightClosed, false),
      "insight.onDemand": flag(config.onDemand, true),
      "sensor.offline": flag(config.onSensorOffline, false),
      "rule.autoDisabled": flag(config.onRuleAutoDisabled, false),
    },
    active: flag(config.active, true),
    tenantId,
    pollIntervalMs: pollInterval * 1000,
    sensorTimeoutMs: sensorTimeout * 1000,
    limits: { perHour, perDay },
    dedupeWindowMs: dedupeWindow * 1000,
    store,
  };
}
