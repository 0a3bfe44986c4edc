import type { BackendHost, CheckpointStore, PollRunner, TriggerBackend } from "../nodes/trigger/backend";
import type { TriggerStatus } from "../nodes/trigger/runtime";
import type { ClusterLease } from "./index";
import { PollLease, type PollingStatus } from "./poll-lease";
import { RedisEmittedKeys } from "./trigger-emitted-keys";
import { RedisRuleSignals } from "./trigger-rules";
import { RedisSensorWatch } from "./trigger-sensors";

const STATUS: Record<PollingStatus, TriggerStatus> = {
  polling: { fill: "green", shape: "ring", text: "this replica polls the tenant" },
  standby: { fill: "blue", shape: "ring", text: "standing by: another replica polls" },
  paused: { fill: "yellow", shape: "ring", text: "polling paused: Redis did not renew the lease" },
};

const LOG: Record<PollingStatus, string> = {
  polling: "this replica polls the tenant now",
  standby: "another replica polls the tenant: this one stands by",
  paused: "Redis did not renew the poll lease in time: polling paused until it does",
};

/**
 * A cse-trigger in cluster mode (SPEC §7): the dedupe window, the sensor watch and the rule counts live in
 * Redis under `<prefix>:trigger:<node id>:…`, and one replica at a time polls, by a lease. The node's
 * status says whether this replica polls or stands by, and when Redis is away.
 */
export class ClusterTriggerBackend implements TriggerBackend {
  readonly emittedKeys: RedisEmittedKeys;
  readonly sensors: RedisSensorWatch;
  readonly rules: RedisRuleSignals;
  private readonly unwatch: () => void;
  private pollStatus?: TriggerStatus;
  private redisAway = false;

  constructor(
    private readonly cluster: ClusterLease,
    private readonly host: BackendHost,
  ) {
    const { connection } = cluster;
    const { nodeId, settings } = host;
    this.emittedKeys = new RedisEmittedKeys(connection, nodeId, settings.dedupeWindowMs);
    this.sensors = new RedisSensorWatch(connection, nodeId, settings.sensorTimeoutMs);
    this.rules = new RedisRuleSignals(connection, nodeId, settings.limits);
    this.unwatch = connection.watch((health, problem) => {
      if (health === "down" || health === "refused") {
        this.redisAway = true;
        host.status({ fill: "red", shape: "ring", text: problem ?? "Redis is unreachable" });
      } else if (health === "ready" && this.redisAway) {
        this.redisAway = false;
        host.status(this.pollStatus ?? {});
      }
    });
  }

  polling(makeLoop: (checkpoints: CheckpointStore) => PollRunner): PollRunner {
    const { connection } = this.cluster;
    return new PollLease(
      connection,
      this.host.nodeId,
      makeLoop,
      (status) => {
        this.pollStatus = STATUS[status];
        if (!this.redisAway) this.host.status(this.pollStatus);
        this.host.log(LOG[status]);
      },
      // A dead holder's lease is free after leaseMs; the others try every retryMs: takeover within their sum.
      { leaseMs: connection.settings.lockMs, retryMs: connection.settings.stalledCheckMs },
    );
  }

  async close(): Promise<void> {
    this.unwatch();
    await this.cluster.leave();
  }
}
