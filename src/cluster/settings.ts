/**
 * The `cseCluster` setting of settings.js (SPEC §7): `{ url: "redis://[:password@]host:port[/db]", prefix? }`.
 * Absent means the embedded default (file journal, context store, in-process limits).
 */

/** A bad `cseCluster` value; the message names the setting and never contains a password. */
export class ClusterSettingError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = "ClusterSettingError";
  }
}

export interface ClusterSettings {
  /** The Redis URL as given (holds the password: never print it; use {@link ClusterSettings.where}). */
  url: string;
  /** Names every key, so two clusters can share one Redis. */
  prefix: string;
  /** `redis://host:port/db` without user or password, for logs, status and errors. */
  where: string;
  /** Worker lock and stalled-check timing (ms); a dead replica's jobs move on within about lock + check. */
  lockMs: number;
  stalledCheckMs: number;
}

export const DEFAULT_PREFIX = "cse-actions";
const DEFAULT_LOCK_MS = 15_000;
const DEFAULT_STALLED_CHECK_MS = 5_000;

/** The cluster settings, or undefined when `cseCluster` is not set. Throws ClusterSettingError for bad values. */
export function readClusterSettings(settings: Record<string, unknown> | undefined): ClusterSettings | undefined {
  const raw = settings?.cseCluster;
  if (raw === undefined || raw === null || raw === false) return undefined;
  if (typeof raw !== "object") throw new ClusterSettingError("cseCluster", 'must be an object such as { url: "redis://host:6379" }');
  const value = raw as Record<string, unknown>;
  const url = typeof value.url === "string" ? value.url.trim() : "";
  if (!url) throw new ClusterSettingError("cseCluster.url", 'is missing: set it to the Redis URL, e.g. "redis://redis:6379"');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ClusterSettingError("cseCluster.url", "is not a URL (expected redis://[:password@]host:port[/db] or rediss://…)");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new ClusterSettingError("cseCluster.url", `must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  if (!parsed.hostname) throw new ClusterSettingError("cseCluster.url", "has no host");
  const db = parsed.pathname.replace(/^\//, "");
  if (db && !/^\d+$/.test(db)) throw new ClusterSettingError("cseCluster.url", `names database "${db.slice(0, 20)}"; a database is a number`);
  const prefix = value.prefix === undefined ? DEFAULT_PREFIX : value.prefix;
  if (typeof prefix !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) {
    throw new ClusterSettingError("cseCluster.prefix", "must be 1 to 64 letters, digits, '_', '.' or '-'");
  }
  return {
    url,
    prefix,
    where: `${parsed.protocol}//${parsed.host}${db ? `/${db}` : ""}`,
    lockMs: positiveMs(value.lockMs, DEFAULT_LOCK_MS, "cseCluster.lockMs"),
    stalledCheckMs: positiveMs(value.stalledCheckMs, DEFAULT_STALLED_CHECK_MS, "cseCluster.stalledCheckMs"),
  };
}

function positiveMs(value: unknown, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 100) {
    throw new ClusterSettingError(field, "must be a whole number of milliseconds, at least 100");
  }
  return value;
}
