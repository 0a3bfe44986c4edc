/**
 * The operations' side of one action node: the node calls it where a message's fate is decided (attempt,
 * outcome, refusal) and it keeps the counters, the metrics and the failed-message store up to date. Nothing
 * here changes how a message is delivered; a problem in here is never a delivery problem.
 */
import type { Node, NodeAPI } from "node-red";
import type { DeliveryResult, EngineState } from "../delivery/engine";
import { failedEntry } from "./failed-store";
import type { Outcome } from "./metrics";
import { operationsOf, type ActionHandle } from "./operations";

export interface ActionOps {
  /** The engine's state changed (`text` is what the node's status shows). */
  state(state: EngineState, text: string): void;
  /** A message's outcome: delivered, or failed for good (kept in the failed list). Not called for closed ones. */
  settled(id: string, msg: Record<string, any>, result: DeliveryResult): void;
  /** The node cannot deliver anything: its configuration is invalid (`text` says why). */
  invalid(text: string): void;
  /** A message the node refused (invalid configuration, queue full, node closing). */
  refused(reason: string): void;
  /** The node closed. */
  close(): void;
}

export function actionOps(RED: NodeAPI, node: Node, name: string, handle: ActionHandle): ActionOps {
  const ops = operationsOf(RED);
  const { id, type } = node;
  const status = ops.addAction(id, type, name, handle);
  const noteError = (text: string) => {
    status.lastError = text;
    status.lastErrorAt = new Date().toISOString();
  };
  /** Bookkeeping that fails is reported, never thrown into the delivery path. */
  const safely = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (error) {
      node.warn(`${type}: ${what} failed (${(error as Error)?.message ?? error})`);
    }
  };
  /** Set once the node closed: its series are gone, an outcome reported after that must not bring them back. */
  let closed = false;
  const count = (outcome: Outcome, durationMs?: number) => {
    if (!closed) safely(`counting a ${outcome} message`, () => ops.metrics.finished(type, id, outcome, durationMs));
  };
  const keep = (messageId: string, msg: Record<string, any>, result: DeliveryResult, reason: string) => {
    const entry = failedEntry(
      {
        node: id,
        id: messageId,
        type,
        failedAt: new Date().toISOString(),
        reason,
        topic: typeof msg.cse?.event === "string" ? msg.cse.event : typeof msg.topic === "string" ? msg.topic : "",
        key: typeof msg.cse?.key === "string" ? msg.cse.key : "",
        attempts: result.attempts,
        status: result.status,
      },
      msg,
    );
    ops.store.add(entry).then(
      () => ops.failedChanged(id),
      (error) => node.warn(`${type}: the failed message could not be kept (${(error as Error)?.message ?? error})`),
    );
  };
  return {
    state(state, text) {
      status.state = state.phase;
      status.stateText = text;
      if (state.phase === "sending") {
        const retry = state.attempt > 1;
        if (retry) status.retries++;
        ops.metrics.attempt(type, id, retry);
      }
      ops.changed();
    },
    settled(messageId, msg, result) {
      if (result.closed) return;
      if (result.ok) {
        status.delivered++;
        count("delivered", result.durationMs);
        ops.changed();
        return;
      }
      status.failed++;
      const reason = result.error ?? result.reason ?? "delivery failed";
      noteError(reason);
      count("failed", result.durationMs);
      ops.changed();
      safely("keeping the failed message", () => keep(messageId, msg, result, reason));
    },
    invalid(text) {
      status.state = "invalid";
      status.stateText = text;
      noteError(text);
      ops.changed();
    },
    refused(reason) {
      status.refused++;
      noteError(reason);
      count("refused");
      ops.changed();
    },
    close() {
      closed = true;
      ops.removeAction(id, status);
    },
  };
}

/** A cse-trigger node's emitted events, counted for `cse_trigger_events_total`. */
export function triggerOps(RED: NodeAPI, node: Node): { emitted(msg: { topic?: unknown }): void; close(): void } {
  const ops = operationsOf(RED);
  return {
    emitted(msg) {
      if (typeof msg?.topic === "string") ops.triggerEvent(node.id, msg.topic);
    },
    close() {
      ops.removeTrigger(node.id);
    },
  };
}
