import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { PollLoop } from "../cse/poll-loop";
import { asCseTenant } from "../cse/tenant";
import { isInsightId } from "../events/insight";
import { triggerOps } from "../ops/action-ops";
import type { CallbackContext } from "./trigger/emitted-keys";
import { TriggerRuntime } from "./trigger/runtime";
import { ConfigError, readTriggerSettings, type TriggerConfig } from "./trigger/settings";
import { tenantView } from "./trigger/tenant";

/** Context key of the poller's checkpoint (next to the runtime's emitted keys). */
const POLL_CHECKPOINT = "pollCheckpoint";

export = function (RED: NodeAPI) {
  function CseTriggerNode(this: Node, config: NodeDef & TriggerConfig) {
    RED.nodes.createNode(this, config);
    let runtime: TriggerRuntime | undefined;
    let poll: PollLoop | undefined;
    let configError: Error | undefined;
    const closing = new AbortController();
    const ops = triggerOps(RED, this);

    try {
      const settings = readTriggerSettings(config);
      // Looked up when used: a tenant is optional and may be missing from the deployed flows.
      const tenant = () => (settings.tenantId ? tenantView(RED.nodes.getNode(settings.tenantId)) : undefined);
      runtime = new TriggerRuntime(settings, {
        context: this.context() as unknown as CallbackContext,
        send: (msg) => {
          ops.emitted(msg);
          this.send(msg as NodeMessage);
        },
        status: (status) => this.status(status),
        reportError: (err, msg) => this.error(err, msg),
        uiUrl: () => tenant()?.uiUrl,
        fetchInsight: settings.tenantId
          ? (id) => {
              const cse = asCseTenant(RED.nodes.getNode(settings.tenantId!));
              if (cse) return cse.fetchInsight(id, closing.signal);
              const fetch = tenant()?.fetchInsight;
              if (!fetch) throw new Error(`the cse-tenant configured in "tenant" (${settings.tenantId}) is not deployed`);
              return fetch(id);
            }
          : undefined,
      });
      if (settings.tenantId && settings.pollIntervalMs > 0 && settings.active) {
        poll = startPolling(this, settings.tenantId, settings, runtime);
      }
    } catch (err) {
      configError = err as Error;
      const field = err instanceof ConfigError ? err.field : "configuration";
      this.status({ fill: "red", shape: "ring", text: `invalid ${field}` });
      this.error(`cse-trigger is misconfigured: ${configError.message}`);
    }

    this.on("input", (msg, send, done) => {
      if (!runtime) {
        done(configError);
        return;
      }
      try {
        runtime.input(msg as Record<string, any>, (out) => {
          ops.emitted(out);
          send(out as NodeMessage);
        }).then(
          () => done(),
          (err) => done(err),
        );
      } catch (err) {
        done(err as Error);
      }
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      closing.abort(new Error("cse-trigger closed"));
      ops.close();
      const polling = poll?.stop() ?? Promise.resolve();
      polling.finally(() => {
        runtime?.close();
        done();
      });
    });
  }

  /**
   * Polls the tenant (SPEC §3): new and closed Insights and auto-disabled rules go out through the
   * runtime's one emit path (switches, dedupe, msg.cse); the checkpoint lives next to the emitted
   * keys in the node's context store; an outage reaches Catch once.
   */
  function startPolling(node: Node, tenantId: string, settings: ReturnType<typeof readTriggerSettings>, runtime: TriggerRuntime): PollLoop {
    const context = node.context() as unknown as CallbackContext;
    const store = settings.store;
    let apiUrl = "";
    const loop = new PollLoop(
      {
        source: () => {
          const tenant = asCseTenant(RED.nodes.getNode(tenantId));
          if (!tenant) throw new Error(`the cse-tenant configured in "tenant" (${tenantId}) is not deployed`);
          const client = tenant.client();
          apiUrl = client.apiUrl;
          return client;
        },
        loadCheckpoint: () =>
          new Promise((resolve, reject) =>
            context.get(POLL_CHECKPOINT, store, (err, value) => (err ? reject(new Error(`cannot read the poll checkpoint from the context store: ${err.message}`)) : resolve(value))),
          ),
        saveCheckpoint: (checkpoint) =>
          new Promise((resolve, reject) =>
            context.set(POLL_CHECKPOINT, checkpoint, store, (err) => (err ? reject(new Error(`cannot save the poll checkpoint in the context store: ${err.message}`)) : resolve())),
          ),
        emit: (topic, payload) => runtime.emit(topic, payload, {}),
        status: (status) => node.status(status),
        reportError: (err) => node.error(err, { topic: "cse.pollFailed", payload: { tenant: apiUrl || tenantId, error: err.message } }),
        recovered: () => node.log(`polling ${apiUrl || "the tenant"} works again`),
      },
      {
        intervalMs: settings.pollIntervalMs,
        created: settings.switches["insight.created"],
        closed: settings.switches["insight.closed"],
        rules: settings.switches["rule.autoDisabled"],
      },
    );
    loop.start();
    return loop;
  }

  RED.nodes.registerType("cse-trigger", CseTriggerNode);

  // The editor's on-demand button: the ID goes through the node's own input, so the result (or the
  // error, e.g. no tenant) reaches the flow like any other message.
  RED.httpAdmin.post("/cse-trigger/:id/on-demand", RED.auth.needsPermission("cse-trigger.write"), (req: any, res: any) => {
    const node = RED.nodes.getNode(req.params.id);
    if (!node || node.type !== "cse-trigger") {
      res.status(404).send("no deployed cse-trigger with that id: deploy the flow first");
      return;
    }
    const insightId = typeof req.body?.insightId === "string" ? req.body.insightId.trim() : "";
    if (!isInsightId(insightId)) {
      res.status(400).send(`"${insightId.slice(0, 60)}" is not an Insight ID (INSIGHT-123 or a UUID)`);
      return;
    }
    node.receive({ topic: "insight.onDemand", payload: insightId });
    res.sendStatus(202);
  });
};
