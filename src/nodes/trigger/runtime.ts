import { cseMetaFor, eventKey } from "../../events/meta";
import { normalizeInput } from "../../events/normalize";
import { RuleGuard } from "../../events/rule-guard";
import { SensorWatchdog, type WatchedHeartbeat } from "../../events/sensor-watchdog";
import type { EventTopic, Insight, RuleAutoDisabled, SensorOffline } from "../../events/types";
import { EmittedKeyStore, type CallbackContext } from "./emitted-keys";
import type { TriggerSettings } from "./settings";

type Payload = Insight | SensorOffline | RuleAutoDisabled;
type Message = Record<string, any>;

export interface TriggerStatus {
  fill?: "red" | "green" | "yellow" | "blue" | "grey";
  shape?: "ring" | "dot";
  text?: string;
}

/**
 * The event keys emitted within the dedupe window: the node's context store by default
 * ({@link EmittedKeyStore}), Redis in cluster mode, so that two replicas emit a key once.
 */
export interface EmittedKeyClaims {
  /** Resolves true and records `key` when it was not emitted within the window; false for a duplicate. */
  claim(key: string, now: () => number): Promise<boolean>;
  /** Forgets `key`, so it may be emitted again at once. */
  release(key: string): Promise<void>;
}

/** Sensor heartbeats: in this process by default ({@link SensorWatchdog}), in Redis in cluster mode. */
export interface SensorWatch {
  readonly checkEveryMs: number;
  heartbeat(beat: WatchedHeartbeat, now: number): void | Promise<void>;
  /** The sensors silent for the timeout at `now`, each reported once per outage (to one caller only). */
  check(now: number): SensorOffline[] | Promise<SensorOffline[]>;
  /** False when no check can find anything (nothing watched here, nor by another replica). */
  keepChecking(): boolean;
  clear(): void;
}

/** Signals per rule: in this process by default ({@link RuleGuard}), in Redis in cluster mode. */
export interface RuleSignals {
  /** Counts one signal; returns the auto-disable event when this signal crosses a limit (once per breach). */
  signal(ruleId: string, ruleName: string, now: number): RuleAutoDisabled | undefined | Promise<RuleAutoDisabled | undefined>;
}

/** What the trigger needs from Node-RED (or from a test). */
export interface TriggerPorts {
  context: CallbackContext;
  /** Where emitted keys, heartbeats and signals are kept; each defaults to this process (the context store for keys). */
  emittedKeys?: EmittedKeyClaims;
  sensors?: SensorWatch;
  rules?: RuleSignals;
  /** Sends a message the trigger produces on its own (sensor watchdog; later the poller). */
  send(msg: Message): void;
  status(status: TriggerStatus): void;
  /** Reports an error of work no input message is waiting for, so Catch nodes hear it. */
  reportError(err: Error, msg: Message): void;
  /** The configured tenant's UI URL, for `msg.cse.url`. */
  uiUrl(): string | undefined;
  /** Fetches an Insight by `INSIGHT-123` or UUID; absent when no `cse-tenant` is configured. */
  fetchInsight?: (insightId: string) => Promise<Insight>;
  now?: () => number;
}

export type EmitOutcome = "sent" | "inactive" | "off" | "duplicate" | "closed";

export const NEEDS_TENANT =
  'a cse-tenant is needed to fetch Insights by ID: set the node\'s "tenant" property, or send the Insight object itself';

/**
 * The cse-trigger's behaviour, apart from Node-RED: input handling, the sensor watchdog, the rule
 * guard and the single {@link emit} path (switches, dedupe, `msg.cse`) that every event source uses.
 */
export class TriggerRuntime {
  private readonly keys: EmittedKeyClaims;
  private readonly watchdog: SensorWatch;
  private readonly guard: RuleSignals;
  private readonly now: () => number;
  private watchTimer?: ReturnType<typeof setInterval>;
  private checking = false;
  private closed = false;
  /** Emits run one after another, so events leave in the order they came in. */
  private emitting: Promise<unknown> = Promise.resolve();

  constructor(
    readonly settings: TriggerSettings,
    private readonly ports: TriggerPorts,
  ) {
    this.now = ports.now ?? Date.now;
    this.keys = ports.emittedKeys ?? new EmittedKeyStore(ports.context, settings.store, settings.dedupeWindowMs);
    this.watchdog = ports.sensors ?? new SensorWatchdog(settings.sensorTimeoutMs);
    this.guard = ports.rules ?? new RuleGuard(settings.limits);
    ports.status(settings.active ? {} : { fill: "grey", shape: "ring", text: "inactive" });
    // A shared watch is checked from the start: the replica that got the heartbeats may be gone.
    if (settings.active && settings.switches["sensor.offline"] && this.watchdog.keepChecking()) this.watchSensors();
  }

