import { expect } from "chai";
import { TriggerRuntime, type TriggerPorts } from "../../src/nodes/trigger/runtime";
import { readTriggerSettings } from "../../src/nodes/trigger/settings";
import { modernInsight } from "../fakes/insights";

/** A context store in memory, answering through callbacks a tick later, as a non-cached store does. */
function callbackContext(failWrites = false) {
  const data = new Map<string, unknown>();
  return {
    data,
    get(key: string, _store: string | undefined, cb: (err: Error | null, value?: unknown) => void) {
      setImmediate(() => cb(null, data.get(key)));
    },
    set(key: string, value: unknown, _store: string | undefined, cb: (err?: Error | null) => void) {
      setImmediate(() => {
        if (failWrites) return cb(new Error("disk full"));
        data.set(key, value);
        cb(null);
      });
    },
  };
}

function runtime(config: Record<string, unknown> = {}, ports: Partial<TriggerPorts> = {}) {
  const sent: any[] = [];
  const errors: { err: Error; msg: any }[] = [];
  const context = callbackContext();
  const rt = new TriggerRuntime(readTriggerSettings({ onSensorOffline: true, ...config }), {
    context,
    send: (msg) => sent.push(msg),
    status: () => undefined,
    reportError: (err, msg) => errors.push({ err, msg }),
    uiUrl: () => undefined,
    ...ports,
  });
  return { rt, sent, errors, context };
}

describe("trigger runtime (the node without Node-RED)", () => {
  it("gives other event sources one emit path with switches and dedupe", async () => {
    const { rt, sent } = runtime();
    expect(await rt.emit("insight.created", modernInsight())).to.equal("sent");
    expect(await rt.emit("insight.created", modernInsight())).to.equal("duplicate");
    expect(await rt.emit("insight.closed", modernInsight())).to.equal("off");
    expect(await rt.emit("insight.onDemand", modernInsight())).to.equal("sent");
    expect(await rt.emit("insight.onDemand", modernInsight())).to.equal("sent");
    expect(sent.map((m) => m.topic)).to.deep.equal(["insight.created", "insight.onDemand", "insight.onDemand"]);
  });

  it("keeps the order of events whose dedupe checks overlap", async () => {
    const { rt, sent } = runtime({ onInsightClosed: true });
    const created = rt.emit("insight.created", modernInsight());
    const closed = rt.emit("insight.closed", modernInsight());
    const onDemand = rt.emit("insight.onDemand", modernInsight());
    await Promise.all([created, closed, onDemand]);
    expect(sent.map((m) => m.topic)).to.deep.equal(["insight.created", "insight.closed", "insight.onDemand"]);
  });

  it("does not send an event it could not record in the context store", async () => {
    const failing = callbackContext(true);
    const { rt, sent } = runtime({}, { context: failing });
    let error: Error | undefined;
    await rt.emit("insight.created", modernInsight()).catch((err) => (error = err));
    expect(error?.message).to.equal("cannot write the emitted event keys in the context store: disk full");
    expect(sent).to.have.length(0);
  });

  it("reports a context failure of a watchdog event, which no input is waiting for", async () => {
    const { rt, errors } = runtime({ sensorTimeout: "0.02" }, { context: callbackContext(true) });
    await rt.input({ topic: "sensor.heartbeat", payload: "s-1" }, () => undefined);
    while (errors.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(errors[0].err.message).to.match(/disk full/);
    expect(errors[0].msg).to.include({ topic: "sensor.offline" });
    rt.close();
  });

  it("stops watching sensors on close", async () => {
    const { rt, sent } = runtime({ sensorTimeout: "0.02" });
    await rt.input({ topic: "sensor.heartbeat", payload: "s-1" }, () => undefined);
    rt.close();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sent).to.have.length(0);
    expect(await rt.emit("insight.created", modernInsight())).to.equal("closed");
  });
});
