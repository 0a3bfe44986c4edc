import { expect } from "chai";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import helper from "node-red-node-test-helper";
import { closedModernInsight, modernInsight, realInsightEnvelope } from "../fakes/insights";
import { Inbox } from "../support/node-test";

helper.init(require.resolve("node-red"));

const triggerNode = require("../../src/nodes/cse-trigger");
const httpInNode = require("@node-red/nodes/core/network/21-httpin.js");

const TRIGGER_DEFAULTS = {
  name: "",
  onInsightCreated: true,
  onInsightClosed: true,
  onDemand: true,
  onSensorOffline: true,
  onRuleAutoDisabled: true,
  active: true,
  tenant: "",
  pollInterval: "0",
  sensorTimeout: "900",
  signalLimitHour: "100000",
  signalLimitDay: "1000000",
  dedupeWindow: "86400",
  store: "",
};

/** A flow with the trigger `n1` wired to `out`, a Catch (`caught`) and a Complete (`completed`) node watching it. */
function flow(props: Record<string, unknown> = {}, extra: any[] = []) {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", type: "cse-trigger", z: "f1", ...TRIGGER_DEFAULTS, ...props, wires: [["out"]] },
    { id: "out", type: "helper", z: "f1" },
    { id: "c1", type: "catch", z: "f1", scope: ["n1"], uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "f1" },
    { id: "d1", type: "complete", z: "f1", scope: ["n1"], uncaught: false, wires: [["completed"]] },
    { id: "completed", type: "helper", z: "f1" },
    ...extra,
  ];
}

/** A stand-in `cse-tenant` config node until the real one exists: a UI URL and, optionally, a fetcher. */
function stubTenant(RED: any) {
  RED.nodes.registerType("cse-tenant", function (this: any, config: any) {
    RED.nodes.createNode(this, config);
    this.uiUrl = config.uiUrl;
    if (config.knows) {
      this.fetchInsight = async (id: string) => {
        if (id !== config.knows) throw new Error(`Insight ${id} was not found`);
        return modernInsight({ readableId: id });
      };
    }
  });
}

async function start(props: Record<string, unknown> = {}, extra: any[] = [], nodes: any[] = [triggerNode]) {
  await helper.load(nodes, flow(props, extra));
  return { out: new Inbox("out"), caught: new Inbox("caught"), completed: new Inbox("completed"), n1: helper.getNode("n1") as any };
}

