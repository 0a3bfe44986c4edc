import type { Insight } from "../../events/types";

/**
 * What the trigger uses of a `cse-tenant` config node. `fetchInsight` comes with the CSE API client;
 * until a tenant offers it, on-demand runs by ID fail with a clear error.
 */
export interface TenantView {
  uiUrl?: string;
  fetchInsight?: (insightId: string) => Promise<Insight>;
}

/** A tenant config node seen through {@link TenantView}; undefined when none is configured or deployed. */
export function tenantView(node: unknown): TenantView | undefined {
  if (typeof node !== "object" || node === null) return undefined;
  const tenant = node as Record<string, unknown>;
  const uiUrl = typeof tenant.uiUrl === "string" && tenant.uiUrl.trim() ? tenant.uiUrl.trim() : undefined;
  const fetch = tenant.fetchInsight;
  return {
    uiUrl,
    fetchInsight:
      typeof fetch === "function"
        ? (id) => (fetch as (id: string) => Promise<Insight>).call(tenant, id)
        : async () => {
            throw new Error("this cse-tenant cannot fetch Insights by ID yet: send the Insight object itself");
          },
  };
}
