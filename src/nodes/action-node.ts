/**
 * The one way to make an action node: registers the type, reads config + credentials, validates at deploy,
 * parses input events, queues them on the node's delivery engine, shows status, sets msg.delivery, reports
 * failures to Catch, closes cleanly, and serves the editor's Test and Preview buttons.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import type { Node, NodeAPI, NodeDef } from "node-red";
import { cseMetaFor } from "../events/meta";
import { sampleInsight, sampleRuleAutoDisabled, sampleSensorOffline } from "../events/sample-insight";
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_TIMEOUT_MS,
  DeliveryEngine,
  type DeliveryJob,
  type DeliveryResult,
  type EngineOptions,
  type EngineState,
  newJob,
} from "../delivery/engine";
import { FileJournal, type Journal, journalFile, MemoryJournal } from "../delivery/journal";
import type { JournalEntry } from "../delivery/journal-lines";
import { type ClusterLease, joinCluster } from "../cluster";
import { ClusterDelivery } from "../cluster/delivery-queue";
import { failedChangedChannel } from "../cluster/failed-store";
import type { RedisHealth } from "../cluster/connection";
import { redact } from "../delivery/redact";
import { ConfigError, type DeliveryEvent, type Target } from "../targets/types";
import { eventOfMessage } from "../events/event-message";
import { actionOps } from "../ops/action-ops";
import { registerOpsRoutes } from "../ops/admin-routes";
import { operationsOf } from "../ops/operations";
import { previewOf } from "./preview";
import { type NodeStatus, StatusDisplay } from "./status-display";

export interface ActionNodeSpec<C, R = void> {
  /** The node type, e.g. "cse-slack". */
  type: string;
  target: Target<C, R>;
  credentials: Record<string, { type: "text" | "password" }>;
  /** Node-RED settings the type registers (exported to the editor when exportable). */
  settings?: Record<string, { value: unknown; exportable?: boolean }>;
  /**
   * Node properties + credentials → the target's config. Throw ConfigError(field, problem) for bad values.
   * Called at deploy and by the Test button route.
   */
  config(props: Record<string, any>, credentials: Record<string, string | undefined>, RED: NodeAPI): C;
}

/** The placeholder the editor shows in a password field whose credential is already stored. */
const STORED_PASSWORD = "__PWRD__";
const STATUS_MAX = 40;

function labelOf(type: string, name: unknown): string {
  return typeof name === "string" && name.trim() ? `${type} "${name.trim()}"` : type;
}

function short(text: string): string {
  return text.length > STATUS_MAX ? `${text.slice(0, STATUS_MAX - 1)}…` : text;
}

/** The last second formatted: every "sent" status of a busy second shows the same time (toTimeString is slow). */
let clockSecond = NaN;
let clockText = "";

function clock(at: Date): string {
  const second = Math.floor(at.getTime() / 1000);
  if (second !== clockSecond) {
    clockSecond = second;
    clockText = at.toTimeString().slice(0, 8);
  }
  return clockText;
}

function statusOf(state: EngineState): NodeStatus {
  switch (state.phase) {
    case "sending":
      return { fill: "blue", shape: "dot", text: state.attempt > 1 ? `sending (${state.attempt}/${state.maxAttempts})` : "sending" };
    case "retrying":
      return { fill: "yellow", shape: "ring", text: `retrying (${state.attempt}/${state.maxAttempts})` };
    case "sent":
      return { fill: "green", shape: "dot", text: `sent ${clock(state.at)}` };
    case "failed":
      return { fill: "red", shape: "dot", text: short(`failed: ${state.reason}`) };
  }
}

/** The status while Redis is away (cluster mode); undefined when it is back. */
function redisStatusOf(health: RedisHealth, problem: string | undefined, held: number) {
  if (health === "ready" || health === "connecting") return undefined;
  const waiting = held > 0 ? `, ${held} held` : "";
  return { fill: "red" as const, shape: "ring" as const, text: short(health === "refused" ? `Redis refused${waiting}: ${problem ?? ""}` : `Redis unreachable${waiting}`) };
}

