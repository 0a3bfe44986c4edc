import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { EventTopic, Insight } from "../../src/events/types";
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { closedModernInsight, modernInsight, realInsight, realInsightEnvelope, ruleAutoDisabledPayload, sensorOfflinePayload } from "../fakes/insights";
import { Inbox, eventMessage } from "../support/node-test";
import { BROKEN_TEMPLATE, expectBrokenTemplateRefused, EVERY_EVENT_TEMPLATE, EXAMPLE_TEMPLATE, exampleText, HOSTILE_NAME, hostileInsight } from "../support/templates";

helper.init(require.resolve("node-red"));

/** The shipped example flow, with the core and trigger nodes it needs. */
const CORE = path.join(path.dirname(require.resolve("@node-red/nodes/package.json")), "core", "common");
function example(file: string): { flow: any[]; modules: unknown[] } {
  const flow = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "examples", `${file}.json`), "utf8"));
  const modules = ["20-inject.js", "21-debug.js", "90-comment.js"].map((f) => require(path.join(CORE, f)));
  return { flow, modules: [...modules, require("../../src/nodes/cse-trigger")] };
}

const pagerDutyNode = require("../../src/nodes/cse-pagerduty");

const UI = "https://service.sumologic.com";

function flow(props: Record<string, unknown>) {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", type: "cse-pagerduty", z: "f1", name: "SOC", apiVersion: "v2", subdomain: "acme", apiUrl: "", timeout: 5000, maxAttempts: 4, ...props, wires: [["out"]] },
    { id: "out", type: "helper", z: "f1" },
    { id: "c1", type: "catch", z: "f1", scope: ["n1"], uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "f1" },
  ];
}

const event = (topic: EventTopic, payload: Insight | object) => eventMessage(topic, payload, UI);

/** Everything a user could see from the node: status texts, log lines. */
function visibleTexts(): string {
  const node = helper.getNode("n1") as any;
  const statuses = node.status.args.map((a: any[]) => JSON.stringify(a[0]));
  const logs = helper.log().args.map((a: any[]) => JSON.stringify(a[0]));
  return [...statuses, ...logs].join("\n");
}

const KEY = "R0UTINGKEY0123456789abcdefSECRET";

