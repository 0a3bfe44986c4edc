/**
 * A burst of garbage into a running flow: random and malformed messages (fast-check samples) into cse-trigger
 * and straight into an action node. Node-RED keeps running, and every message is accounted for: the trigger
 * finishes each one (Catch for an error, Complete otherwise), and the action node delivers or reports each one.
 */
import { expect } from "chai";
import fc from "fast-check";
import helper from "node-red-node-test-helper";
import { startFaultyPeer, type FaultyPeer } from "../fakes/faulty-peer";
import { cseMeta, payload, topic } from "./arbitraries";
import { actionFlow, eventMsg, faultInsight, Inbox, nodeModules } from "./support";

helper.init(require.resolve("node-red"));

const GARBAGE = Number(process.env.CSE_BURST_MESSAGES) || 300;

/** Resolves when `count()` reaches `target`, polling (the counts come from several nodes). */
async function until(count: () => number, target: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (count() < target) {
    if (Date.now() > deadline) throw new Error(`only ${count()} of ${target} messages accounted for`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("a burst of garbage into the trigger and an action node", function () {
  this.timeout(120_000);
  let peer: FaultyPeer;

  before(async function () {
    peer = await startFaultyPeer({ countOnly: true });
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  after(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await peer.close();
  });

  it("keeps Node-RED running and accounts for every message", async function () {
    helper.settings({ cseDelayScale: 0.001, cseHttpPostAllowedPorts: [peer.port] } as any);
    const flow = [
      { id: "f1", type: "tab" },
      {
        id: "tr",
        z: "f1",
        type: "cse-trigger",
        onInsightCreated: true,
        onInsightClosed: true,
        onDemand: true,
        onSensorOffline: true,
        onRuleAutoDisabled: true,
        active: true,
        pollInterval: "0",
        dedupeWindow: "86400",
        wires: [["a1", "trOut"]],
      },
      { id: "trOut", z: "f1", type: "helper" },
      { id: "a1", z: "f1", type: "cse-http-post", name: "burst", url: `${peer.url}/in`, includeSignals: true, includeRecords: true, maxAttempts: 2, timeout: 5000, wires: [["a1Out"]] },
      { id: "a1Out", z: "f1", type: "helper" },
      { id: "catch-all", z: "f1", type: "catch", scope: null, uncaught: true, wires: [["caught"]] },
      { id: "caught", z: "f1", type: "helper" },
      { id: "complete-tr", z: "f1", type: "complete", scope: ["tr"], uncaught: false, wires: [["completed"]] },
      { id: "completed", z: "f1", type: "helper" },
    ];
    await helper.load([nodeModules["cse-trigger"], nodeModules["cse-http-post"]], flow, {});

    const counts = { trOut: 0, trCaught: 0, trCompleted: 0, a1Out: 0, a1Caught: 0, otherCaught: 0 };
    helper.getNode("trOut").on("input", () => counts.trOut++);
    helper.getNode("a1Out").on("input", () => counts.a1Out++);
    helper.getNode("completed").on("input", () => counts.trCompleted++);
    helper.getNode("caught").on("input", (msg: any) => {
      const source = msg.error?.source?.id;
      if (source === "tr") counts.trCaught++;
      else if (source === "a1") counts.a1Caught++;
      else counts.otherCaught++;
    });

    const garbage = fc.sample(fc.record({ topic, payload, cse: cseMeta }, { requiredKeys: [] }), { numRuns: GARBAGE, seed: 20261128 });
    const trigger = helper.getNode("tr");
    const action = helper.getNode("a1");
    for (const msg of garbage) {
      trigger.receive({ ...msg } as any);
      action.receive({ ...msg } as any);
    }

    // The trigger finishes every message: an error to Catch, or done() (Complete), emitting or not.
    await until(() => counts.trCaught + counts.trCompleted, GARBAGE);
    // The action node delivers or reports every message it got: the garbage and what the trigger emitted.
    await until(() => counts.a1Out + counts.a1Caught, GARBAGE + counts.trOut);
    await new Promise((r) => setTimeout(r, 100));
    expect(counts.trCaught + counts.trCompleted, "trigger: caught + completed").to.equal(GARBAGE);
    expect(counts.a1Out + counts.a1Caught, "action: delivered + caught").to.equal(GARBAGE + counts.trOut);
    expect(counts.otherCaught, "errors from elsewhere (uncaught)").to.equal(0);
    expect(peer.count, "each delivered message was one request").to.equal(counts.a1Out);
    // Both kinds really happened: some garbage was refused, some was a usable event.
    expect(counts.trCaught).to.be.greaterThan(0);
    expect(counts.trOut).to.be.greaterThan(0);
    expect(counts.a1Caught).to.be.greaterThan(0);
    console.log(`      burst: ${GARBAGE} garbage messages — trigger: ${counts.trOut} emitted, ${counts.trCaught} refused to Catch, ${counts.trCompleted} completed; action node: ${counts.a1Out} delivered, ${counts.a1Caught} refused to Catch`);

    // Still running: a good event goes through both.
    const before = counts.a1Out;
    trigger.receive(eventMsg(faultInsight(99)) as any);
    await until(() => counts.a1Out, before + 1);
  });

  it("a sensor.offline without a sensorId ends in Catch, clearly, and nothing is sent", async function () {
    await helper.unload();
    helper.settings({ cseDelayScale: 0.001 } as any);
    peer.script({ status: 200, body: { ok: true, ts: "1.1" } });
    await helper.load(nodeModules["cse-slack"], actionFlow("cse-slack", { channel: "#soc", apiUrl: `${peer.url}/api` }), { n1: { apiKey: "xoxb-burst" } });
    const caught = new Inbox("caught");
    const sent = peer.count;
    helper.getNode("n1").receive({ topic: "sensor.offline", payload: { sensorId: "" } } as any);
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.match(/not a Cloud SIEM event: sensor.offline payload needs a sensorId \(a non-empty string\)/);
    expect(msg.delivery).to.include({ ok: false });
    expect(peer.count).to.equal(sent);
  });
});