/** `timeout` and `maxAttempts` of any action node; empty means the default. */
function commonOptions(props: Record<string, any>): { timeoutMs: number; maxAttempts: number } {
  const number = (field: string, fallback: number, what: string): number => {
    const raw = props[field];
    if (raw === undefined || raw === null || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || !Number.isInteger(value)) throw new ConfigError(field, `must be ${what}`);
    return value;
  };
  return {
    timeoutMs: number("timeout", DEFAULT_TIMEOUT_MS, "a positive whole number of milliseconds"),
    maxAttempts: number("maxAttempts", DEFAULT_MAX_ATTEMPTS, "a positive whole number"),
  };
}

function settingNumber(RED: NodeAPI, name: string): number | undefined {
  const value = Number((RED.settings as any)?.[name]);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Engine options from the node's properties and the runtime settings. */
function engineOptions(RED: NodeAPI, props: Record<string, any>, label: string): EngineOptions {
  const settings = RED.settings as any;
  return {
    label,
    ...commonOptions(props),
    // Hidden settings, documented for tests and tuning: cseDelayScale multiplies every wait.
    delayScale: settings?.cseDelayScale !== undefined ? Math.max(0, Number(settings.cseDelayScale) || 0) : 1,
    concurrency: settingNumber(RED, "cseConcurrency"),
    queueLimit: settingNumber(RED, "cseQueueLimit"),
    allowMetadataAddresses: () => (RED.settings as any)?.cseAllowMetadataAddresses === true,
  };
}

function buildConfig<C, R>(
  spec: ActionNodeSpec<C, R>,
  RED: NodeAPI,
  props: Record<string, any>,
  credentials: Record<string, string | undefined>,
): C {
  commonOptions(props);
  const config = spec.config(props, credentials, RED);
  spec.target.validate?.(config);
  return config;
}

/** A config error's text without any credential that a careless message might contain. */
function configProblem(error: unknown, credentials: Record<string, string | undefined>): string {
  const text = error instanceof ConfigError ? error.message : String((error as Error)?.message ?? error);
  return redact(text, Object.values(credentials).filter((v): v is string => typeof v === "string"));
}

function deliveryOf(type: string, result: DeliveryResult): Record<string, unknown> {
  return {
    action: type,
    ok: result.ok,
    status: result.status,
    attempts: result.attempts,
    durationMs: result.durationMs,
    ...(result.id !== undefined ? { id: result.id } : {}),
    ...(!result.ok && result.code ? { code: result.code } : {}),
  };
}

function failure(message: string, result?: DeliveryResult): Error {
  const error: Error & { status?: number | null; code?: string } = new Error(message);
  if (result) {
    error.status = result.status;
    if (result.code) error.code = result.code;
  }
  return error;
}

/** Where accepted messages are journalled: `<userDir>/cse-actions-journal/<node id>.jsonl`. */
export const JOURNAL_DIR = "cse-actions-journal";

/** The longest a node waits for the flows to start before it reports on messages taken back from its journal. */
const RESUME_REPORT_WAIT_MS = 2000;

/**
 * The node's journal: a file under Node-RED's user directory, or memory when there is none (the test helper)
 * or it cannot be written (with a warning).
 */
function openJournal(RED: NodeAPI, node: Node, label: string): Journal {
  const userDir = (RED.settings as any)?.userDir;
  if (typeof userDir !== "string" || !userDir) return new MemoryJournal();
  const dir = path.join(userDir, JOURNAL_DIR);
  const lost = "accepted messages are kept in memory only and are lost if Node-RED stops";
  try {
    const journal = new FileJournal(journalFile(dir, node.id), {
      onError: (error) => node.warn(`${label}: writing the journal in ${dir} failed (${codeOf(error)}); ${lost}`),
    });
    if (journal.report.skippedLines > 0) {
      node.warn(`${label}: skipped ${journal.report.skippedLines} unreadable line(s) of the journal (a write cut short by a crash)`);
    }
    return journal;
  } catch (error) {
    node.warn(`${label}: cannot keep a journal in ${dir} (${codeOf(error)}); ${lost}`);
    return new MemoryJournal();
  }
}

function acceptedAtOf(entry: JournalEntry): Date {
  const at = new Date(entry.acceptedAt);
  return Number.isNaN(at.getTime()) ? new Date() : at;
}

function codeOf(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e?.code ?? String(e?.message ?? e);
}

interface Gate {
  promise: Promise<void>;
  resolve: () => void;
}

function gate(): Gate {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Per runtime event bus: the gate the next "flows:started" opens (one listener for all action nodes). */
const nextStart = new WeakMap<object, Gate>();

/**
 * Resolves when the flows being started have started (so Catch nodes and wires exist), at the latest after a
 * short wait; `cancel` resolves it at once (the node closed).
 */
function flowsStarted(RED: NodeAPI): { promise: Promise<void>; cancel: () => void } {
  const events = (RED as any).events as { on?: (name: string, fn: () => void) => void } | undefined;
  const own = gate();
  const timer = setTimeout(own.resolve, RESUME_REPORT_WAIT_MS);
  timer.unref?.();
  if (events && typeof events.on === "function") {
    let shared = nextStart.get(events);
    if (!shared) {
      shared = gate();
      nextStart.set(events, shared);
      events.on("flows:started", () => {
        const opened = nextStart.get(events);
        nextStart.set(events, gate());
        opened?.resolve();
      });
    }
    shared.promise.then(own.resolve);
  } else {
    setImmediate(own.resolve);
  }
  own.promise.then(() => clearTimeout(timer));
  return { promise: own.promise, cancel: own.resolve };
}

/** The input handler's own send and done of a message. */
interface InputCallbacks {
  send(msg: Record<string, any>): void;
  done(error?: Error): void;
}

export function defineActionNode<C, R = void>(spec: ActionNodeSpec<C, R>): (RED: NodeAPI) => void {
  return function register(RED: NodeAPI): void {
    function ActionNode(this: Node, def: NodeDef & Record<string, any>): void {
      RED.nodes.createNode(this, def);
      const node: Node = this as Node;
      const label = labelOf(spec.type, def.name);
      const credentials = ((this as any).credentials ?? {}) as Record<string, string | undefined>;
      let engine: DeliveryEngine<C, R> | undefined;
      let configError: string | undefined;
      let cluster: ClusterLease | undefined;
      /** In cluster mode: this node's queue in Redis, worked by every replica. */
      let clustered: ClusterDelivery<InputCallbacks> | undefined;
      const display = new StatusDisplay((status) => node.status(status));
      // Counters, metrics and the failed list (src/ops); its handle is used only once the node runs.
      const ops = actionOps(RED, this, typeof def.name === "string" ? def.name : "", {
        depth: () => ({ queued: clustered ? clustered.waiting : (engine?.queued ?? 0), inFlight: engine?.inFlight ?? 0 }),
        // A failed message sent again from the failed list: the normal path, with the id (and key) it had.
        resubmit: (entry) => {
          if (!engine) throw new Error(`${label}: invalid configuration: ${configError}`);
          engine.assertAccepting(awaitingWrite);
          const msg = RED.util.cloneMessage(entry.msg as any) as Record<string, any>;
          if (clustered) {
            clustered.assertRoom();
            return toCluster(clustered, engine, entry.id, msg, undefined);
          }
          accept(engine, newJob(eventOfMessage(msg), new Date(), entry.id), msg, undefined);
        },
      });

      try {
        cluster = joinCluster(RED.settings as any, RED.log);
        const config = buildConfig(spec, RED, def, credentials);
        engine = new DeliveryEngine(spec.target, config, {
          ...engineOptions(RED, def, label),
          onState: (state) => {
            const status = statusOf(state);
            if (state.phase === "sending") display.transient(status);
            else display.set(status);
            ops.state(state, status.text);
          },
        });
      } catch (error) {
        configError = configProblem(error, credentials);
        this.status({ fill: "red", shape: "ring", text: short(configError) });
        ops.invalid(`${label}: invalid configuration: ${configError}`);
      }
      // In cluster mode the node's queue in Redis is its journal (SPEC §7).
      const journal = cluster ? new MemoryJournal() : openJournal(RED, this, label);
      /** Set when the node closes: a removed node reports what it could not finish, a stopped one keeps it. */
      let removed: boolean | undefined;
      // Messages taken back from the journal report once the flows run (Catch nodes and wires exist by then).
      // So do messages waiting in the cluster's queue: this replica starts working it then.
      const started = journal.recovered.length > 0 || cluster ? flowsStarted(RED) : { promise: Promise.resolve(), cancel: () => undefined };

      /** Reports the outcome of one message: through its input handler's send/done, or (resumed) the node's own. */
      const report = (msg: Record<string, any>, error: Error | undefined, input: InputCallbacks | undefined) => {
        if (input) {
          if (error) input.done(error);
          else {
            input.send(msg);
            input.done();
          }
        } else {
          void started.promise.then(() => (error ? node.error(error, msg as any) : node.send(msg as any)));
        }
      };

      const refused = (msg: Record<string, any>, message: string, input: InputCallbacks | undefined) => {
        ops.refused(message);
        msg.delivery = { action: spec.type, ok: false, status: null, attempts: 0, durationMs: 0 };
        report(msg, failure(message), input);
      };

      /** The outcome of a job: the journal forgets it (unless a stopping node keeps it), msg.delivery, report. */
      const settle = (id: string, msg: Record<string, any>, result: DeliveryResult, input: InputCallbacks | undefined) => {
        if (result.closed && removed !== true && journal.persistent) return; // kept for the next start
        journal.remove(id);
        msg.delivery = deliveryOf(spec.type, result);
        ops.settled(id, msg, result);
        if (!result.ok) return report(msg, failure(result.error ?? `${label}: delivery failed`, result), input);
        if (result.msg) {
          // A target's `delivery` fields (e.g. e-mail's rejected recipients) extend msg.delivery, never replace it.
          const { delivery: extra, ...rest } = result.msg as Record<string, any>;
          Object.assign(msg, rest);
          if (extra && typeof extra === "object") msg.delivery = { ...extra, ...msg.delivery };
        }
        report(msg, undefined, input);
      };

      /** Queues an accepted (and journalled) message on the engine; `input` is absent for a resumed one. */
      const deliver = (running: DeliveryEngine<C, R>, job: DeliveryJob, msg: Record<string, any>, input: InputCallbacks | undefined) => {
        const id = job.id;
        // The journal wrote msg.payload's JSON: a target may send those bytes when the event's payload is that object.
        const accepted = job.event.payload === msg.payload ? { acceptedPayloadJson: () => journal.payloadJson(id) } : undefined;
        running.submit(job, { resumed: !input, accepted }).then(
          (result) => settle(id, msg, result, input),
          (error) => report(msg, failure(running.redact(`${label}: ${String(error?.message ?? error)}`)), input),
        );
      };

      /** Messages accepted in this tick whose journal line is not written yet (they count against the queue limit). */
      let awaitingWrite = 0;
      /**
       * Journals an accepted message and queues it on the engine once its line is written (group commit: one write
       * for every message accepted in the same tick, before any of them is attempted or acknowledged).
       */
      const accept = (running: DeliveryEngine<C, R>, job: DeliveryJob, msg: Record<string, any>, input: InputCallbacks | undefined) => {
        awaitingWrite++;
        journal.add({ id: job.id, acceptedAt: job.acceptedAt, msg }, () => {
          awaitingWrite--;
          try {
            deliver(running, job, msg, input);
          } catch (error) {
            journal.remove(job.id);
            refused(msg, (error as Error).message, input);
          }
        });
      };

      try {
        clustered = cluster && engine ? clusterDelivery(cluster, engine) : undefined;
      } catch (error) {
        engine = undefined;
        configError = `cluster mode: ${String((error as Error)?.message ?? error)}`;
        this.status({ fill: "red", shape: "ring", text: short(configError) });
      }
      if (clustered) void started.promise.then(() => clustered?.start());
      // Another replica's failures and retries change the shared failed list: this replica's editors hear of it too.
      const stopListening = cluster?.connection.subscribe(failedChangedChannel(cluster.connection), (nodeId) => operationsOf(RED).failedChanged(nodeId));

      /** Stores an accepted message in the cluster's queue (before its first attempt); any replica may then deliver it. */
      function toCluster(delivery: ClusterDelivery<InputCallbacks>, running: DeliveryEngine<C, R>, id: string, msg: Record<string, any>, input: InputCallbacks | undefined): void {
        delivery.accept({ id, acceptedAt: new Date().toISOString(), msg }, input).catch((error) =>
          report(msg, failure(`${label}: Redis did not take the message: ${running.redact(String(error?.message ?? error))}`), input),
        );
      }

      /** Works this node's queue in Redis with the node's engine; outcomes go out from the replica that finished. */
      function clusterDelivery(lease: ClusterLease, running: DeliveryEngine<C, R>): ClusterDelivery<InputCallbacks> {
        let redisDown = false;
        return new ClusterDelivery<InputCallbacks>({
          connection: lease.connection,
          nodeId: node.id,
          concurrency: running.concurrency,
          queueLimit: running.queueLimit,
          deliver: (entry) => {
            try {
              return running.submit(newJob(eventOfMessage(entry.msg), acceptedAtOf(entry), entry.id), { resumed: true });
            } catch (error) {
              const reason = `a queued message could not be sent: ${running.redact(String((error as Error)?.message ?? error))}`;
              return Promise.resolve({ ok: false, status: null, attempts: 0, durationMs: 0, reason, error: `${label}: ${reason}` });
            }
          },
          finished: (entry, result, input) => settle(entry.id, entry.msg, result, input),
          // The replica that finished it sent the output or told Catch; here the message's handling ends.
          finishedElsewhere: (input) => input?.done(),
          health: (health, problem, held) => {
            const status = redisStatusOf(health, problem, held);
            if (status) display.set(status);
            else if (redisDown) display.set({ fill: "green", shape: "ring", text: "Redis is back" });
            redisDown = status !== undefined;
          },
        });
      }

      // Messages accepted before a restart or redeploy: queued again first, in the order they were accepted;
      // their outcome goes out through node.send / node.error(err, msg) once the flows run.
      for (const entry of journal.recovered.splice(0)) {
        const msg = entry.msg as Record<string, any>;
        try {
          if (!engine) {
            journal.remove(entry.id);
            refused(msg, `${label}: invalid configuration: ${configError}`, undefined);
            continue;
          }
          deliver(engine, newJob(eventOfMessage(msg), acceptedAtOf(entry), entry.id), msg, undefined);
        } catch (error) {
          journal.remove(entry.id);
          refused(msg, `${label}: a journalled message could not be sent again: ${(error as Error).message}`, undefined);
        }
      }

      this.on("input", (msg: any, send: any, done: any) => {
        try {
          if (!engine) return refused(msg, `${label}: invalid configuration: ${configError}`, { send, done });
          let event: DeliveryEvent;
          try {
            event = eventOfMessage(msg);
          } catch (error) {
            return refused(msg, `${(error as Error).message} (${label})`, { send, done });
          }
          if (msg.cse === undefined || msg.cse === null) msg.cse = event.cse;
          try {
            engine.assertAccepting(awaitingWrite);
          } catch (error) {
            return refused(msg, (error as Error).message, { send, done });
          }
          if (clustered) {
            try {
              clustered.assertRoom();
            } catch (error) {
              return refused(msg, `${label}: ${(error as Error).message}`, { send, done });
            }
            return toCluster(clustered, engine, randomUUID(), msg, { send, done });
          }
          // Journalled before the first attempt (in the write at the end of this tick).
          accept(engine, newJob(event), msg, { send, done });
        } catch (error) {
          done(failure(`${label}: ${engine ? engine.redact(String((error as Error)?.message ?? error)) : "internal error"}`));
        }
      });

      this.on("close", (isRemoved: boolean, done: () => void) => {
        removed = isRemoved === true;
        ops.close();
        display.close();
        // Messages accepted in this tick are written and queued first: the engine's close then keeps or reports them.
        journal.flush();
        const finish = () => {
          try {
            if (removed) journal.destroy();
            else journal.close();
          } catch (error) {
            node.warn(`${label}: closing the journal failed (${codeOf(error)})`);
          }
          started.cancel();
          done();
        };
        stopListening?.();
        const leave = () => (cluster ? cluster.leave().catch(() => undefined) : Promise.resolve());
        if (!engine) return void leave().then(finish);
        if (clustered) {
          // In-flight attempts are aborted and their jobs go back to waiting in Redis, for another replica or the next start.
          return void clustered.close(() => engine!.close()).then(leave, leave).then(finish, finish);
        }
        // In-flight attempts are aborted; their messages (and the queued ones) stay journalled unless the node
        // was removed, in which case Catch hears of each (best effort: the flow is stopping).
        engine.close().then(finish, finish);
      });
    }

    RED.nodes.registerType(spec.type, ActionNode as any, {
      credentials: spec.credentials,
      ...(spec.settings ? { settings: spec.settings } : {}),
    } as any);
    registerAdminRoutes(RED, spec);
    registerOpsRoutes(RED);
  };
}

/** A whole-value `${NAME}` as the runtime substitutes it at deploy (the Test route gets raw dialog values). */
function fromEnv(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const match = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(value.trim());
  return match ? (process.env[match[1]] ?? "") : value;
}

/** The admin routes' body: the open dialog's values, `{id, properties, credentials}`. */
interface DialogValues {
  props: Record<string, any>;
  credentials: Record<string, string | undefined>;
  label: string;
  /** Preview's sample: "insight" (default), "sensor" or "rule". */
  sample?: unknown;
}

/**
 * The dialog's values as the runtime would see them at deploy: `${ENV}` substituted, and a password field that
 * still shows the stored placeholder (or was not sent) replaced by the saved credential of that node.
 */
function dialogValues<C, R>(RED: NodeAPI, spec: ActionNodeSpec<C, R>, body: Record<string, any>): DialogValues {
  const props: Record<string, any> = {};
  for (const [key, value] of Object.entries(body.properties ?? {})) props[key] = fromEnv(value);
  const given: Record<string, unknown> = body.credentials ?? {};
  const stored = (typeof body.id === "string" && (RED.nodes as any).getCredentials?.(body.id)) || {};
  const credentials: Record<string, string | undefined> = {};
  for (const key of Object.keys(spec.credentials)) {
    const value = given[key];
    const raw = value === undefined || value === STORED_PASSWORD ? stored[key] : String(value);
    credentials[key] = fromEnv(raw) as string | undefined;
  }
  return { props, credentials, label: labelOf(spec.type, props.name), sample: body.sample };
}

/** The sample event the Test button sends and Preview renders: the sample Insight, or (Preview) a sensor or rule event. */
function sampleEvent(sample?: unknown): DeliveryEvent {
  if (sample === "sensor") {
    const payload = sampleSensorOffline();
    return { topic: "sensor.offline", payload, cse: cseMetaFor("sensor.offline", payload) };
  }
  if (sample === "rule") {
    const payload = sampleRuleAutoDisabled();
    return { topic: "rule.autoDisabled", payload, cse: cseMetaFor("rule.autoDisabled", payload) };
  }
  const payload = sampleInsight();
  return { topic: "insight.onDemand", payload, cse: cseMetaFor("insight.onDemand", payload) };
}

/** Registers `POST cse-actions/<action>/<type>` behind the node type's write permission. */
function adminPost<C, R>(RED: NodeAPI, spec: ActionNodeSpec<C, R>, action: string, handler: (values: DialogValues, res: any) => Promise<void> | void): void {
  const admin = (RED as any).httpAdmin;
  if (!admin?.post) return;
  const permission = (RED as any).auth?.needsPermission?.(`${spec.type}.write`) ?? ((_req: any, _res: any, next: () => void) => next());
  admin.post(`/cse-actions/${action}/${spec.type}`, permission, (req: any, res: any) => handler(dialogValues(RED, spec, (req.body ?? {}) as Record<string, any>), res));
}

function registerAdminRoutes<C, R>(RED: NodeAPI, spec: ActionNodeSpec<C, R>): void {
  adminPost(RED, spec, "test", (values, res) => testSample(RED, spec, values, res));
  adminPost(RED, spec, "preview", (values, res) => previewSample(RED, spec, values, res));
}

/** `POST cse-actions/test/<type>`: sends the sample Insight with the dialog's values, answers {ok, status, message}. */
async function testSample<C, R>(RED: NodeAPI, spec: ActionNodeSpec<C, R>, { props, credentials, label }: DialogValues, res: any): Promise<void> {
  let engine: DeliveryEngine<C, R>;
  try {
    const config = buildConfig(spec, RED, props, credentials);
    engine = new DeliveryEngine(spec.target, config, { ...engineOptions(RED, props, label), maxAttempts: 1, concurrency: 1 });
  } catch (error) {
    return res.json({ ok: false, status: null, message: `invalid configuration: ${configProblem(error, credentials)}` });
  }
  try {
    const result = await engine.submit(newJob(sampleEvent()));
    const status = result.status;
    const message = result.ok
      ? `sent the sample Insight: ${spec.target.name} answered${status !== null ? ` ${status}` : " ok"}${result.id ? ` (id ${result.id})` : ""}`
      : (result.error ?? "delivery failed");
    res.json({ ok: result.ok, status, message: engine.redact(message) });
  } catch (error) {
    res.json({ ok: false, status: null, message: engine.redact(String((error as Error)?.message ?? error)) });
  } finally {
    await engine.close();
  }
}

/**
 * `POST cse-actions/preview/<type>`: the body the node would send for the sample event (`sample`: the Insight,
 * "sensor" or "rule") with the dialog's values, and its size against the target's limits: {ok, body, bytes,
 * limits, message}; a value that does not work (a template that does not parse) is the message instead. Never
 * headers or URL.
 */
function previewSample<C, R>(RED: NodeAPI, spec: ActionNodeSpec<C, R>, { props, credentials, sample }: DialogValues, res: any): void {
  let config: C;
  try {
    config = buildConfig(spec, RED, props, credentials);
  } catch (error) {
    return res.json({ ok: false, message: `invalid configuration: ${configProblem(error, credentials)}` });
  }
  const secrets = [...spec.target.secrets(config), ...Object.values(credentials)].filter((s): s is string => typeof s === "string");
  try {
    const preview = previewOf(spec.type, spec.target, sampleEvent(sample), config);
    if (!preview) return res.json({ ok: false, message: "no preview for this node" });
    res.json({ ok: true, body: redact(preview.body, secrets), bytes: preview.bytes, limits: preview.limits, message: preview.summary });
  } catch (error) {
    res.json({ ok: false, message: redact(String((error as Error)?.message ?? error), secrets) });
  }
}
