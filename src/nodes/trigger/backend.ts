import { joinCluster } from "../../cluster";
import { ClusterTriggerBackend } from "../../cluster/trigger-backend";
import type { PollLoopPorts } from "../../cse/poll-loop";
import type { CallbackContext } from "./emitted-keys";
import type { EmittedKeyClaims, RuleSignals, SensorWatch, TriggerStatus } from "./runtime";
import type { TriggerSettings } from "./settings";

/** Where the poll loop reads and writes its checkpoint. */
export type CheckpointStore = Pick<PollLoopPorts, "loadCheckpoint" | "saveCheckpoint">;

/** A poll loop, or what runs one (the cluster's lease): started once, stopped when the node closes. */
export interface PollRunner {
  start(): void;
  stop(): Promise<void>;
}

/**
 * Where a cse-trigger keeps what must be shared: the node's context store and this process by default,
 * Redis in cluster mode. Chosen once from the settings by `openTriggerBackend`.
 */
export interface TriggerBackend {
  /** Shared state for the runtime's ports; absent members default to this process. */
  emittedKeys?: EmittedKeyClaims;
  sensors?: SensorWatch;
  rules?: RuleSignals;
  /** Runs the loop `makeLoop` builds (from the checkpoint store given): here, or on one replica at a time. */
  polling(makeLoop: (checkpoints: CheckpointStore) => PollRunner): PollRunner;
  close(): Promise<void>;
}

/** What a backend needs from its node. */
export interface BackendHost {
  nodeId: string;
  settings: TriggerSettings;
  /** The node's context, where the local backend keeps the poll checkpoint. */
  context: CallbackContext;
  status(status: TriggerStatus): void;
  log(text: string): void;
}

/** Context key of the poller's checkpoint (next to the runtime's emitted keys). */
const POLL_CHECKPOINT = "pollCheckpoint";

/**
 * The backend `settings.js` asks for: Redis when `cseCluster` is set (SPEC §7), else this process and the
 * node's context store. Throws ClusterSettingError (naming the setting) for a bad `cseCluster`.
 */
export function openTriggerBackend(redSettings: Record<string, unknown> | undefined, host: BackendHost): TriggerBackend {
  const cluster = joinCluster(redSettings, { info: host.log, error: host.log });
  return cluster ? new ClusterTriggerBackend(cluster, host) : localBackend(host);
}

function localBackend(host: BackendHost): TriggerBackend {
  const { context, settings } = host;
  return {
    polling: (makeLoop) =>
      makeLoop({
        loadCheckpoint: () =>
          new Promise((resolve, reject) =>
            context.get(POLL_CHECKPOINT, settings.store, (err, value) => (err ? reject(new Error(`cannot read the poll checkpoint from the context store: ${err.message}`)) : resolve(value))),
          ),
        saveCheckpoint: (checkpoint) =>
          new Promise((resolve, reject) =>
            context.set(POLL_CHECKPOINT, checkpoint, settings.store, (err) => (err ? reject(new Error(`cannot save the poll checkpoint in the context store: ${err.message}`)) : resolve())),
          ),
      }),
    close: async () => undefined,
  };
}
