/**
 * The failed list of SPEC §9 in cluster mode: every replica sees and retries the same failed messages.
 * Per node a sorted set of ids by failure time and a hash of the entries; a set names the nodes.
 */
import type { FailedEntry, FailedStore } from "../ops/failed-store";
import { joinCluster } from ".";
import type { ClusterConnection } from "./connection";
import { redisScript } from "./script";

/** Keeps an entry and drops the node's oldest beyond the bound, in one step. */
const ADD = `
redis.call("HSET", KEYS[2], ARGV[1], ARGV[3])
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
redis.call("SADD", KEYS[3], ARGV[4])
local excess = redis.call("ZCARD", KEYS[1]) - tonumber(ARGV[5])
if excess > 0 then
  for _, id in ipairs(redis.call("ZPOPMIN", KEYS[1], excess)) do redis.call("HDEL", KEYS[2], id) end
end
return 1`;

/** The channel on which a change of a node's failed list is announced to every replica (the message: the node id). */
export function failedChangedChannel(connection: ClusterConnection): string {
  return connection.key("failed", "changed");
}

export class RedisFailedStore implements FailedStore {
  constructor(
    private readonly settings: Record<string, unknown>,
    private readonly perNode: number,
  ) {}

  async add(entry: FailedEntry): Promise<void> {
    await this.with(async (c) => {
      const add = redisScript(c.client, "cseFailedAdd", ADD);
      const at = Date.parse(entry.failedAt);
      await add([this.order(c, entry.node), this.entries(c, entry.node), c.key("failed", "nodes")], [entry.id, Number.isNaN(at) ? Date.now() : at, JSON.stringify(entry), entry.node, this.perNode]);
      await c.client.publish(failedChangedChannel(c), entry.node);
    });
  }

  async list(node?: string): Promise<FailedEntry[]> {
    return this.with(async (c) => {
      const nodes = node === undefined ? await c.client.smembers(c.key("failed", "nodes")) : [node];
      const all: FailedEntry[] = [];
      for (const id of nodes) {
        const ids = await c.client.zrevrange(this.order(c, id), 0, -1);
        if (ids.length === 0) continue;
        for (const text of await c.client.hmget(this.entries(c, id), ...ids)) if (text) all.push(JSON.parse(text) as FailedEntry);
      }
      return all.sort((a, b) => (a.failedAt < b.failedAt ? 1 : a.failedAt > b.failedAt ? -1 : 0));
    });
  }

  async get(node: string, id: string): Promise<FailedEntry | undefined> {
    return this.with(async (c) => {
      const text = await c.client.hget(this.entries(c, node), id);
      return text ? (JSON.parse(text) as FailedEntry) : undefined;
    });
  }

  async remove(node: string, id: string): Promise<boolean> {
    return this.with(async (c) => {
      const [[, removed]] = (await c.client.multi().zrem(this.order(c, node), id).hdel(this.entries(c, node), id).exec()) as [unknown, number][];
      if (removed > 0) await c.client.publish(failedChangedChannel(c), node);
      return removed > 0;
    });
  }

  async close(): Promise<void> {}

  /**
   * Runs `work` on the process's cluster connection: shared with the running nodes, or opened for this call
   * when none runs (the list is read rarely; holding no connection of its own, the store never keeps one open).
   */
  private async with<T>(work: (connection: ClusterConnection) => Promise<T>): Promise<T> {
    const lease = joinCluster(this.settings);
    if (!lease) throw new Error("cluster mode is not configured");
    try {
      return await work(lease.connection);
    } finally {
      await lease.leave();
    }
  }

  private order(c: ClusterConnection, node: string): string {
    return c.key("failed", node);
  }

  private entries(c: ClusterConnection, node: string): string {
    return c.key("failed", node, "entries");
  }
}
