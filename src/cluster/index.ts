/**
 * Cluster mode (SPEC §7), chosen once from the `cseCluster` setting: every node asks {@link joinCluster} and
 * gets the process's one connection, or undefined when the setting is absent (the embedded default).
 */
import { ClusterConnection } from "./connection";
import { readClusterSettings } from "./settings";

interface Membership {
  connection: ClusterConnection;
  users: number;
}

const memberships = new Map<string, Membership>();

export interface ClusterLease {
  connection: ClusterConnection;
  /** Gives the connection back; the last user closes it. */
  leave(): Promise<void>;
}

/**
 * The cluster connection for a node, or undefined without `cseCluster`. Throws ClusterSettingError (naming
 * the setting) for a bad value. Each call must be paired with one `leave()` when the node closes.
 */
export interface ClusterLog {
  info(text: string): void;
  error(text: string): void;
}

export function joinCluster(settings: Record<string, unknown> | undefined, log?: ClusterLog): ClusterLease | undefined {
  const cluster = readClusterSettings(settings);
  if (!cluster) return undefined;
  const id = `${cluster.url}|${cluster.prefix}|${cluster.lockMs}|${cluster.stalledCheckMs}`;
  let membership = memberships.get(id);
  if (!membership) {
    membership = { connection: new ClusterConnection(cluster), users: 0 };
    memberships.set(id, membership);
    log?.info(`cse-actions cluster mode: Redis ${cluster.where}, prefix "${cluster.prefix}", replica ${membership.connection.replicaId}`);
    let said: string | undefined;
    membership.connection.watch((health, problem) => {
      // Once per problem, not once per node or per reconnection attempt.
      if (health === "refused" && problem && problem !== said) log?.error((said = problem));
      if (health === "ready") said = undefined;
    });
  }
  membership.users++;
  const joined = membership;
  let left = false;
  return {
    connection: joined.connection,
    async leave() {
      if (left) return;
      left = true;
      if (--joined.users > 0) return;
      if (memberships.get(id) === joined) memberships.delete(id);
      await joined.connection.close();
    },
  };
}
