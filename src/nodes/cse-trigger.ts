import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { ClusterSettingError } from "../cluster/settings";
import { PollLoop } from "../cse/poll-loop";
import { asCseTenant } from "../cse/tenant";
import { isInsightId } from "../events/insight";
import { triggerOps } from "../ops/action-ops";
import { openTriggerBackend, type CheckpointStore, type PollRunner, type TriggerBackend } from "./trigger/backend";
import type { CallbackContext } from "./trigger/emitted-keys";
import { TriggerRuntime } from "./trigger/runtime";
import { ConfigError, readTriggerSettings, type TriggerConfig } from "./trigger/settings";
import { tenantView } from "./trigger/tenant";

export = function (RED: NodeAPI) {
  function CseTriggerNode(this: Node, config: NodeDef & TriggerConfig) {
    RED.nodes.createNode(this, config);
    let runtime: TriggerRuntime | undefined;
    let poll: PollRunner | undefined;
    let backend: TriggerBackend | undefined;
    let configError: Error | undefined;
    const closing = new AbortController();
    const ops = triggerOps(RED, this);

    try {
      const settings = readTriggerSettings(config);
      // Looked up when used: a tenant is optional and may be missing from the deployed flows.
      const tenant = () => (settings.tenantId ? tenantView(RED.nodes.getNode(settings.tenantId)) : undefined);
      const context = this.context() as unknown as CallbackContext;
      backend = openTriggerBackend(RED.settings as unknown as Record<string, unknown>, {
        nodeId: this.id,
        settings,
        context,
        status: (status) => this.status(status),
        log: (text) => this.log(text),
      });
      runtime = new TriggerRuntime(settings, {
        context,
        emittedKeys: backend.emittedKeys,
        sensors: backend.sensors,
        rules: backend.rules,
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
        poll = backend.polling((checkpoints) => pollLoop(this, settings.tenantId!, settings, runtime!, checkpoints));
        poll.start();
      }
    } catch (err) {
      configError = err as Error;
      const field = err instanceof ConfigError || err instanceof ClusterSettingError ? err.field : "configuration";
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
        (backend?.close() ?? Promise.resolve()).catch((err) => this.warn(`cse-trigger: ${err?.message ?? err}`)).finally(done);
      });
    });
  }

  /**
   * Polls the tenant (SPEC §3): new and closed Insights and auto-disabled rules go out through the
   * runtime's one emit path (switches, dedupe, msg.cse); the checkpoint lives where the backend keeps
   * it (the node's context store, or Redis in cluster mode); an outage reaches Catch once.
   */
  function pollLoop(node: Node, tenantId: string, settings: ReturnType<typeof readTriggerSettings>, runtime: TriggerRuntime, checkpoints: CheckpointStore): PollLoop {
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
        ...checkpoints,
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
