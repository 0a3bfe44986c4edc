/**
 * Recorded Future enrichment: the public IPs, domains and file hashes in an Insight's records are looked
 * up with one bulk `POST {apiUrl}/soar/enrichment` per message (each indicator at most once per cache
 * TTL: Recorded Future charges per look-up), the results go on `msg.enrichments`, and with a tenant
 * they are written back to Cloud SIEM as the enrichment "Recorded Future".
 */
import { CseApiError } from "../cse/client";
import type { CseTenant } from "../cse/tenant";
import { classifyError, classifyHttp } from "../delivery/classify";
import { jsonRequest } from "../delivery/http";
import { indicatorsOfInsight, indicatorsOfSignal, type IndicatorType, type Indicators } from "../events/indicators";
import { sampleInsight } from "../events/sample-insight";
import type { Insight } from "../events/types";
import type { AttemptContext, DeliveryEvent, HttpAnswer, Outcome, Target } from "./types";

export const RF_ENRICHMENT_NAME = "Recorded Future";
export const DEFAULT_RF_API_URL = "https://api.recordedfuture.com/v2";
/** Indicators per bulk request (RF's own SDK sends up to 2,000). */
const MAX_PER_REQUEST = 1000;
/** Cloud SIEM keeps at most 1 MB of enrichments per object; `raw` is cut well below that. */
const MAX_RAW_CHARS = 500_000;
/**
 * The editor's Test button sends the package's sample Insight, whose addresses are documentation ones:
 * for it one well-known public address is looked up, so the test reaches Recorded Future, and nothing is
 * written back to the tenant for an Insight that does not exist.
 */
const SAMPLE_ID = sampleInsight().id;
const TEST_INDICATOR = "8.8.8.8";

export interface RecordedFutureConfig {
  apiUrl: string;
  apiToken: string;
  enrichInsights: boolean;
  enrichSignals: boolean;
  cacheTtlMs: number;
  /** The tenant to write enrichments back to; undefined = no write-back. */
  tenant?: () => CseTenant | undefined;
  /** For the error when the configured tenant is not deployed. */
  tenantId?: string;
  /** Most indicators kept in the cache (oldest dropped first). */
  cacheSize?: number;
  /** Opens the node's look-up cache (cluster mode: shared in Redis); default: this node's memory. */
  openCache?: () => LookupCache;
}

/** What Recorded Future knows about one indicator, as it appears on `msg.enrichments`. */
export interface IndicatorRisk {
  indicator: string;
  type: IndicatorType;
  score: number | null;
  level: number | null;
  riskString: string | null;
  /** Number of Recorded Future risk rules the indicator triggers. */
  rules: number | null;
  mostCritical?: string;
  evidence?: { rule: string; level: number | null; description?: string }[];
  intelCard?: string;
}

export interface Enrichments {
  insight: IndicatorRisk[];
  signals: Record<string, IndicatorRisk[]>;
}

/** `null` = Recorded Future knows nothing about it. */
export type Known = IndicatorRisk | null;

/** What {@link LookupCache.claim} answers for a message's indicators. */
export interface LookupClaim {
  /** Results already known, or being looked up by someone else (another message; in cluster mode another replica). */
  known: Map<string, Promise<Known>>;
  /** The keys this caller must look up itself, then report with {@link LookupClaim.settle}. */
  mine: string[];
  /** The caller's look-up results for its keys; an Error for each key whose look-up failed (others will ask again). */
  settle(outcomes: Map<string, Known | Error>): void;
}

/**
 * Where look-up results are kept, keyed `type:value`: this node's memory ({@link IndicatorCache}) or, in
 * cluster mode, Redis shared by every replica. Chosen once, when the node opens.
 */
export interface LookupCache {
  /** `timeoutMs`/`signal`: the attempt's, bounding any wait for a look-up under way elsewhere. */
  claim(keys: string[], signal: AbortSignal, timeoutMs: number): Promise<LookupClaim>;
  close(): void | Promise<void>;
}

interface CacheEntry {
  expiresAt: number;
  value: Promise<Known>;
}

/**
 * Per-node cache of look-up results, keyed `type:value`. A look-up in flight is shared too, so two
 * messages with the same indicator processed at once cost one look-up.
 */
