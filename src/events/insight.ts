import type { Insight } from "./types";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const READABLE_ID = /^INSIGHT-\d+$/i;

/** True for an Insight ID in either form the API accepts: `INSIGHT-123` or a UUID. */
export function isInsightId(value: unknown): value is string {
  return typeof value === "string" && (UUID.test(value.trim()) || READABLE_ID.test(value.trim()));
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Takes the Insight out of the API's `{data, errors}` envelope; any other value is returned as is. */
export function unwrapEnvelope(value: unknown): unknown {
  if (isObject(value) && isObject(value.data) && ("errors" in value || Object.keys(value).length === 1)) {
    return value.data;
  }
  return value;
}

/**
 * True when an object looks like an Insight, with or without its `id`: it has a `readableId`
 * of the form `INSIGHT-n`, or `signals` next to an `entity` or a `severity`.
 */
export function looksLikeInsight(value: unknown): value is Partial<Insight> {
  if (!isObject(value)) return false;
  if (typeof value.readableId === "string" && READABLE_ID.test(value.readableId)) return true;
  return Array.isArray(value.signals) && ("entity" in value || "severity" in value);
}

export function isClosed(insight: Partial<Insight>): boolean {
  const status = insight.status;
  const name = isObject(status) ? status.name : status;
  return typeof name === "string" && name.toLowerCase() === "closed";
}

const ENTITY_TYPES: [field: string, type: string][] = [
  ["ip", "_ip"],
  ["username", "_username"],
  ["hostname", "_hostname"],
  ["macAddress", "_mac"],
];

/**
 * The Entity an Insight (or Signal) fired on, as `{type, value}`, whatever shape the tenant sends:
 * `{entityType|type, value}` on newer tenants, `{ip:{address}}`, `{username}` or `{hostname}` on older ones.
 */
export function entityOf(subject: { entity?: unknown }): { type: string; value: string } | undefined {
  const entity = subject.entity;
  if (!isObject(entity)) return undefined;
  const type = entity.entityType ?? entity.type;
  if (typeof type === "string" && typeof entity.value === "string" && entity.value) {
    return { type, value: entity.value };
  }
  for (const [field, kind] of ENTITY_TYPES) {
    const raw = entity[field];
    const value = isObject(raw) ? raw.address : raw;
    if (typeof value === "string" && value) return { type: kind, value };
  }
  const idType = typeof entity.id === "string" ? /^(_[a-z]+)-/i.exec(entity.id)?.[1] : undefined;
  if (typeof entity.name === "string" && entity.name) return { type: idType ?? "entity", value: entity.name };
  if (typeof entity.value === "string" && entity.value) return { type: idType ?? "entity", value: entity.value };
  return undefined;
}

/** The Insight's link in the CSE UI: `<uiUrl>/sec/insight/<id>`, else the insight's own `sumoUrl`. */
export function insightUrl(insight: Partial<Insight>, uiUrl?: string): string | undefined {
  if (uiUrl && insight.id) return `${uiUrl.replace(/\/+$/, "")}/sec/insight/${encodeURIComponent(insight.id)}`;
  return typeof insight.sumoUrl === "string" && insight.sumoUrl ? insight.sumoUrl : undefined;
}