  /** Handles one input message; sends through `send` or drops silently. Rejects for bad input. */
  async input(msg: Message, send: (msg: Message) => void): Promise<void> {
    if (!this.settings.active) return;
    const input = normalizeInput(msg.topic, msg.payload, this.now());
    switch (input.kind) {
      case "event":
        await this.emit(input.topic, input.payload, msg, send);
        return;
      case "fetchInsight": {
        if (!this.settings.switches["insight.onDemand"]) return;
        if (!this.ports.fetchInsight) throw new Error(NEEDS_TENANT);
        const insight = await this.ports.fetchInsight(input.insightId);
        await this.emit("insight.onDemand", insight, msg, send);
        return;
      }
      case "heartbeat":
        if (!this.settings.switches["sensor.offline"]) return;
        await this.watchdog.heartbeat(input.heartbeat, this.now());
        this.watchSensors();
        await this.keys.release(eventKey("sensor.offline", { sensorId: input.heartbeat.sensorId } as SensorOffline));
        return;
      case "signal": {
        if (!this.settings.switches["rule.autoDisabled"]) return;
        const { ruleId, ruleName } = input.signal;
        const disabled = await this.guard.signal(ruleId, ruleName, this.now());
        if (disabled) await this.emit("rule.autoDisabled", disabled, msg, send);
        return;
      }
    }
  }

  /**
   * The one way out for every event, whatever produced it: drops it when the node is inactive or the
   * event's switch is off, or when its key was emitted within the dedupe window (on-demand runs are
   * never deduplicated); otherwise sets `topic`, `payload` and `cse` on `msg`, keeping its other
   * properties, and sends it.
   */
  emit(topic: EventTopic, payload: Payload, msg: Message = {}, send: (msg: Message) => void = this.ports.send): Promise<EmitOutcome> {
    const run = this.emitting.then(() => this.emitNow(topic, payload, msg, send));
    this.emitting = run.catch(() => undefined);
    return run;
  }

  private async emitNow(topic: EventTopic, payload: Payload, msg: Message, send: (msg: Message) => void): Promise<EmitOutcome> {
    if (this.closed) return "closed";
    if (!this.settings.active) return "inactive";
    if (!this.settings.switches[topic]) return "off";
    const meta = cseMetaFor(topic, payload, { uiUrl: this.ports.uiUrl(), now: new Date(this.now()) });
    if (topic !== "insight.onDemand" && !(await this.keys.claim(meta.key, this.now))) {
      this.ports.status({ fill: "grey", shape: "ring", text: `duplicate ${subjectLabel(topic, payload)}` });
      return "duplicate";
    }
    if (this.closed) return "closed";
    msg.topic = topic;
    msg.payload = payload;
    msg.cse = meta;
    send(msg);
    this.ports.status({ fill: "green", shape: "dot", text: `${topic} ${subjectLabel(topic, payload)}` });
    return "sent";
  }

  close(): void {
    this.closed = true;
    this.stopWatching();
    this.watchdog.clear();
  }

  private watchSensors(): void {
    if (this.watchTimer || this.closed) return;
    this.watchTimer = setInterval(() => this.checkSensors(), this.watchdog.checkEveryMs);
    this.watchTimer.unref?.();
  }

  private stopWatching(): void {
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
  }

  private checkSensors(): void {
    if (this.checking) return; // a shared check waits while Redis is away: one at a time
    this.checking = true;
    Promise.resolve()
      .then(() => this.watchdog.check(this.now()))
      .then(
        (silent) => {
          for (const offline of silent) {
            const msg: Message = {};
            this.emit("sensor.offline", offline, msg).catch((err) => this.ports.reportError(err, { ...msg, topic: "sensor.offline", payload: offline }));
          }
          if (!this.watchdog.keepChecking()) this.stopWatching();
        },
        (err) => this.ports.reportError(err as Error, { topic: "sensor.offline" }),
      )
      .finally(() => (this.checking = false));
  }
}

function subjectLabel(topic: EventTopic, payload: Payload): string {
  if (topic === "sensor.offline") return (payload as SensorOffline).sensorId;
  if (topic === "rule.autoDisabled") return (payload as RuleAutoDisabled).ruleId;
  const insight = payload as Insight;
  return insight.readableId ?? insight.id;
}