describe("cse-pagerduty node", function () {
  let peer: HttpPeer;

  beforeEach(async function () {
    peer = await startHttpPeer();
    helper.settings({ cseDelayScale: 0.001 } as any);
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });

  afterEach(async function () {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    helper.settings({});
    await peer.close();
  });

  async function load(props: Record<string, unknown> = {}, serviceKey = KEY) {
    await helper.load(pagerDutyNode, flow({ apiUrl: peer.url, ...props }), { n1: { serviceKey } });
    return { out: new Inbox("out"), caught: new Inbox("caught") };
  }

  const accepted = (key: string) => ({ status: 202, body: { status: "success", message: "Event processed", dedup_key: key } });

  it("triggers a v2 incident for the real Insight and resolves it with the same dedup_key when it closes", async function () {
    peer.script(accepted("INSIGHT-220"));
    const { out } = await load();
    const node = helper.getNode("n1");
    const open = { ...realInsight(), status: { name: "new", displayName: "New" }, closed: null, resolution: null };
    node.receive(event("insight.created", open));
    const [created] = await out.until(1);
    expect(created.delivery).to.include({ action: "cse-pagerduty", ok: true, status: 202, attempts: 1, id: "INSIGHT-220" });

    const trigger = peer.requests[0];
    expect(trigger.url).to.equal("/v2/enqueue");
    expect(trigger.json).to.include({ routing_key: KEY, event_action: "trigger", dedup_key: "INSIGHT-220" });
    expect(trigger.json.payload).to.include({ severity: "error", source: "testcomputer.somedomain.net", timestamp: "2021-02-22T16:28:25.003Z" });
    expect(trigger.json.payload.summary).to.contain("INSIGHT-220").and.contain("testcomputer.somedomain.net").and.contain("Defense Evasion");
    expect(trigger.json.payload.custom_details.tactics).to.include.members(["Initial Access", "Execution", "Defense Evasion", "Command and Control"]);
    expect(trigger.json.links).to.deep.equal([
      { href: `${UI}/sec/insight/${open.id}`, text: "Open INSIGHT-220 in Cloud SIEM" },
      { href: "https://acme.pagerduty.com", text: "PagerDuty" },
    ]);

    node.receive(event("insight.closed", realInsight()));
    const [closed] = await out.until(2).then((all) => all.slice(1));
    expect(closed.delivery).to.include({ ok: true, id: "INSIGHT-220" });
    expect(peer.requests[1].json).to.deep.equal({ routing_key: KEY, event_action: "resolve", dedup_key: "INSIGHT-220" });
  });

  it("maps every severity and keys sensor and rule events by their own ids", async function () {
    peer.script({ status: 202, body: { status: "success", message: "Event processed" } });
    const { out } = await load();
    const node = helper.getNode("n1");
    ["LOW", "MEDIUM", "HIGH", "CRITICAL"].forEach((severity, i) =>
      node.receive(event("insight.created", modernInsight({ severity, readableId: `INSIGHT-${i}` }))),
    );
    node.receive(event("sensor.offline", sensorOfflinePayload()));
    node.receive(event("rule.autoDisabled", ruleAutoDisabledPayload()));
    await out.until(6);
    const byKey = new Map(peer.requests.map((r) => [r.json.dedup_key, r.json]));
    expect(["INSIGHT-0", "INSIGHT-1", "INSIGHT-2", "INSIGHT-3"].map((k) => byKey.get(k).payload.severity)).to.deep.equal(["info", "warning", "error", "critical"]);
    expect(byKey.get("sensor:sensor-7").payload.summary).to.contain("edge-sensor-7").and.contain("dmz");
    expect(byKey.get("rule:MATCH-S00475").payload.summary).to.contain("Noisy login rule");
    const sensorMsg = out.items.find((m) => m.topic === "sensor.offline");
    expect(sensorMsg.delivery.id).to.equal("sensor:sensor-7");
  });

  it("retries v2 429 and 5xx, then delivers", async function () {
    peer.script({ status: 429, headers: { "retry-after": "1" } }, { status: 503 }, accepted("INSIGHT-1234"));
    const { out } = await load();
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ ok: true, attempts: 3, status: 202 });
    expect(peer.requests.map((r) => r.json.dedup_key)).to.deep.equal(["INSIGHT-1234", "INSIGHT-1234", "INSIGHT-1234"]);
  });

  it("fails a v2 400 at once with PagerDuty's words and without the key", async function () {
    peer.script({
      status: 400,
      body: { status: "invalid event", message: "Event object is invalid", errors: ["Length of 'routing_key' is incorrect (should be 32 characters)"] },
    });
    const { caught } = await load();
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain('cse-pagerduty "SOC"').and.contain("HTTP 400").and.contain("invalid event");
    expect(msg.error.message).not.to.contain(KEY);
    expect(msg.delivery).to.include({ ok: false, attempts: 1, status: 400 });
    expect(visibleTexts()).not.to.contain(KEY);
  });

  it("speaks Events API v1: create_event.json, 403 throttle retried, close resolves the incident_key", async function () {
    peer.script(
      { status: 403, body: { status: "throttle exceeded", message: "Requests for this service are arriving too quickly. Please retry later." } },
      { status: 200, body: { status: "success", message: "Event processed", incident_key: "INSIGHT-1234" } },
    );
    const { out } = await load({ apiVersion: "v1", subdomain: "" });
    const node = helper.getNode("n1");
    node.receive(event("insight.created", modernInsight()));
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ ok: true, attempts: 2, status: 200, id: "INSIGHT-1234" });
    const req = peer.requests[1];
    expect(req.url).to.equal("/generic/2010-04-15/create_event.json");
    expect(req.json).to.include({ service_key: KEY, event_type: "trigger", incident_key: "INSIGHT-1234" });
    expect(req.json.description).to.contain("10.0.0.5").and.contain("Initial Access, Command and Control");
    expect(req.json.contexts).to.deep.equal([{ type: "link", href: `${UI}/sec/insight/${modernInsight().id}`, text: "Open INSIGHT-1234 in Cloud SIEM" }]);

    node.receive(event("insight.closed", closedModernInsight()));
    await out.until(2);
    expect(peer.requests[2].json).to.include({ service_key: KEY, event_type: "resolve", incident_key: "INSIGHT-1234" });
  });

  it("takes a bare Insight envelope as insight.onDemand (a trigger, not a resolve)", async function () {
    peer.script(accepted("INSIGHT-220"));
    const { out } = await load();
    helper.getNode("n1").receive({ payload: realInsightEnvelope() });
    await out.until(1);
    expect(peer.requests[0].json).to.include({ event_action: "trigger", dedup_key: "INSIGHT-220" });
  });

  it("refuses a missing key, a bad subdomain and a non-HTTPS API URL at deploy", async function () {
    for (const [props, key, expected] of [
      [{}, "", /serviceKey: is required/],
      [{ subdomain: "https://acme.pagerduty.com" }, KEY, /subdomain: must be the account's subdomain/],
      [{ apiUrl: "http://events.pagerduty.example" }, KEY, /apiUrl: must start with https:\/\//],
    ] as const) {
      const { caught } = await load(props, key);
      const node = helper.getNode("n1") as any;
      expect(node.status.args[0][0]).to.include({ fill: "red", shape: "ring" });
      node.receive(event("insight.created", modernInsight()));
      const [msg] = await caught.until(1);
      expect(msg.error.message).to.match(expected);
      await helper.unload();
    }
    expect(peer.requests).to.have.length(0);
  });

  it("runs the example flow: inject → cse-trigger → node, the rendered Insight reaches the peer", async function () {
    peer.script(accepted("INSIGHT-1234"));
    const { flow, modules } = example("PagerDuty - open and resolve incidents for Insights");
    for (const n of flow) {
      if (n.type === "cse-pagerduty") n.apiUrl = peer.url;
    }
    const node = flow.find((n: any) => n.type === "cse-pagerduty");
    const id: string = node.id;
    await helper.load([...modules, pagerDutyNode], flow, { [id]: { serviceKey: KEY } });
    (helper.getNode(flow.find((n: any) => n.type === "inject").id) as any).receive({});
    await peer.waitForRequests(1);
    expect(peer.requests[0].json).to.include({ event_action: "trigger", dedup_key: "INSIGHT-1234" });
    expect(peer.requests[0].json.links[0].href).to.equal("https://service.sumologic.com/sec/insight/8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b");
    (helper.getNode("pd.close") as any).receive({});
    await peer.waitForRequests(2);
    expect(peer.requests[1].json).to.deep.equal({ routing_key: KEY, event_action: "resolve", dedup_key: "INSIGHT-1234" });
  });

  it("template: payload.summary (v1: description) is exactly the rendered template, for every event type", async function () {
    peer.script(accepted("INSIGHT-1234"));
    const { out } = await load({ template: EXAMPLE_TEMPLATE });
    const insight = hostileInsight();
    helper.getNode("n1").receive(event("insight.created", insight));
    await out.until(1);
    expect(peer.requests[0].json.payload.summary).to.equal(exampleText(HOSTILE_NAME, `${UI}/sec/insight/${insight.id}`));
    expect(peer.requests[0].json).to.include({ event_action: "trigger", dedup_key: "INSIGHT-1234" });
    await helper.unload();
    const again = await load({ template: EVERY_EVENT_TEMPLATE, apiVersion: "v1" });
    peer.script({ status: 200, body: { status: "success", message: "Event processed", incident_key: "x" } });
    helper.getNode("n1").receive(event("sensor.offline", sensorOfflinePayload()));
    helper.getNode("n1").receive(event("rule.autoDisabled", ruleAutoDisabledPayload()));
    await again.out.until(2);
    expect(peer.requests.slice(1).map((r) => r.json.description).sort()).to.deep.equal([
      "rule.autoDisabled|Noisy login rule: more than 100000 signals in one hour",
      "sensor.offline|edge-sensor-7 in dmz",
    ]);
  });

  it("template: one that does not parse is a red status and a refusal naming node, field and line", async function () {
    const { caught } = await load({ template: BROKEN_TEMPLATE });
    await expectBrokenTemplateRefused(helper.getNode("n1"), caught, event("insight.created", modernInsight()), "template", 'cse-pagerduty "SOC"');
    expect(peer.requests).to.have.length(0);
  });
});