describe("cse-trigger node", function () {
  beforeEach(function (done) {
    helper.startServer(done);
  });

  afterEach(function (done) {
    helper.unload().then(() => helper.stopServer(done));
  });

  it("turns a real Insight posted to http in into insight.closed, keeping msg.res so http response answers", async function () {
    let httpNode: any;
    const captureHttpNode = (RED: any) => {
      httpNode = RED.httpNode;
    };
    await helper.load([triggerNode, httpInNode, captureHttpNode], flow({}, [
      { id: "in", type: "http in", z: "f1", url: "/cse/insight", method: "post", wires: [["n1"]] },
      { id: "resp", type: "http response", z: "f1", statusCode: "200", wires: [] },
    ]).map((n) => (n.id === "n1" ? { ...n, wires: [["out", "resp"]] } : n)));
    const out = new Inbox("out");
    const server = http.createServer(httpNode);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const body = JSON.stringify(realInsightEnvelope().data);
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/cse/insight`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal(realInsightEnvelope().data);

      const [msg] = await out.until(1);
      expect(msg.topic).to.equal("insight.closed");
      expect(msg.payload).to.deep.equal(realInsightEnvelope().data);
      expect(msg.req).to.be.an("object");
      expect(msg.res).to.be.an("object");
      expect(msg.cse).to.include({ event: "insight.closed", key: "00853cdd-763e-3e31-a2e4-f74277922f9f:insight.closed" });
      expect(msg.cse.tactics.map((t: any) => t.name)).to.include("Command and Control");
      expect(msg.cse.entity).to.deep.equal({ type: "_hostname", value: "testcomputer.somedomain.net" });
    } finally {
      server.close();
    }
  });

  it("runs the webhook example: 202 for an Insight (and its duplicate), 400 with the reason for anything else", async function () {
    const example = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "examples", "Trigger - from an HTTP webhook.json"), "utf8"));
    let httpNode: any;
    const nodes = [
      triggerNode,
      httpInNode,
      require("@node-red/nodes/core/function/15-change.js"),
      require("@node-red/nodes/core/function/10-switch.js"),
      require("@node-red/nodes/core/common/20-inject.js"),
      require("@node-red/nodes/core/common/90-comment.js"),
      (RED: any) => {
        httpNode = RED.httpNode;
      },
    ];
    // The debug node needs the editor's comms; a helper node stands in for it.
    await helper.load(nodes, example.map((n: any) => (n.type === "debug" ? { id: n.id, z: n.z, type: "helper" } : n)));
    const events = new Inbox("cse.trigger.webhook.debug");
    const server = http.createServer(httpNode);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const post = (body: string) =>
      fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/cse/insight`, { method: "POST", headers: { "content-type": "application/json" }, body });
    try {
      const first = await post(JSON.stringify(realInsightEnvelope().data));
      expect([first.status, await first.json()]).to.deep.equal([202, { accepted: true }]);
      const again = await post(JSON.stringify(realInsightEnvelope().data));
      expect(again.status).to.equal(202);
      const junk = await post(JSON.stringify({ hello: "world" }));
      expect(junk.status).to.equal(400);
      expect((await junk.json()).error).to.match(/^Error: not a Cloud SIEM event/);
      const [event] = await events.until(1);
      expect(event.topic).to.equal("insight.closed");
      expect(events.items).to.have.length(1);
    } finally {
      server.close();
    }
  });

  it("emits every event form with its payload and msg.cse, keeping the message's other properties", async function () {
    const { out, n1 } = await start();
    const cases: [input: Record<string, unknown>, topic: string, payload: unknown, key: string][] = [
      [{ payload: modernInsight() }, "insight.created", modernInsight(), "8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b:insight.created"],
      [{ topic: "cse/x", payload: { data: closedModernInsight(), errors: [] } }, "insight.closed", closedModernInsight(), "8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b:insight.closed"],
      [{ topic: "insight.created", payload: JSON.stringify(modernInsight({ id: "json-1" })) }, "insight.created", modernInsight({ id: "json-1" }), "json-1:insight.created"],
      [{ topic: "insight.onDemand", payload: { data: modernInsight(), errors: [] } }, "insight.onDemand", modernInsight(), "8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b:insight.onDemand"],
      [{ topic: "sensor.offline", payload: { sensorId: "s-9", lastSeen: "2026-11-28T03:00:00" } }, "sensor.offline", { sensorId: "s-9", sensorName: "s-9", sensorZone: "default", lastSeen: "2026-11-28T03:00:00.000Z" }, "sensor:s-9:offline"],
      [{ topic: "rule.autoDisabled", payload: { ruleId: "R-1", ruleName: "Noisy", reason: "by test", disabledAt: "2026-11-28T03:00:00Z" } }, "rule.autoDisabled", { ruleId: "R-1", ruleName: "Noisy", reason: "by test", disabledAt: "2026-11-28T03:00:00.000Z" }, "rule:R-1:autoDisabled"],
    ];
    cases.forEach(([input], i) => n1.receive({ ...input, keep: i }));
    const msgs = await out.until(cases.length);
    cases.forEach(([, topic, payload, key], i) => {
      expect(msgs[i].topic, `case ${i}`).to.equal(topic);
      expect(msgs[i].payload, `case ${i}`).to.deep.equal(payload);
      expect(msgs[i].cse, `case ${i}`).to.include({ event: topic, key });
      expect(msgs[i].keep, `case ${i}`).to.equal(i);
    });
    expect(msgs[0].cse.tactics).to.deep.equal([{ id: "TA0001", name: "Initial Access" }, { id: "TA0011", name: "Command and Control" }]);
    expect(msgs[0].cse.entity).to.deep.equal({ type: "_ip", value: "10.0.0.5" });
    expect(n1.status.lastCall.args[0]).to.deep.equal({ fill: "green", shape: "dot", text: "rule.autoDisabled R-1" });
  });

  it("links the Insight in the configured tenant's UI, and fetches on demand through the tenant", async function () {
    const tenant = { id: "t1", type: "cse-tenant", uiUrl: "https://service.sumologic.com/", knows: "INSIGHT-77" };
    const { out, caught, n1 } = await start({ tenant: "t1" }, [tenant], [triggerNode, stubTenant]);
    n1.receive({ payload: modernInsight() });
    n1.receive({ topic: "insight.onDemand", payload: "INSIGHT-77" });
    n1.receive({ topic: "insight.onDemand", payload: "INSIGHT-78" });
    const msgs = await out.until(2);
    expect(msgs[0].cse.url).to.equal("https://service.sumologic.com/sec/insight/8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b");
    expect(msgs[1]).to.deep.include({ topic: "insight.onDemand", payload: modernInsight({ readableId: "INSIGHT-77" }) });
    const [err] = await caught.until(1);
    expect(err.error.message).to.equal("Error: Insight INSIGHT-78 was not found");
  });

  it("runs on demand from the editor's button, through the node's own input", async function () {
    const tenant = { id: "t1", type: "cse-tenant", uiUrl: "https://service.sumologic.com", knows: "INSIGHT-77" };
    const { out } = await start({ tenant: "t1" }, [tenant], [triggerNode, stubTenant]);
    await helper.request().post("/cse-trigger/n1/on-demand").send({ insightId: " INSIGHT-77 " }).expect(202);
    const [msg] = await out.until(1);
    expect(msg).to.deep.include({ topic: "insight.onDemand", payload: modernInsight({ readableId: "INSIGHT-77" }) });
    const bad = await helper.request().post("/cse-trigger/n1/on-demand").send({ insightId: "drop table" }).expect(400);
    expect(bad.text).to.equal('"drop table" is not an Insight ID (INSIGHT-123 or a UUID)');
    await helper.request().post("/cse-trigger/nope/on-demand").send({ insightId: "INSIGHT-1" }).expect(404);
    await helper.request().post("/cse-trigger/out/on-demand").send({ insightId: "INSIGHT-1" }).expect(404);
  });

  it("asks for a cse-tenant when insight.onDemand carries only an ID", async function () {
    const { out, caught, n1 } = await start();
    n1.receive({ topic: "insight.onDemand", payload: "INSIGHT-123" });
    const [err] = await caught.until(1);
    expect(err.error.message).to.match(/a cse-tenant is needed to fetch Insights by ID: set the node's "tenant" property/);
    expect(out.items).to.have.length(0);
  });

  it("drops each event whose switch is off, silently, and still completes the message", async function () {
    const { out, caught, completed, n1 } = await start({
      onInsightCreated: false,
      onInsightClosed: false,
      onDemand: false,
      onSensorOffline: false,
      onRuleAutoDisabled: false,
      signalLimitHour: "1",
      sensorTimeout: "0.05",
    });
    const inputs = [
      { payload: modernInsight() },
      { payload: closedModernInsight() },
      { topic: "insight.onDemand", payload: modernInsight() },
      { topic: "insight.onDemand", payload: "INSIGHT-1" },
      { topic: "sensor.offline", payload: { sensorId: "s" } },
      { topic: "sensor.heartbeat", payload: { sensorId: "s" } },
      { topic: "rule.autoDisabled", payload: { ruleId: "r" } },
      { topic: "signal", payload: { ruleId: "r" } },
      { topic: "signal", payload: { ruleId: "r" } },
    ];
    for (const msg of inputs) n1.receive(msg);
    await completed.until(inputs.length);
    // Had the heartbeat been watched, its 50 ms timeout would have fired well before this second round trip.
    await new Promise((resolve) => setTimeout(resolve, 150));
    n1.receive({ payload: modernInsight() });
    await completed.until(inputs.length + 1);
    expect(out.items).to.have.length(0);
    expect(caught.items).to.have.length(0);
  });

  it("drops everything when inactive, and says so in its status", async function () {
    const { out, caught, completed, n1 } = await start({ active: false });
    expect(n1.status.lastCall.args[0]).to.deep.equal({ fill: "grey", shape: "ring", text: "inactive" });
    n1.receive({ payload: modernInsight() });
    n1.receive({ topic: "insight.onDemand", payload: modernInsight() });
    n1.receive({ topic: "weather", payload: 1 });
    await completed.until(3);
    expect(out.items).to.have.length(0);
    expect(caught.items).to.have.length(0);
  });

  it("emits the same key once within the dedupe window, even when copies arrive together; on-demand runs always", async function () {
    const { out, completed, n1 } = await start();
    n1.receive({ payload: modernInsight() });
    n1.receive({ payload: modernInsight() });
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    n1.receive({ payload: closedModernInsight() });
    n1.receive({ payload: closedModernInsight() });
    n1.receive({ topic: "insight.onDemand", payload: modernInsight() });
    n1.receive({ topic: "insight.onDemand", payload: modernInsight() });
    await completed.until(7);
    expect(out.items.map((m) => m.topic)).to.deep.equal(["insight.created", "insight.closed", "insight.onDemand", "insight.onDemand"]);
    expect(n1.status.lastCall.args[0]).to.deep.equal({ fill: "green", shape: "dot", text: "insight.onDemand INSIGHT-1234" });
  });

  it("emits the same key again once the dedupe window has passed", async function () {
    const { out, completed, n1 } = await start({ dedupeWindow: "0.3" });
    n1.receive({ payload: modernInsight() });
    n1.receive({ payload: modernInsight() });
    await completed.until(2);
    expect(out.items).to.have.length(1);
    await new Promise((resolve) => setTimeout(resolve, 350));
    n1.receive({ payload: modernInsight() });
    await out.until(2);
  });

  describe("with a localfilesystem context store", function () {
    let dir: string;
    const h = helper as any;

    beforeEach(function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-trigger-ctx-"));
      helper.settings({
        contextStorage: {
          default: { module: "memory" },
          file: { module: "localfilesystem", config: { dir, cache: false } },
        },
      } as any);
    });

    afterEach(function () {
      helper.settings({});
      fs.rmSync(dir, { recursive: true, force: true });
    });

    // The test helper neither opens configured context stores nor keeps them across load/unload
    // (unload cleans every node's context), so a restart is played here as the runtime does it.
    async function loadWithStores(props: Record<string, unknown>) {
      await helper.load(triggerNode, flow(props));
      await h._context.load();
      return { out: new Inbox("out"), completed: new Inbox("completed"), n1: helper.getNode("n1") as any };
    }

    async function restartNodeRed() {
      await h._redNodes.stopFlows();
      await h._context.close();
      h._redNodes.clearRegistry();
      h._logSpy?.restore();
      h._sandbox.restore();
    }

    it("keeps emitted keys across a redeploy and a restart of Node-RED", async function () {
      const first = await loadWithStores({ store: "file" });
      first.n1.receive({ payload: modernInsight() });
      await first.out.until(1);
      const saved = JSON.parse(fs.readFileSync(path.join(dir, "context", "f1", "n1.json"), "utf8"));
      expect(Object.keys(saved.emittedKeys)).to.deep.equal(["8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b:insight.created"]);

      await helper.setFlows(flow({ store: "file", name: "redeployed" }), "full");
      const redeployed = { out: new Inbox("out"), completed: new Inbox("completed"), n1: helper.getNode("n1") as any };
      redeployed.n1.receive({ payload: modernInsight() });
      redeployed.n1.receive({ payload: closedModernInsight() });
      await redeployed.completed.until(2);
      expect(redeployed.out.items.map((m) => m.topic)).to.deep.equal(["insight.closed"]);

      await restartNodeRed();
      const restarted = await loadWithStores({ store: "file" });
      restarted.n1.receive({ payload: modernInsight() });
      restarted.n1.receive({ payload: closedModernInsight() });
      restarted.n1.receive({ payload: modernInsight({ id: "new-one" }) });
      await restarted.completed.until(3);
      expect(restarted.out.items.map((m) => m.cse.key)).to.deep.equal(["new-one:insight.created"]);
    });

    it("forgets emitted keys on restart when its store is the memory store", async function () {
      const first = await loadWithStores({ store: "" });
      first.n1.receive({ payload: modernInsight() });
      await first.out.until(1);
      await restartNodeRed();
      const restarted = await loadWithStores({ store: "" });
      restarted.n1.receive({ payload: modernInsight() });
      await restarted.out.until(1);
    });
  });

  it("reports a silent sensor once per outage, and again after it recovers and falls silent", async function () {
    // No dedupe here: the watchdog itself must not repeat an outage.
    const { out, n1 } = await start({ sensorTimeout: "0.1", dedupeWindow: "0" });
    n1.receive({ topic: "sensor.heartbeat", payload: { sensorId: "s-1", sensorName: "Edge", sensorZone: "dmz" } });
    const [first] = await out.until(1);
    expect(first.topic).to.equal("sensor.offline");
    expect(first.payload).to.include({ sensorId: "s-1", sensorName: "Edge", sensorZone: "dmz" });
    expect(first.payload.lastSeen).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(first.cse).to.include({ event: "sensor.offline", key: "sensor:s-1:offline" });

    // s-2's whole outage takes longer than s-1's next check would, so a repeat of s-1 would show first.
    n1.receive({ topic: "sensor.heartbeat", payload: { sensorId: "s-2" } });
    await out.until(2);
    expect(out.items.map((m) => m.payload.sensorId)).to.deep.equal(["s-1", "s-2"]);
  });

  it("reports a new outage of a sensor that recovered, within the dedupe window", async function () {
    const { out, n1 } = await start({ sensorTimeout: "0.1", dedupeWindow: "86400" });
    n1.receive({ topic: "sensor.heartbeat", payload: "s-1" });
    await out.until(1);
    n1.receive({ topic: "sensor.heartbeat", payload: "s-1" });
    await out.until(2);
    expect(out.items.map((m) => `${m.topic} ${m.payload.sensorId}`)).to.deep.equal(["sensor.offline s-1", "sensor.offline s-1"]);
  });

  it("reports a rule over the hourly limit once", async function () {
    const { out, completed, n1 } = await start({ signalLimitHour: "3", signalLimitDay: "1000" });
    const signal = { ...modernInsight().signals![0], ruleName: "Login from new country" };
    for (let i = 0; i < 10; i++) n1.receive({ topic: "signal", payload: signal });
    await completed.until(10);
    expect(out.items).to.have.length(1);
    expect(out.items[0].topic).to.equal("rule.autoDisabled");
    expect(out.items[0].payload).to.include({ ruleId: "MATCH-S00475", ruleName: "Login from new country", reason: "more than 3 signals in one hour" });
    expect(out.items[0].cse.key).to.equal("rule:MATCH-S00475:autoDisabled");
  });

  it("reports a rule over the daily limit once", async function () {
    const { out, completed, n1 } = await start({ signalLimitHour: "100", signalLimitDay: "5" });
    for (let i = 0; i < 10; i++) n1.receive({ topic: "signal", payload: JSON.stringify({ ruleId: "R-7", name: "Noisy rule" }) });
    await completed.until(10);
    expect(out.items.map((m) => m.payload.reason)).to.deep.equal(["more than 5 signals in 24 hours"]);
    expect(out.items[0].payload.ruleName).to.equal("Noisy rule");
  });

  it("sends bad input to Catch with a clear message and keeps running", async function () {
    const { out, caught, n1 } = await start();
    const { id: _id, ...noId } = modernInsight();
    n1.receive({ payload: '{"id": "x",' });
    n1.receive({ payload: { hello: "world" } });
    n1.receive({ topic: "insight.created", payload: noId });
    n1.receive({ topic: "weather.report", payload: "sunny" });
    const errors = (await caught.until(4)).map((m) => m.error.message);
    expect(errors[0]).to.match(/^Error: payload is not valid JSON: /);
    expect(errors[1]).to.equal("Error: not a Cloud SIEM event: no topic and the payload is an object that is not an Insight");
    expect(errors[2]).to.equal('Error: Insight INSIGHT-1234 has no id: an Insight needs its "id" field (the UUID the CSE API gives it)');
    expect(errors[3]).to.equal('Error: not a Cloud SIEM event: topic "weather.report" and the payload is a string that is not an Insight');
    expect(caught.items.every((m) => m.error.source.id === "n1")).to.equal(true);

    n1.receive({ payload: modernInsight() });
    const [msg] = await out.until(1);
    expect(msg.topic).to.equal("insight.created");
  });

  for (const [field, value] of [["pollInterval", "every minute"], ["sensorTimeout", "0"], ["signalLimitHour", "1.5"], ["signalLimitDay", "-1"], ["dedupeWindow", "abc"]]) {
    it(`shows a red status at deploy and rejects every message when ${field} is ${JSON.stringify(value)}`, async function () {
      const { out, caught, n1 } = await start({ [field]: value });
      expect(n1.status.lastCall.args[0]).to.deep.equal({ fill: "red", shape: "ring", text: `invalid ${field}` });
      n1.receive({ payload: modernInsight() });
      const [err] = await caught.until(1);
      expect(err.error.message).to.match(new RegExp(`^Error: ${field} must be .*\\(got "${value}"\\)$`));
      expect(out.items).to.have.length(0);
    });
  }

  it("shows a red status naming cseCluster.url, never its password, when the cluster setting is wrong", async function () {
    helper.settings({ cseCluster: { url: "http://:s3cret@redis.local:6379" } } as any);
    try {
      const { out, caught, n1 } = await start();
      expect(n1.status.lastCall.args[0]).to.deep.equal({ fill: "red", shape: "ring", text: "invalid cseCluster.url" });
      n1.receive({ payload: modernInsight() });
      const [err] = await caught.until(1);
      expect(err.error.message).to.match(/^ClusterSettingError: cseCluster\.url: must start with redis:\/\/ or rediss:\/\//).and.not.contain("s3cret");
      expect(out.items).to.have.length(0);
    } finally {
      helper.settings({});
    }
  });
});
