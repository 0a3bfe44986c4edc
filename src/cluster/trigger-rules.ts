import { autoDisabled, DAY_MINUTES, HOUR_MINUTES, MINUTE, type RuleLimits } from "../events/rule-guard";
import type { RuleAutoDisabled } from "../events/types";
import type { RuleSignals } from "../nodes/trigger/runtime";
import type { ClusterConnection } from "./connection";
import { redisScript, type RedisScript } from "./script";

/**
 * KEYS: the rule's hash — `m<minute>` → signals in that minute, `first` (oldest minute kept), `last`,
 * `total` (signals in the last 24 hours), `disabled`. ARGV: minute, perHour, perDay, day and hour in minutes.
 * Returns 'hour' or 'day' when this signal crosses a limit of a rule not yet reported, else false.
 */
const SIGNAL = `
local key = KEYS[1]
local minute = tonumber(ARGV[1])
local day = tonumber(ARGV[4])
local hour = tonumber(ARGV[5])
local last = tonumber(redis.call('HGET', key, 'last'))
if (not last) or last <= minute - day then
  redis.call('DEL', key)
  redis.call('HSET', key, 'first', minute, 'last', minute, 'total', 0, 'disabled', 0)
else
  local first = tonumber(redis.call('HGET', key, 'first'))
  local total = tonumber(redis.call('HGET', key, 'total'))
  while first <= minute - day do
    local count = redis.call('HGET', key, 'm' .. first)
    if count then
      total = total - tonumber(count)
      redis.call('HDEL', key, 'm' .. first)
    end
    first = first + 1
  end
  redis.call('HSET', key, 'first', first, 'total', total)
  if minute > last then redis.call('HSET', key, 'last', minute) end
end
redis.call('HINCRBY', key, 'm' .. minute, 1)
local total = redis.call('HINCRBY', key, 'total', 1)
redis.call('PEXPIRE', key, (day + 1) * 60000)
if redis.call('HGET', key, 'disabled') == '1' then return false end
local fields = {}
for m = minute - hour + 1, minute do table.insert(fields, 'm' .. m) end
local inHour = 0
for _, count in ipairs(redis.call('HMGET', key, unpack(fields))) do
  if count then inHour = inHour + tonumber(count) end
end
local breach = false
if inHour > tonumber(ARGV[2]) then breach = 'hour' elseif total > tonumber(ARGV[3]) then breach = 'day' end
if breach then redis.call('HSET', key, 'disabled', 1) end
return breach`;

/**
 * The rule guard of a cse-trigger shared by every replica: signals received by any replica are counted in
 * one set of minute buckets per rule in Redis, with the same limits as {@link RuleGuard} (more than
 * `perHour` in any 60 minutes, or `perDay` in 24 hours; reported again only after a day without signals).
 * Counting and the decision to report are one atomic step, so one replica reports each breach.
 */
export class RedisRuleSignals implements RuleSignals {
  private readonly count: RedisScript;

  constructor(
    private readonly connection: ClusterConnection,
    private readonly nodeId: string,
    readonly limits: RuleLimits,
  ) {
    this.count = redisScript(connection.client, "cseRuleSignal", SIGNAL);
  }

  async signal(ruleId: string, ruleName: string, now: number): Promise<RuleAutoDisabled | undefined> {
    const minute = Math.floor(now / MINUTE);
    const key = this.connection.key("trigger", this.nodeId, "rule", ruleId);
    const breach = await this.count([key], [minute, this.limits.perHour, this.limits.perDay, DAY_MINUTES, HOUR_MINUTES]);
    return breach === "hour" || breach === "day" ? autoDisabled(ruleId, ruleName, this.limits, breach, now) : undefined;
  }
}
