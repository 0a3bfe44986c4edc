/**
 * What an operator sees of the action nodes (SPEC §9): per running node its counters and state, the failed
 * messages, and the metrics — one Operations per Node-RED runtime, shared by every node type of the package.
 * Live changes go to the editor through Node-RED's comms (the sidebar listens), coalesced to a few a second.
 */
import type { NodeAPI } from "node-red";
import { failedStoreFor, type FailedEntry, type FailedStore } from "./failed-store";
import { Metrics } from "./metrics";

/** Comms topics the sidebar subscribes to. */
export const STATUS_TOPIC = "cse-actions/status";
export const FAILED_TOPIC = "cse-actions/failed";

/** At most this often a burst of changes is published to the editor. */
const PUBLISH_MS = 250;

/** One running action node as the status API and the sidebar show it. */
export interface ActionStatus {
  id: string;
  type: string;
  name: string;
  /** Accepted and waiting for their first attempt. */
  queued: number;
  /** Being delivered (an attempt or the wait before a retry). */
  inFlight: number;
  delivered: number;
  failed: number;
  /** Attempts beyond the first of a message. */
  retries: number;
  refused: number;
  lastError: string | null;
  lastErrorAt: string | null;
  /** sending | retrying | sent | failed | idle (nothing yet) | invalid (configuration), and the node's status text. */
  state: string;
  stateText: string;
}

/** How the operations reach a running action node. */
export interface ActionHandle {
  depth(): { queued: number; inFlight: number };
  /** Puts a failed message back on the node's queue; throws when the node refuses it (queue full, closing). */
  resubmit(entry: FailedEntry): void;
}

interface LiveAction {
  status: ActionStatus;
  handle: ActionHandle;
}

export class Operations {
  readonly metrics: Metrics;
  private readonly actions = new Map<string, LiveAction>();
  private readonly triggerEvents = new Map<string, Set<string>>();
  private storeInstance: FailedStore | undefined;
  private publishTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly failedNodes = new Set<string>();

  constructor(private readonly RED: NodeAPI) {
    this.metrics = new Metrics(() => [...this.actions.values()].map(({ status, handle }) => {
      const { queued, inFlight } = handle.depth();
      return { type: status.type, node: status.id, depth: queued + inFlight };
    }));
  }

  /** The failed-message store, opened on first use. */
  get store(): FailedStore {
    if (!this.storeInstance) this.storeInstance = failedStoreFor(this.RED.settings as any, (text) => this.RED.log.warn(text));
    return this.storeInstance;
  }

  /** A running action node (started); returns its status record, which the node updates. */
  addAction(id: string, type: string, name: string, handle: ActionHandle): ActionStatus {
    const status: ActionStatus = {
      id,
      type,
      name,
      queued: 0,
      inFlight: 0,
      delivered: 0,
      failed: 0,
      retries: 0,
      refused: 0,
      lastError: null,
      lastErrorAt: null,
      state: "idle",
      stateText: "",
    };
    this.actions.set(id, { status, handle });
    this.changed();
    return status;
  }

  removeAction(id: string, status: ActionStatus): void {
    if (this.actions.get(id)?.status !== status) return; // a newer instance of the node already runs
    this.actions.delete(id);
    this.metrics.forgetAction(status.type, id);
    this.changed();
  }

  action(id: string): ActionHandle | undefined {
    return this.actions.get(id)?.handle;
  }

  statuses(): ActionStatus[] {
    return [...this.actions.values()].map(({ status, handle }) => ({ ...status, ...handle.depth() }));
  }

  triggerEvent(node: string, event: string): void {
    let events = this.triggerEvents.get(node);
    if (!events) this.triggerEvents.set(node, (events = new Set()));
    events.add(event);
    this.metrics.triggerEvent(node, event);
  }

  removeTrigger(node: string): void {
    this.metrics.forgetTrigger(node, this.triggerEvents.get(node) ?? []);
    this.triggerEvents.delete(node);
  }

  /** Counters or state of a node changed: the editor hears of it shortly. */
  changed(): void {
    this.schedule();
  }

  /** The node's failed list changed: the sidebar fetches it again. */
  failedChanged(node: string): void {
    this.failedNodes.add(node);
    this.schedule();
  }

  private schedule(): void {
    if (this.publishTimer) return;
    this.publishTimer = setTimeout(() => this.publish(), PUBLISH_MS);
    this.publishTimer.unref?.();
  }

  private publish(): void {
    this.publishTimer = undefined;
    const comms = (this.RED as any).comms;
    if (!comms?.publish) return;
    try {
      comms.publish(STATUS_TOPIC, this.statuses(), true);
      if (this.failedNodes.size > 0) {
        comms.publish(FAILED_TOPIC, { nodes: [...this.failedNodes] }, false);
        this.failedNodes.clear();
      }
    } catch {
      // the editor's view is a convenience; it must never break a delivery
    }
  }
}

/** Per runtime (its admin app, shared by every node module of the package), its one Operations. */
const perRuntime = new WeakMap<object, Operations>();
const noAdminApp = {};

export function operationsOf(RED: NodeAPI): Operations {
  const key = ((RED as any).httpAdmin as object | undefined) ?? noAdminApp;
  let ops = perRuntime.get(key);
  if (!ops) perRuntime.set(key, (ops = new Operations(RED)));
  return ops;
}
