import type { Insight } from "../events/types";
import type { CseClient } from "./client";

/**
 * What a deployed `cse-tenant` config node offers the nodes that use it: its URLs and the one
 * shared API client (created on first use; throws when the tenant is misconfigured).
 */
export interface CseTenant {
  apiUrl: string;
  uiUrl?: string;
  client(): CseClient;
  fetchInsight(id: string, signal?: AbortSignal): Promise<Insight>;
}

/** The tenant behind a config node, or undefined when the node is missing or not a `cse-tenant`. */
export function asCseTenant(node: unknown): CseTenant | undefined {
  const candidate = node as Partial<CseTenant> | null | undefined;
  return candidate && typeof candidate === "object" && typeof candidate.client === "function" ? (candidate as CseTenant) : undefined;
}
