import { openLookupCache } from "../cluster/shared-indicator-cache";
import { checkApiUrl } from "../cse/api-url";
import { asCseTenant } from "../cse/tenant";
import { DEFAULT_RF_API_URL, recordedFutureTarget, type RecordedFutureConfig, type RfResources } from "../targets/recorded-future";
import { ConfigError } from "../targets/types";
import { defineActionNode } from "./action-node";

function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === null || value === "") return fallback;
  return value === true || value === "true";
}

export = defineActionNode<RecordedFutureConfig, RfResources>({
  type: "cse-recorded-future",
  target: recordedFutureTarget,
  credentials: { apiToken: { type: "password" } },
  config(props, creds, RED) {
    const apiToken = (creds.apiToken ?? "").trim();
    if (!apiToken) throw new ConfigError("apiToken", "is required");
    let apiUrl: string;
    try {
      apiUrl = checkApiUrl(typeof props.apiUrl === "string" && props.apiUrl.trim() ? props.apiUrl : DEFAULT_RF_API_URL);
    } catch (err) {
      throw new ConfigError("apiUrl", (err as Error).message.replace(/^apiUrl /, ""));
    }
    const rawTtl = props.cacheTtl === undefined || props.cacheTtl === "" ? 3600 : Number(props.cacheTtl);
    if (!Number.isFinite(rawTtl) || rawTtl < 0) throw new ConfigError("cacheTtl", "must be a number of seconds, 0 or more");
    const enrichInsights = flag(props.enrichInsights, true);
    const enrichSignals = flag(props.enrichSignals, false);
    if (!enrichInsights && !enrichSignals) throw new ConfigError("enrichInsights", "enrich Insights, Signals or both");
    const tenantId = typeof props.tenant === "string" && props.tenant ? props.tenant : undefined;
    const nodeId = typeof props.id === "string" && props.id ? props.id : undefined;
    return {
      apiUrl,
      apiToken,
      enrichInsights,
      enrichSignals,
      cacheTtlMs: rawTtl * 1000,
      // A deployed node's results are shared by the replicas (keyed by its id) with cseCluster; the editor's
      // Test button (no node id) keeps its one look-up to itself.
      ...(nodeId ? { openCache: () => openLookupCache(RED.settings as unknown as Record<string, unknown>, nodeId, rawTtl * 1000) } : {}),
      tenantId,
      tenant: tenantId ? () => asCseTenant(RED.nodes.getNode(tenantId)) : undefined,
    };
  },
});
