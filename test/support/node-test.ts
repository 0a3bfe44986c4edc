import { hooks } from "@node-red/util";
import helper from "node-red-node-test-helper";
import { cseMetaFor } from "../../src/events/meta";
import type { EventTopic, Insight } from "../../src/events/types";

/** Messages arriving at a test helper node, awaited by count (no sleeps). */
export class Inbox {
  readonly items: any[] = [];
  private waiters: { count: number; resolve: (items: any[]) => void }[] = [];

  /** Listens to node `id` of the running flow; without an id, messages come through add(). */
  constructor(id?: string) {
    if (id) helper.getNode(id).on("input", (msg: any) => this.add(msg));
  }

  add(msg: any): void {
    this.items.push(msg);
    this.waiters = this.waiters.filter((w) => (this.items.length >= w.count ? (w.resolve(this.items), false) : true));
  }

  /** Resolves once `count` messages have arrived in total. */
  until(count: number): Promise<any[]> {
    if (this.items.length >= count) return Promise.resolve(this.items);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

const INBOX_HOOK = "onReceive.testInbox";

/**
 * Inboxes for nodes of a flow not deployed yet: they catch what a node sends as soon as the flow starts
 * (a trigger's first poll), which an Inbox made after the deploy can miss. stopInboxes() ends them.
 */
export function inboxesBeforeStart<Id extends string>(...ids: Id[]): Record<Id, Inbox> {
  const inboxes = Object.fromEntries(ids.map((id) => [id, new Inbox()])) as Record<Id, Inbox>;
  hooks.remove(INBOX_HOOK);
  hooks.add(INBOX_HOOK, (event: { msg: unknown; destination: { id: string } }) => {
    (inboxes as Record<string, Inbox | undefined>)[event.destination.id]?.add(event.msg);
  });
  return inboxes;
}

export function stopInboxes(): void {
  hooks.remove(INBOX_HOOK);
}

/** An event message as cse-trigger emits it, with `msg.cse` linking to `uiUrl`. */
export function eventMessage(topic: EventTopic, payload: Insight | object, uiUrl?: string) {
  return { topic, payload, cse: cseMetaFor(topic, payload as Insight, { uiUrl }) };
}
