/**
 * `cse-recorded-future`'s look-up cache for the whole cluster (SPEC §7): each indicator is looked up once per
 * `cacheTtl`, whichever replica enriches the message.
 *
 * Per node (its id is the same in every replica) and indicator (`type:value`, e.g. `ip:203.0.113.7`):
 * - `<prefix>:rf:<node id>:v:<indicator>` — the result as JSON (`null`: Recorded Future knows nothing),
 *   written with `PX cacheTtl`, so Redis forgets it on time;
 * - `<prefix>:rf:<node id>:c:<indicator>` — a claim, `SET NX PX`, held by the replica looking it up now.
 * One Lua script reads the value or takes the claim atomically, so two replicas never both see "missing"
 * and both ask. A replica that finds the claim taken polls briefly for the value and asks itself when the
 * claim is given up (the look-up failed) or after a bound (the claimer died). The API token is never in a key.
 *
 * Within a process, look-ups under way are shared in memory first, as in the embedded cache. Redis down (or
 * slower than `redisWaitMs`) means no sharing for that message: it is looked up directly rather than held up.
 */
import { IndicatorCache, type Known, type LookupCache, type LookupClaim } from "../targets/recorded-future";
import { joinCluster, type ClusterLease } from "./index";
import { redisScript } from "./script";

/** KEYS: value, claim pairs. ARGV: owner, claimMs. Per pair: the value, "!" (claimed: ours to look up) or "?" (someone else's). */
const CLAIM = `
local out = {}
for i = 1, #KEYS, 2 do
  local value = redis.call('GET', KEYS[i])
  if value then
    out[#out + 1] = value
  elseif redis.call('SET', KEYS[i + 1], ARGV[1], 'NX', 'PX', ARGV[2]) or redis.call('GET', KEYS[i + 1]) == ARGV[1] then
    out[#out + 1] = '!'
  else
    out[#out + 1] = '?'
  end
end
return out
`;

/** KEYS: value, claim pairs. ARGV: owner, ttlMs, then per pair the value ("" = the look-up failed: only give up the claim). */
const STORE = `
for i = 1, #KEYS, 2 do
  local value = ARGV[2 + (i + 1) / 2]
  if value ~= '' then redis.call('SET', KEYS[i], value, 'PX', ARGV[2]) end
  if redis.call('GET', KEYS[i + 1]) == ARGV[1] then redis.call('DEL', KEYS[i + 1]) end
end
return 1
`;

export interface SharedIndicatorCacheOptions {
  /** The longest a message waits for another replica's look-up before asking itself (also at most half the attempt's timeout). */
  claimWaitMs?: number;
  /** How often it looks for that result meanwhile. */
  pollMs?: number;
  /** The longest a Redis command may take before the message goes on without the shared cache. */
  redisWaitMs?: number;
}

const MINE = "!";
const BUSY = "?";

export class SharedIndicatorCache implements LookupCache {
  /** Look-ups under way in this process (kept only until settled: the results live in Redis). */
  private readonly local = new IndicatorCache(0);
  private readonly claimWaitMs: number;
  private readonly pollMs: number;
  private readonly redisWaitMs: number;

  constructor(
    private readonly lease: ClusterLease,
    /** The node's id: the same in every replica, so they share its results. */
    private readonly scope: string,
    private readonly ttlMs: number,
    options: SharedIndicatorCacheOptions = {},
  ) {
    this.claimWaitMs = options.claimWaitMs ?? 5000;
    this.pollMs = options.pollMs ?? 100;
    this.redisWaitMs = options.redisWaitMs ?? 2000;
  }

  async claim(keys: string[], signal: AbortSignal, timeoutMs: number): Promise<LookupClaim> {
    const here = this.local.claimNow(keys);
    const connection = this.lease.connection;
    const away = connection.health === "down" || connection.health === "refused";
    if (this.ttlMs <= 0 || here.mine.length === 0 || away) return here;
    const known = new Map(here.known);
    const mine: string[] = [];
    const claimed: string[] = [];
    let waiting = here.mine;
    try {
      const deadline = Date.now() + Math.min(this.claimWaitMs, timeoutMs / 2);
      const claimMs = Math.max(1000, Math.ceil(timeoutMs));
      while (waiting.length > 0) {
        const answers = (await this.redis(redisScript(connection.client, "cseRfClaim", CLAIM)(this.keysOf(waiting), [connection.replicaId, claimMs]))) as string[] | undefined;
        if (!answers) break; // Redis is slow or away: look the rest up here
        const busy: string[] = [];
        const found = new Map<string, Known>();
        waiting.forEach((key, i) => {
          const answer = answers[i];
          if (answer === MINE) claimed.push(key);
          else if (answer === BUSY) busy.push(key);
          else found.set(key, parseKnown(answer));
        });
        here.settle(found); // this process's other messages waiting for these get them too
        for (const [key, value] of found) known.set(key, Promise.resolve(value));
        waiting = busy;
        if (waiting.length === 0 || Date.now() >= deadline) break;
        await pause(Math.min(this.pollMs, Math.max(1, deadline - Date.now())), signal);
      }
      mine.push(...claimed, ...waiting);
    } catch (err) {
      // Aborted while waiting: give everything up so that this process's other messages do not wait on it.
      const failed = err instanceof Error ? err : new Error(String(err));
      here.settle(new Map(here.mine.map((key) => [key, failed])));
      this.store(new Map(claimed.map((key) => [key, failed])));
      throw err;
    }
    return {
      known,
      mine,
      settle: (outcomes) => {
        here.settle(outcomes);
        this.store(outcomes);
      },
    };
  }

  async close(): Promise<void> {
    this.local.close();
    await this.lease.leave();
  }

  /** Results are kept for the TTL; failed keys only give up their claim. Best effort: a lost write costs one more look-up. */
  private store(outcomes: Map<string, Known | Error>): void {
    if (outcomes.size === 0 || this.ttlMs <= 0) return;
    const keys = [...outcomes.keys()];
    const values = keys.map((key) => {
      const outcome = outcomes.get(key);
      return outcome instanceof Error ? "" : JSON.stringify(outcome ?? null);
    });
    const connection = this.lease.connection;
    void this.redis(redisScript(connection.client, "cseRfStore", STORE)(this.keysOf(keys), [connection.replicaId, Math.ceil(this.ttlMs), ...values]));
  }

  private keysOf(keys: string[]): string[] {
    const connection = this.lease.connection;
    return keys.flatMap((key) => [connection.key("rf", this.scope, "v", key), connection.key("rf", this.scope, "c", key)]);
  }

  /** The command's answer, or undefined when Redis fails or takes longer than redisWaitMs (it may still run later). */
  private redis<T>(command: Promise<T>): Promise<T | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.redisWaitMs);
      timer.unref?.();
      command.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        () => {
          clearTimeout(timer);
          resolve(undefined);
        },
      );
    });
  }
}

function parseKnown(text: string): Known {
  try {
    return JSON.parse(text) as Known;
  } catch {
    return null;
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The look-up cache of a `cse-recorded-future` node, chosen once from the settings: shared in Redis with
 * `cseCluster`, else the node's memory. Throws ClusterSettingError for a bad `cseCluster`.
 */
export function openLookupCache(settings: Record<string, unknown> | undefined, nodeId: string, ttlMs: number, maxEntries?: number, options?: SharedIndicatorCacheOptions): LookupCache {
  const lease = joinCluster(settings);
  if (!lease) return new IndicatorCache(ttlMs, maxEntries);
  return new SharedIndicatorCache(lease, nodeId, ttlMs, options);
}
