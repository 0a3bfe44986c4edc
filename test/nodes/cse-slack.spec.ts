import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { EventTopic, Insight } from "../../src/events/types";
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { modernInsight, realInsight, ruleAutoDisabledPayload, sensorOfflinePayload } from "../fakes/insights";
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

const slackNode = require("../../src/nodes/cse-slack");

const TOKEN = "xoxb-1234567890-SECRETTOKENVALUE";
const UI = "https://service.sumologic.com";

function flow(props: Record<string, unknown>) {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", type: "cse-slack", z: "f1", name: "SOC", channel: "C0123ABCD", apiUrl: "", timeout: 5000, maxAttempts: 4, ...props, wires: [["out"]] },
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

describe("cse-slack node", function () {
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

  async function load(props: Record<string, unknown> = {}, apiKey = TOKEN) {
    await helper.load(slackNode, flow({ apiUrl: `${peer.url}/api`, ...props }), { n1: { apiKey } });
    return { out: new Inbox("out"), caught: new Inbox("caught") };
  }

  it("posts the real INSIGHT-220 as text + blocks with entity, tactics, resolution and link, and outputs ts", async function () {
    peer.script({ status: 200, headers: { "content-type": "application/json" }, body: { ok: true, channel: "C0123ABCD", ts: "1764300000.000100" } });
    const { out } = await load();
    const insight = realInsight();
    helper.getNode("n1").receive(event("insight.closed", insight));
    const [msg] = await out.until(1);

    expect(msg.delivery).to.include({ action: "cse-slack", ok: true, status: 200, attempts: 1, id: "1764300000.000100" });
    const [req] = peer.requests;
    expect(req.method).to.equal("POST");
    expect(req.url).to.equal("/api/chat.postMessage");
    expect(req.headers.authorization).to.equal(`Bearer ${TOKEN}`);
    expect(req.headers["content-type"]).to.equal("application/json; charset=utf-8");
    expect(req.json.channel).to.equal("C0123ABCD");
    const link = `${UI}/sec/insight/${insight.id}`;
    for (const text of [req.json.text, JSON.stringify(req.json.blocks)]) {
      expect(text).to.contain("INSIGHT-220");
      expect(text).to.contain("testcomputer.somedomain.net");
      expect(text).to.contain("Initial Access").and.contain("Execution").and.contain("Defense Evasion").and.contain("Command and Control");
      expect(text).to.contain("No Action");
      expect(text).to.contain(`<${link}|Open in Cloud SIEM>`);
    }
    expect(req.json.blocks[0]).to.deep.include({ type: "header" });
  });

  it("treats HTTP 200 ok:false as a failure carrying Slack's code, without the token", async function () {
    peer.script({ status: 200, body: { ok: false, error: "channel_not_found" } });
    const { caught, out } = await load();
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain('cse-slack "SOC"').and.contain("channel_not_found");
    expect(msg.error.message).not.to.contain(TOKEN);
    expect(msg.delivery).to.include({ ok: false, attempts: 1, status: 200 });
    expect(peer.requests).to.have.length(1);
    expect(out.items).to.have.length(0);
    expect(visibleTexts()).not.to.contain(TOKEN);
  });

  it("retries ratelimited (429 with Retry-After) and internal_error, then delivers", async function () {
    peer.script(
      { status: 429, headers: { "retry-after": "2" }, body: { ok: false, error: "ratelimited" } },
      { status: 200, body: { ok: false, error: "internal_error" } },
      { status: 200, body: { ok: true, ts: "1764300000.000200" } },
    );
    const { out } = await load();
    helper.getNode("n1").receive(event("rule.autoDisabled", ruleAutoDisabledPayload()));
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ ok: true, attempts: 3, id: "1764300000.000200" });
    expect(peer.requests).to.have.length(3);
    expect(peer.requests[2].json.text).to.contain("Noisy login rule").and.contain("more than 100000 signals in one hour");
  });

  it("gives up after maxAttempts with the last status and code", async function () {
    peer.script({ status: 200, body: { ok: false, error: "service_unavailable" } });
    const { caught } = await load({ maxAttempts: 2 });
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain("service_unavailable");
    expect(msg.delivery).to.include({ ok: false, attempts: 2, status: 200 });
    expect(peer.requests).to.have.length(2);
  });

  it("shows a red status naming a blank channel and fails every message clearly, sending nothing", async function () {
    const { caught } = await load({ channel: "  " });
    const node = helper.getNode("n1") as any;
    expect(node.status.args[0][0]).to.include({ fill: "red", shape: "ring" });
    expect(node.status.args[0][0].text).to.match(/^channel: is required/);
    node.receive(event("insight.created", modernInsight()));
    node.receive(event("insight.created", modernInsight()));
    const msgs = await caught.until(2);
    for (const msg of msgs) expect(msg.error.message).to.match(/invalid configuration: channel: is required/);
    expect(peer.requests).to.have.length(0);
  });

  it("refuses an API URL that is not HTTPS (except loopback) and a missing token", async function () {
    const { caught } = await load({ apiUrl: "http://slack.example.com/api" });
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain("apiUrl: must start with https://");
    await helper.unload();
    const second = await load({}, "");
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [msg2] = await second.caught.until(1);
    expect(msg2.error.message).to.contain("apiKey: is required");
  });

  it("Test button: posts a sample Insight with the dialog's values, reusing the stored token", async function () {
    peer.script({ status: 200, body: { ok: true, ts: "1764300000.000300" } });
    await load();
    const res = await helper
      .request()
      .post("/cse-actions/test/cse-slack")
      .send({ id: "n1", properties: { channel: "#soc-test", apiUrl: `${peer.url}/api` }, credentials: { apiKey: "__PWRD__" } });
    expect(res.body).to.include({ ok: true, status: 200 });
    expect(res.body.message).to.contain("1764300000.000300");
    const req = peer.requests[0];
    expect(req.headers.authorization).to.equal(`Bearer ${TOKEN}`);
    expect(req.json.channel).to.equal("#soc-test");
    expect(req.json.text).to.contain("10.0.0.5");

    const bad = await helper.request().post("/cse-actions/test/cse-slack").send({ id: "n1", properties: { channel: "" }, credentials: {} });
    expect(bad.body.ok).to.equal(false);
    expect(bad.body.message).to.contain("channel: is required");
  });

  it("rejects a message that is not a Cloud SIEM event without crashing", async function () {
    const { caught } = await load();
    helper.getNode("n1").receive({ topic: "hello", payload: "world" });
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.match(/not a Cloud SIEM event/);
    expect(peer.requests).to.have.length(0);
  });

  it("runs the example flow: inject → cse-trigger → node, the rendered Insight reaches the peer", async function () {
    peer.script({ status: 200, body: { ok: true, ts: "1764300000.000900" } });
    const { flow, modules } = example("Slack - post Insight summaries to a channel");
    for (const n of flow) {
      if (n.type === "cse-slack") n.apiUrl = `${peer.url}/api`;
    }
    const node = flow.find((n: any) => n.type === "cse-slack");
    const id: string = node.id;
    await helper.load([...modules, slackNode], flow, { [id]: { apiKey: TOKEN } });
    (helper.getNode(flow.find((n: any) => n.type === "inject").id) as any).receive({});
    const [req] = await peer.waitForRequests(1);
    expect(req.json.channel).to.equal("#soc-alerts");
    expect(req.json.text).to.contain("INSIGHT-1234").and.contain("10.0.0.5").and.contain("Initial Access, Command and Control");
    expect(req.json.text).to.contain(`<${"https://service.sumologic.com/sec/insight/8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"}|Open in Cloud SIEM>`);
  });

  it("template: posts exactly the rendered mrkdwn as text (values escaped, no blocks) for every event type", async function () {
    peer.script({ status: 200, body: { ok: true, ts: "1764300000.000300" } });
    const { out } = await load({ template: EXAMPLE_TEMPLATE });
    const insight = hostileInsight();
    helper.getNode("n1").receive(event("insight.created", insight));
    await out.until(1);
    const escaped = HOSTILE_NAME.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    expect(peer.requests[0].json).to.deep.equal({
      channel: "C0123ABCD",
      text: exampleText(escaped, `${UI}/sec/insight/${insight.id}`),
      unfurl_links: false,
    });
    await helper.unload();
    const again = await load({ template: EVERY_EVENT_TEMPLATE });
    helper.getNode("n1").receive(event("sensor.offline", sensorOfflinePayload()));
    helper.getNode("n1").receive(event("rule.autoDisabled", ruleAutoDisabledPayload()));
    await again.out.until(2);
    expect(peer.requests.slice(1).map((r) => r.json.text).sort()).to.deep.equal([
      "rule.autoDisabled|Noisy login rule: more than 100000 signals in one hour",
      "sensor.offline|edge-sensor-7 in dmz",
    ]);
  });

  it("template: one that does not parse is a red status and a refusal naming node, field and line", async function () {
    const { caught } = await load({ template: BROKEN_TEMPLATE });
    await expectBrokenTemplateRefused(helper.getNode("n1"), caught, event("insight.created", modernInsight()), "template", 'cse-slack "SOC"');
    expect(peer.requests).to.have.length(0);
  });

  it("the shipped template example posts its own words for an Insight and for a sensor going offline", async function () {
    const { flow, modules } = example("Slack - a message in your own words (template)");
    for (const n of flow) {
      if (n.type === "cse-slack") n.apiUrl = `${peer.url}/api`;
    }
    const id: string = flow.find((n: any) => n.type === "cse-slack").id;
    await helper.load([...modules, slackNode], flow, { [id]: { apiKey: TOKEN } });
    const inject = (name: string) => (helper.getNode(flow.find((n: any) => n.type === "inject" && n.name === name).id) as any).receive({});
    inject("Sample Insight");
    const [insight] = await peer.waitForRequests(1);
    expect(insight.json).to.deep.equal({
      channel: "#soc-alerts",
      text:
        ":rotating_light: *HIGH* *INSIGHT-1234*: Initial Access with Command and Control\n" +
        "Entity: `10.0.0.5` · MITRE: Initial Access, Command and Control\n" +
        "<https://service.sumologic.com/sec/insight/8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b|Open in Cloud SIEM>\n",
      unfurl_links: false,
    });
    inject("Sample sensor offline");
    const [, sensor] = await peer.waitForRequests(2);
    expect(sensor.json.text).to.equal("*Network Sensor offline: edge-sensor-7*\nZone dmz, last seen 2026-11-28 02:00:00 UTC\n");
  });
});
