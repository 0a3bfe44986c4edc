import helper from "node-red-node-test-helper";
import { cseMetaFor } from "../../src/events/meta";
import type { EventTopic, Insight } from "../../src/events/types";

/** Messages arriving at a test helper node, awaited by count (no sleeps). */
export class Inbox {
  readonly items: any[] = [];
  private waiters: { count: number; resolve: (items: any[]) => void }[] = [];

  constructor(id: string) {
    helper.getNode(id).on("input", (msg: any) => {
      this.items.push(msg);
      this.waiters = this.waiters.filter((w) => (this.items.length >= w.count ? (w.resolve(this.items), false) : true));
    });
  }

  /** Resolves once `count` messages have arrived in total. */
  until(count: number): Promise<any[]> {
    if (this.items.length >= count) return Promise.resolve(this.items);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

/** An event message as cse-trigger emits it, with `msg.cse` linking to `uiUrl`. */
export function eventMessage(topic: EventTopic, payload: Insight | object, uiUrl?: string) {
  return { topic, payload, cse: cseMetaFor(topic, payload as Insight, { uiUrl }) };
}