export class IndicatorCache implements LookupCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 50_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Promise<Known> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers a pending look-up; a failed one is forgotten so the next message asks again. */
  put(key: string, value: Promise<Known>): void {
    this.entries.delete(key);
    const entry = { expiresAt: Infinity, value };
    this.entries.set(key, entry);
    value.then(
      () => {
        if (this.entries.get(key) !== entry) return;
        if (this.ttlMs <= 0) this.entries.delete(key);
        else entry.expiresAt = this.now() + this.ttlMs;
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  claim(keys: string[]): Promise<LookupClaim> {
    return Promise.resolve(this.claimNow(keys));
  }

  /** Known and pending keys are answered; the others become pending look-ups of the caller. */
  claimNow(keys: string[]): LookupClaim {
    const known = new Map<string, Promise<Known>>();
    const pending = new Map<string, { resolve(v: Known): void; reject(e: unknown): void }>();
    for (const key of new Set(keys)) {
      const cached = this.get(key);
      if (cached) {
        known.set(key, cached);
        continue;
      }
      const promise = new Promise<Known>((resolve, reject) => pending.set(key, { resolve, reject }));
      promise.catch(() => undefined); // a failed look-up is reported once, through the message that made it
      this.put(key, promise);
    }
    return {
      known,
      mine: [...pending.keys()],
      settle(outcomes) {
        for (const [key, outcome] of outcomes) {
          const p = pending.get(key);
          if (!p) continue;
          pending.delete(key);
          if (outcome instanceof Error) p.reject(outcome);
          else p.resolve(outcome);
        }
      },
    };
  }

  close(): void {
    this.entries.clear();
  }
}

export interface RfResources {
  cache: LookupCache;
}

const keyOf = (type: IndicatorType, value: string) => `${type}:${value.toLowerCase()}`;

const RF_TYPES: Record<string, IndicatorType> = { IpAddress: "ip", InternetDomainName: "domain", Hash: "hash" };

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** One result of `soar/enrichment` as an {@link IndicatorRisk}; undefined when it is not one we asked about. */
export function riskOf(result: any): IndicatorRisk | undefined {
  const entity = result?.entity;
  const type = RF_TYPES[entity?.type] ?? (typeof entity?.id === "string" ? (entity.id.split(":")[0] as IndicatorType) : undefined);
  if (!type || !["ip", "domain", "hash"].includes(type) || typeof entity?.name !== "string") return undefined;
  const risk = result.risk ?? {};
  const rule = risk.rule ?? {};
  const count = num(rule.count) ?? num(risk.rules);
  const max = num(rule.maxCount);
  const evidence = rule.evidence && typeof rule.evidence === "object"
    ? Object.values(rule.evidence as Record<string, any>).map((e) => ({
        rule: String(e?.rule ?? ""),
        level: num(e?.level),
        ...(typeof e?.description === "string" ? { description: e.description } : {}),
      }))
    : undefined;
  const intelCard = typeof result.intelCard === "string"
    ? result.intelCard
    : typeof entity.id === "string" ? `https://app.recordedfuture.com/live/sc/entity/${encodeURIComponent(entity.id)}` : undefined;
  return {
    indicator: type === "ip" ? entity.name : entity.name.toLowerCase(),
    type,
    score: num(risk.score),
    level: num(risk.level) ?? num(risk.criticality),
    riskString: typeof risk.riskString === "string" ? risk.riskString : count !== null && max !== null ? `${count}/${max}` : null,
    rules: count,
    ...(typeof rule.mostCritical === "string" && rule.mostCritical ? { mostCritical: rule.mostCritical } : {}),
    ...(evidence && evidence.length ? { evidence } : {}),
    ...(intelCard ? { intelCard } : {}),
  };
}

/** Cloud SIEM's reputation from the highest Recorded Future risk level (3+ Malicious, 2 Suspicious). */
export function reputationOf(risks: IndicatorRisk[]): "malicious" | "suspicious" | "notflagged" {
  const highest = Math.max(-1, ...risks.map((r) => r.level ?? -1));
  return highest >= 3 ? "malicious" : highest === 2 ? "suspicious" : "notflagged";
}

/** The enrichment body written to an Insight or Signal. */
export function enrichmentBody(risks: IndicatorRisk[], asked: number): { detail: unknown; raw: string; reputation: string; externalUrl?: string } {
  const sorted = [...risks].sort((a, b) => (b.score ?? -1) - (a.score ?? -1));
  const top = sorted[0];
  let raw = JSON.stringify(sorted);
  if (raw.length > MAX_RAW_CHARS) raw = `${raw.slice(0, MAX_RAW_CHARS)}… (truncated)`;
  return {
    detail: {
      source: RF_ENRICHMENT_NAME,
      indicatorsChecked: asked,
      indicatorsKnown: sorted.length,
      highestScore: top?.score ?? null,
      indicators: sorted.map(({ indicator, type, score, level, riskString, rules, mostCritical }) => ({ indicator, type, score, level, riskString, rules, ...(mostCritical ? { mostCritical } : {}) })),
    },
    raw,
    reputation: reputationOf(sorted),
    ...(top?.intelCard ? { externalUrl: top.intelCard } : {}),
  };
}

function flatten(indicators: Indicators): [IndicatorType, string][] {
  return [
    ...indicators.ip.map((v): [IndicatorType, string] => ["ip", v]),
    ...indicators.domain.map((v): [IndicatorType, string] => ["domain", v]),
    ...indicators.hash.map((v): [IndicatorType, string] => ["hash", v]),
  ];
}

class LookupFailed extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.kind === "ok" ? "ok" : outcome.reason);
  }
}

