/**
 * A node's delivery status, coalesced. Under load the engine reports two state changes per message ("sending",
 * then "sent"), and every status update goes to the editor and to every Status node. So "sending" waits: it is
 * shown only if it is still the latest state a moment later (at most a few times a second); every other state
 * is shown at once, unless it is exactly what is shown already. The last state is always shown.
 */
export interface NodeStatus {
  fill: "red" | "green" | "yellow" | "blue" | "grey";
  shape: "dot" | "ring";
  text: string;
}

/** How long a "sending" state waits before it is shown, if nothing came after it. */
export const TRANSIENT_STATUS_MS = 250;

export class StatusDisplay {
  private shown: NodeStatus | undefined;
  private held: NodeStatus | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly show: (status: NodeStatus) => void) {}

  /** A status that lasts only while a request is out (e.g. "sending"): shown if it is still the latest shortly. */
  transient(status: NodeStatus): void {
    if (this.closed) return;
    this.held = status;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const held = this.held;
      this.held = undefined;
      if (held) this.set(held);
    }, TRANSIENT_STATUS_MS);
    this.timer.unref?.();
  }

  /** A status shown at once (unless it is the one shown); it replaces a transient one still waiting. */
  set(status: NodeStatus): void {
    if (this.closed) return;
    this.held = undefined;
    const shown = this.shown;
    if (shown && shown.text === status.text && shown.fill === status.fill && shown.shape === status.shape) return;
    this.shown = status;
    this.show(status);
  }

  /** The node closed: nothing waiting is shown any more. */
  close(): void {
    this.closed = true;
    this.held = undefined;
    clearTimeout(this.timer);
  }
}
