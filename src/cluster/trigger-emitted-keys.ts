import type { EmittedKeyClaims } from "../nodes/trigger/runtime";
import type { ClusterConnection } from "./connection";

/**
 * The cse-trigger's dedupe window for the whole cluster: one Redis key per emitted event key, set with
 * `SET NX PX <window>`, so of two replicas that receive the same event only the first to claim it emits
 * it; Redis forgets the key when the window ends. A window of 0 turns deduplication off, as locally.
 */
export class RedisEmittedKeys implements EmittedKeyClaims {
  constructor(
    private readonly connection: ClusterConnection,
    private readonly nodeId: string,
    private readonly windowMs: number,
  ) {}

  async claim(key: string): Promise<boolean> {
    if (this.windowMs <= 0) return true;
    const set = await this.connection.client.set(this.keyOf(key), "1", "PX", Math.ceil(this.windowMs), "NX");
    return set === "OK";
  }

  async release(key: string): Promise<void> {
    await this.connection.client.del(this.keyOf(key));
  }

  private keyOf(eventKey: string): string {
    return this.connection.key("trigger", this.nodeId, "emitted", eventKey);
  }
}
