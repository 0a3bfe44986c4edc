import type { Node, NodeAPI, NodeDef } from "node-red";
import { joinCluster, type ClusterLease } from "../cluster";
import type { ClusterConnection } from "../cluster/connection";
import { clusterLimiter } from "../cluster/redis-rate-limiter";
import { checkApiUrl, DEFAULT_CSE_API_URL } from "../cse/api-url";
import { CseClient } from "../cse/client";
import { sharedLimiter } from "../cse/rate-limiter";
import { scaledRetryPolicy } from "../cse/retry";
import type { Insight } from "../events/types";

const STORED_PASSWORD = "__PWRD__";
const TEST_TIMEOUT_MS = 15_000;

interface TenantProps extends NodeDef {
  apiUrl?: string;
  uiUrl?: string;
}

interface TenantCredentials {
  accessId?: string;
  accessKey?: string;
}

export = function (RED: NodeAPI) {
  const settings = RED.settings as unknown as Record<string, unknown>;
  const delayScale = () => (settings?.cseDelayScale !== undefined ? Math.max(0, Number(settings.cseDelayScale) || 0) : 1);
  const allowMetadata = () => settings?.cseAllowMetadataAddresses === true;

  /**
   * The limits of an access ID: kept in this process, or with `cseCluster` in Redis for all replicas together.
   * cseDelayScale (tests only) shrinks the 1-second window like every other wait.
   */
  function limiterFor(apiUrl: string, accessId: string, cluster: ClusterConnection | undefined) {
    const windowMs = Math.max(1, 1000 * Math.min(1, delayScale()));
    if (cluster) return clusterLimiter(cluster, apiUrl, accessId, { windowMs });
    return sharedLimiter(`${apiUrl.trim().replace(/\/+$/, "")}|${accessId}`, { windowMs });
  }

  function makeClient(apiUrl: string, credentials: TenantCredentials, cluster: ClusterConnection | undefined, test = false): CseClient {
    const accessId = (credentials.accessId ?? "").trim();
    return new CseClient({
      apiUrl,
      accessId,
      accessKey: (credentials.accessKey ?? "").trim(),
      retry: scaledRetryPolicy(delayScale()),
      limiter: limiterFor(apiUrl, accessId, cluster),
      allowMetadataAddresses: allowMetadata,
      ...(test ? { timeoutMs: TEST_TIMEOUT_MS, maxAttempts: 2 } : {}),
    });
  }

  function CseTenantNode(this: Node<TenantCredentials> & Record<string, unknown>, config: TenantProps) {
    RED.nodes.createNode(this, config);
    const apiUrl = (config.apiUrl ?? "").trim() || DEFAULT_CSE_API_URL;
    const uiUrl = (config.uiUrl ?? "").trim().replace(/\/+$/, "") || undefined;
    let client: CseClient | undefined;
    try {
      checkApiUrl(apiUrl);
    } catch (err) {
      this.warn(`cse-tenant "${config.name || config.id}": ${(err as Error).message}`);
    }
    // Cluster mode is chosen once, here: the limits are then counted in Redis for every replica.
    let cluster: ClusterLease | undefined;
    let clusterProblem: string | undefined;
    try {
      cluster = joinCluster(settings);
    } catch (err) {
      clusterProblem = (err as Error).message;
      this.error(`cse-tenant "${config.name || config.id}": ${clusterProblem}`);
    }

    this.apiUrl = apiUrl;
    this.uiUrl = uiUrl;
    /** The one API client of this tenant, shared by every node using it (created on first use). */
    this.client = (): CseClient => {
      if (clusterProblem) throw new Error(clusterProblem);
      if (!client || client.closed) client = makeClient(apiUrl, this.credentials ?? {}, cluster?.connection);
      return client;
    };
    this.fetchInsight = (id: string, signal?: AbortSignal): Promise<Insight> => (this.client as () => CseClient)().getInsight(id, signal);

    this.on("close", (done: () => void) => {
      client?.close();
      client = undefined;
      const leaving = cluster?.leave();
      cluster = undefined;
      void Promise.resolve(leaving).then(done, done);
    });
  }

  RED.nodes.registerType("cse-tenant", CseTenantNode as any, {
    credentials: { accessId: { type: "text" }, accessKey: { type: "password" } },
  } as any);

  // Test connection from the editor, with the dialog's (possibly unsaved) values.
  const admin = (RED as any).httpAdmin;
  if (admin?.post) {
    admin.post("/cse-tenant/test", RED.auth.needsPermission("cse-tenant.write"), async (req: any, res: any) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const stored = ((typeof body.id === "string" && RED.nodes.getCredentials(body.id)) || {}) as TenantCredentials;
      const pick = (key: keyof TenantCredentials): string | undefined => {
        const given = body[key];
        return given === undefined || given === STORED_PASSWORD || (key === "accessId" && given === "") ? stored[key] : String(given);
      };
      let client: CseClient;
      let cluster: ClusterLease | undefined;
      try {
        const apiUrl = checkApiUrl(typeof body.apiUrl === "string" && body.apiUrl.trim() ? body.apiUrl : DEFAULT_CSE_API_URL);
        cluster = joinCluster(settings);
        client = makeClient(apiUrl, { accessId: pick("accessId"), accessKey: pick("accessKey") }, cluster?.connection, true);
      } catch (err) {
        void cluster?.leave();
        return res.json({ ok: false, message: (err as Error).message });
      }
      try {
        // In cluster mode the request first waits for a slot in Redis: bounded, so an unreachable Redis is an answer too.
        const slotWait = cluster ? AbortSignal.timeout(TEST_TIMEOUT_MS) : undefined;
        const { total } = await client.testConnection(slotWait).catch((err) => {
          if (cluster && slotWait?.aborted) throw new Error(`no answer within ${TEST_TIMEOUT_MS / 1000} s: ${cluster.connection.problem ?? "the Cloud SIEM API or Redis (cseCluster) is slow"}`);
          throw err;
        });
        res.json({ ok: true, message: `Connected to Cloud SIEM${total !== undefined ? `: ${total} Insight${total === 1 ? "" : "s"} visible` : ""}` });
      } catch (err) {
        res.json({ ok: false, message: (err as Error).message });
      } finally {
        client.close();
        void cluster?.leave();
      }
    });
  }
};
