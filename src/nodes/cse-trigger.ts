import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { isInsightId } from "../events/insight";
import type { CallbackContext } from "./trigger/emitted-keys";
import { TriggerRuntime } from "./trigger/runtime";
import { ConfigError, readTriggerSettings, type TriggerConfig } from "./trigger/settings";
import { tenantView } from "./trigger/tenant";

export = function (RED: NodeAPI) {
  function CseTriggerNode(this: Node, config: NodeDef & TriggerConfig) {
    RED.nodes.createNode(this, config);
    let runtime: TriggerRuntime | undefined;
    let configError: Error | undefined;

    try {
      const settings = readTriggerSettings(config);
      // Looked up when used: a tenant is optional and may be missing from the deployed flows.
      const tenant = () => (settings.tenantId ? tenantView(RED.nodes.getNode(settings.tenantId)) : undefined);
      runtime = new TriggerRuntime(settings, {
        context: this.context() as unknown as CallbackContext,
        send: (msg) => this.send(msg as NodeMessage),
        status: (status) => this.status(status),
        reportError: (err, msg) => this.error(err, msg),
        uiUrl: () => tenant()?.uiUrl,
        fetchInsight: settings.tenantId
          ? (id) => {
              const fetch = tenant()?.fetchInsight;
              if (!fetch) throw new Error(`the cse-tenant configured in "tenant" (${settings.tenantId}) is not deployed`);
              return fetch(id);
            }
          : undefined,
      });
      // Polling (with a tenant and pollInterval > 0) starts here and sends through runtime.emit(topic, payload).
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
        runtime.input(msg as Record<string, any>, (out) => send(out as NodeMessage)).then(
          () => done(),
          (err) => done(err),
        );
      } catch (err) {
        done(err as Error);
      }
    });

    this.on("close", (_removed: boolean, done: () => void) => {
      runtime?.close();
      done();
    });
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
