import type { SensorOffline } from "../events/types";
import { checkEveryMs, type WatchedHeartbeat } from "../events/sensor-watchdog";
import type { SensorWatch } from "../nodes/trigger/runtime";
import type { ClusterConnection } from "./connection";
import { redisScript, type RedisScript } from "./script";

const DAY_MS = 86_400_000;

/**
 * KEYS: last-seen sorted set, names hash. ARGV: sensorId, now, hasName, name, hasZone, zone, keep (ms).
 * GT: a heartbeat that reached another replica later is not overwritten by an earlier one.
 */
const HEARTBEAT = `
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
if ARGV[3] == '1' then redis.call('HSET', KEYS[2], ARGV[1] .. '|name', ARGV[4]) end
if ARGV[5] == '1' then redis.call('HSET', KEYS[2], ARGV[1] .. '|zone', ARGV[6]) end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return 1`;

/**
 * KEYS: as above. ARGV: newest last-seen time that counts as silent (now - timeout).
 * Takes the silent sensors out of the watch in the same step, so one replica only reports each outage.
 */
const CHECK = `
local silent = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local out = {}
for _, id in ipairs(silent) do
  local seen = redis.call('ZSCORE', KEYS[1], id)
  redis.call('ZREM', KEYS[1], id)
  local name = redis.call('HGET', KEYS[2], id .. '|name')
  local zone = redis.call('HGET', KEYS[2], id .. '|zone')
  redis.call('HDEL', KEYS[2], id .. '|name', id .. '|zone')
  table.insert(out, { id = id, seen = tonumber(seen), name = name or nil, zone = zone or nil })
end
if #out == 0 then return '[]' end
return cjson.encode(out)`;

/**
 * The sensor watchdog of a cse-trigger shared by every replica: heartbeats received by any replica go
 * into one sorted set (sensor → last seen), and every replica checks it, so an outage is noticed even
 * when the replica that got the heartbeats is gone; the check takes a silent sensor out atomically, so
 * it is reported once. As locally, a sensor heartbeating again starts a new watch.
 */
export class RedisSensorWatch implements SensorWatch {
  private readonly beat: RedisScript;
  private readonly silent: RedisScript;
  private readonly keys: string[];

  constructor(
    private readonly connection: ClusterConnection,
    nodeId: string,
    readonly timeoutMs: number,
  ) {
    this.beat = redisScript(connection.client, "cseSensorHeartbeat", HEARTBEAT);
    this.silent = redisScript(connection.client, "cseSensorCheck", CHECK);
    this.keys = [connection.key("trigger", nodeId, "sensors", "seen"), connection.key("trigger", nodeId, "sensors", "names")];
  }

  get checkEveryMs(): number {
    return checkEveryMs(this.timeoutMs);
  }

  async heartbeat(beat: WatchedHeartbeat, now: number): Promise<void> {
    const keep = Math.ceil(2 * this.timeoutMs + DAY_MS); // only when no replica checked for that long
    await this.beat(this.keys, [
      beat.sensorId,
      now,
      beat.sensorName === undefined ? "0" : "1",
      beat.sensorName ?? "",
      beat.sensorZone === undefined ? "0" : "1",
      beat.sensorZone ?? "",
      keep,
    ]);
  }

  async check(now: number): Promise<SensorOffline[]> {
    const found = JSON.parse(String(await this.silent(this.keys, [now - this.timeoutMs]))) as { id: string; seen: number; name?: string; zone?: string }[];
    return found.map((s) => ({ sensorId: s.id, sensorName: s.name ?? s.id, sensorZone: s.zone ?? "default", lastSeen: new Date(s.seen).toISOString() }));
  }

  /** Always: the heartbeats may have reached another replica. */
  keepChecking(): boolean {
    return true;
  }

  /** Nothing to forget here: the watch belongs to the cluster, not to this replica. */
  clear(): void {}
}