/** The body of one bulk look-up (`POST /soar/enrichment`). */
function lookupBody(chunk: [IndicatorType, string][]): Record<IndicatorType, string[]> {
  const body: Record<IndicatorType, string[]> = { ip: [], domain: [], hash: [] };
  for (const [type, value] of chunk) body[type].push(value);
  return body;
}

/** What a message asks about: the Insight's indicators (when enriched; always for the sample) and each Signal's. */
function indicatorsWanted(insight: Insight, config: RecordedFutureConfig) {
  const signals = (Array.isArray(insight.signals) ? insight.signals : []).filter((s) => s && typeof s.id === "string");
  const isSample = insight.id === SAMPLE_ID;
  const insightIndicators = config.enrichInsights || isSample ? indicatorsOfInsight(insight) : { ip: [], domain: [], hash: [] };
  if (isSample) insightIndicators.ip.push(TEST_INDICATOR);
  const signalIndicators = config.enrichSignals ? signals.map((s) => ({ id: s.id as string, indicators: indicatorsOfSignal(s) })) : [];
  const wanted = [...flatten(insightIndicators), ...signalIndicators.flatMap((s) => flatten(s.indicators))];
  return { isSample, insightIndicators, signalIndicators, wanted };
}

async function lookUp(wanted: [IndicatorType, string][], config: RecordedFutureConfig, ctx: AttemptContext<RfResources>): Promise<{ results: Map<string, Known>; status?: number; lookups: number }> {
  const byKey = new Map<string, [IndicatorType, string]>();
  for (const [type, value] of wanted) if (!byKey.has(keyOf(type, value))) byKey.set(keyOf(type, value), [type, value]);
  const claim = await ctx.resources.cache.claim([...byKey.keys()], ctx.signal, ctx.timeoutMs);
  const missing = claim.mine.map((key) => byKey.get(key)!);
  const pending = new Map(claim.known);
  let status: number | undefined;
  let lookups = 0;
  let start = 0;
  try {
    for (; start < missing.length; start += MAX_PER_REQUEST) {
      const chunk = missing.slice(start, start + MAX_PER_REQUEST);
      const found = await lookUpChunk(chunk, config, ctx);
      lookups++;
      status = found.status;
      claim.settle(found.results);
      for (const [key, value] of found.results) pending.set(key, Promise.resolve(value));
    }
  } catch (err) {
    // This chunk and the ones not asked yet: released, so the next message (or replica) asks itself.
    const failed = err instanceof LookupFailed ? new Error(err.message) : (err as Error);
    claim.settle(new Map(missing.slice(start).map(([type, value]) => [keyOf(type, value), failed])));
    throw err;
  }
  const results = new Map<string, Known>();
  for (const [key, promise] of pending) {
    try {
      results.set(key, await promise);
    } catch (err) {
      // Another message's look-up of this indicator failed: this attempt is retried and asks itself.
      throw new LookupFailed({ kind: "retry", reason: `a shared look-up failed: ${(err as Error)?.message ?? err}` });
    }
  }
  return { results, status, lookups };
}

/** One bulk `POST /soar/enrichment`: every indicator of the chunk with its result (null: nothing known). Throws LookupFailed. */
async function lookUpChunk(chunk: [IndicatorType, string][], config: RecordedFutureConfig, ctx: AttemptContext<RfResources>): Promise<{ results: Map<string, Known>; status: number }> {
  let answer: HttpAnswer;
  try {
    answer = await ctx.http(
      jsonRequest(`${config.apiUrl.replace(/\/+$/, "")}/soar/enrichment`, lookupBody(chunk), {
        "X-RFToken": config.apiToken,
        "X-RF-User-Agent": "node-red-contrib-cse-actions",
        Accept: "application/json",
      }),
    );
  } catch (err) {
    throw new LookupFailed(classifyError(err));
  }
  const results = new Map<string, Known>(chunk.map(([type, value]) => [keyOf(type, value), null]));
  if (answer.status === 404) return { results, status: answer.status }; // nothing known about any of them
  const outcome = classifyHttp(answer);
  let parsed: any;
  if (outcome.kind === "ok") {
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      parsed = undefined;
    }
  }
  const list = parsed?.data?.results;
  if (outcome.kind !== "ok" || !Array.isArray(list)) {
    throw new LookupFailed(outcome.kind !== "ok" ? outcome : { kind: "permanent", status: answer.status, reason: `HTTP ${answer.status} without enrichment results` });
  }
  for (const item of list) {
    const risk = riskOf(item);
    const key = risk && keyOf(risk.type, risk.indicator);
    if (key && results.has(key)) results.set(key, risk); // asked but not in the answer: nothing known
  }
  return { results, status: answer.status };
}

function risksFor(indicators: Indicators, results: Map<string, Known>): IndicatorRisk[] {
  return flatten(indicators)
    .map(([type, value]) => results.get(keyOf(type, value)))
    .filter((r): r is IndicatorRisk => !!r);
}

async function writeBack(tenant: CseTenant, kind: "insights" | "signals", id: string, risks: IndicatorRisk[], asked: number, signal: AbortSignal): Promise<void> {
  await tenant.client().putEnrichment(kind, id, RF_ENRICHMENT_NAME, enrichmentBody(risks, asked), signal);
}

export const recordedFutureTarget: Target<RecordedFutureConfig, RfResources> = {
  name: "Recorded Future",
  secrets: (c) => [c.apiToken],
  open: (c) => ({ cache: c.openCache ? c.openCache() : new IndicatorCache(c.cacheTtlMs, c.cacheSize) }),
  close: (r) => r.cache.close(),
  /** The look-up body (one per 1,000 distinct indicators; the cache may spare some of them). */
  preview(event, config): string {
    if (!event.topic.startsWith("insight.")) return "(no look-up: only Insights are enriched)";
    const distinct = new Map<string, [IndicatorType, string]>();
    for (const [type, value] of indicatorsWanted(event.payload as Insight, config).wanted) distinct.set(keyOf(type, value), [type, value]);
    const all = [...distinct.values()];
    const bodies: string[] = [];
    for (let start = 0; start < all.length; start += MAX_PER_REQUEST) bodies.push(JSON.stringify(lookupBody(all.slice(start, start + MAX_PER_REQUEST))));
    return bodies.join("\n") || "(no look-up: the Insight has no IP address, domain or hash)";
  },
  async send(event: DeliveryEvent, config, ctx): Promise<Outcome> {
    const enrichments: Enrichments = { insight: [], signals: {} };
    if (!event.topic.startsWith("insight.")) return { kind: "ok", msg: { enrichments } };
    const insight = event.payload as Insight;
    const { isSample, insightIndicators, signalIndicators, wanted } = indicatorsWanted(insight, config);

    let looked: Awaited<ReturnType<typeof lookUp>>;
    try {
      looked = await lookUp(wanted, config, ctx);
    } catch (err) {
      if (err instanceof LookupFailed) return err.outcome;
      throw err;
    }
    enrichments.insight = risksFor(insightIndicators, looked.results);
    for (const s of signalIndicators) enrichments.signals[s.id] = risksFor(s.indicators, looked.results);

    if (config.tenant && !isSample) {
      const tenant = config.tenant();
      if (!tenant) return { kind: "permanent", reason: `the cse-tenant configured in "tenant" (${config.tenantId ?? "?"}) is not deployed` };
      try {
        const insightAsked = flatten(insightIndicators).length;
        if (config.enrichInsights && insightAsked > 0) {
          if (typeof insight.id !== "string" || !insight.id) return { kind: "permanent", reason: "the Insight has no id to write the enrichment to" };
          await writeBack(tenant, "insights", insight.id, enrichments.insight, insightAsked, ctx.signal);
        }
        for (const s of signalIndicators) {
          const asked = flatten(s.indicators).length;
          if (asked > 0) await writeBack(tenant, "signals", s.id, enrichments.signals[s.id], asked, ctx.signal);
        }
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        const e = err as CseApiError;
        const reason = `writing the enrichment to Cloud SIEM failed: ${e.message}`;
        return e instanceof CseApiError && e.retryable ? { kind: "retry", status: e.status, code: e.code, reason } : { kind: "permanent", status: e.status, code: e.code, reason };
      }
    }
    return { kind: "ok", status: looked.status, msg: { enrichments } };
  },
};
