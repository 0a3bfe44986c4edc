import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { EventTopic, Insight } from "../../src/events/types";
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { closedModernInsight, hugeInsight, modernInsight, realInsight, ruleAutoDisabledPayload, sensorOfflinePayload } from "../fakes/insights";
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

const hipChatNode = require("../../src/nodes/cse-hipchat");

const UI = "https://service.sumologic.com";

function flow(props: Record<string, unknown>) {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", type: "cse-hipchat", z: "f1", name: "SOC", server: "", room: "SOC alerts", timeout: 5000, maxAttempts: 4, ...props, wires: [["out"]] },
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

const TOKEN = "hipchatRoomT0kenSECRET";

describe("cse-hipchat node", function () {
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
    await helper.load(hipChatNode, flow({ server: `${peer.url}/`, ...props }), { n1: { apiKey } });
    return { out: new Inbox("out"), caught: new Inbox("caught") };
  }

  it("sends an HTML room notification with entity, tactics, resolution and link; 204 is success", async function () {
    peer.script({ status: 204 });
    const { out } = await load();
    const insight = realInsight();
    helper.getNode("n1").receive(event("insight.closed", insight));
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ action: "cse-hipchat", ok: true, status: 204, attempts: 1 });
    const [req] = peer.requests;
    expect(req.url).to.equal("/v2/room/SOC%20alerts/notification");
    expect(req.headers.authorization).to.equal(`Bearer ${TOKEN}`);
    expect(req.json).to.include({ message_format: "html", color: "green", notify: true });
    const html: string = req.json.message;
    expect(html).to.contain("INSIGHT-220").and.contain("testcomputer.somedomain.net").and.contain("No Action");
    expect(html).to.contain("Initial Access, Execution, Defense Evasion, Command and Control");
    expect(html).to.contain(`<a href="${UI}/sec/insight/${insight.id}">Open in Cloud SIEM</a>`);
  });

  it("colours by severity and keeps a huge Insight within 10,000 characters", async function () {
    peer.script({ status: 204 });
    const { out } = await load();
    const node = helper.getNode("n1");
    node.receive(event("insight.created", modernInsight({ severity: "CRITICAL" })));
    node.receive(event("insight.created", hugeInsight()));
    await out.until(2);
    const critical = peer.requests.find((r) => !r.json.message.includes("… [truncated]"))!;
    const huge = peer.requests.find((r) => r.json.message.includes("… [truncated]"))!;
    expect(critical.json.color).to.equal("purple");
    expect(huge.json.message.length).to.be.at.most(10_000);
    expect(huge.json.message).to.contain("Open in Cloud SIEM").and.not.contain("<markup>");
  });

  it("retries a 429 until the rate limit resets, and fails a 404 (unknown room) at once without the token", async function () {
    peer.script(
      { status: 429, headers: { "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 1) }, body: { error: { code: 429, message: "Rate limit exceeded", type: "Too Many Requests" } } },
      { status: 204 },
      { status: 404, body: { error: { code: 404, message: "Room not found", type: "Not Found" } } },
    );
    const { out, caught } = await load();
    const node = helper.getNode("n1");
    node.receive(event("insight.created", modernInsight()));
    const [ok] = await out.until(1);
    expect(ok.delivery).to.include({ ok: true, attempts: 2, status: 204 });
    node.receive(event("insight.closed", closedModernInsight()));
    const [failed] = await caught.until(1);
    expect(failed.error.message).to.contain('cse-hipchat "SOC"').and.contain("HTTP 404");
    expect(failed.delivery).to.include({ ok: false, attempts: 1, status: 404 });
    expect(failed.error.message + visibleTexts()).not.to.contain(TOKEN);
  });

  it("requires the server URL: red status at deploy, a clear error for every message", async function () {
    const { caught } = await load({ server: "" });
    const node = helper.getNode("n1") as any;
    expect(node.status.args[0][0]).to.include({ fill: "red", shape: "ring" });
    expect(node.status.args[0][0].text).to.match(/^server: is required/);
    node.receive(event("insight.created", modernInsight()));
    node.receive(event("insight.created", modernInsight()));
    const msgs = await caught.until(2);
    for (const msg of msgs) expect(msg.error.message).to.contain("invalid configuration: server: is required");
    expect(peer.requests).to.have.length(0);
  });

  it("refuses a plain-http server that is not loopback, and a missing room", async function () {
    const first = await load({ server: "http://hipchat.example.com" });
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    expect((await first.caught.until(1))[0].error.message).to.contain("server: must start with https://");
    await helper.unload();
    const second = await load({ room: " " });
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    expect((await second.caught.until(1))[0].error.message).to.contain("room: is required");
  });

  it("runs the example flow: inject → cse-trigger → node, the rendered Insight reaches the peer", async function () {
    peer.script({ status: 204 });
    const { flow, modules } = example("HipChat - notify a room on HipChat Server");
    for (const n of flow) {
      if (n.type === "cse-hipchat") n.server = peer.url;
    }
    const node = flow.find((n: any) => n.type === "cse-hipchat");
    const id: string = node.id;
    await helper.load([...modules, hipChatNode], flow, { [id]: { apiKey: TOKEN } });
    (helper.getNode(flow.find((n: any) => n.type === "inject").id) as any).receive({});
    const [req] = await peer.waitForRequests(1);
    expect(req.url).to.equal("/v2/room/SOC%20alerts/notification");
    expect(req.json.message).to.contain("INSIGHT-1234").and.contain("10.0.0.5").and.contain("Initial Access, Command and Control");
    expect(req.json.message).to.contain(`<a href=${JSON.stringify("https://service.sumologic.com/sec/insight/8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b")}>Open in Cloud SIEM</a>`);
  });

  it("template: the HTML message is exactly the rendered template, values HTML-escaped, for every event type", async function () {
    peer.script({ status: 204 });
    const { out } = await load({ template: `<b>${EXAMPLE_TEMPLATE}</b>` });
    const insight = hostileInsight();
    helper.getNode("n1").receive(event("insight.created", insight));
    await out.until(1);
    const escaped = "Beacon &lt;b&gt;to&lt;/b&gt; C2 &amp; {{cse.key}} {{{link}}}";
    expect(peer.requests[0].json).to.include({ message: `<b>${exampleText(escaped, `${UI}/sec/insight/${insight.id}`)}</b>`, message_format: "html" });
    await helper.unload();
    const again = await load({ template: EVERY_EVENT_TEMPLATE });
    helper.getNode("n1").receive(event("sensor.offline", sensorOfflinePayload()));
    helper.getNode("n1").receive(event("rule.autoDisabled", ruleAutoDisabledPayload()));
    await again.out.until(2);
    expect(peer.requests.slice(1).map((r) => r.json.message).sort()).to.deep.equal([
      "rule.autoDisabled|Noisy login rule: more than 100000 signals in one hour",
      "sensor.offline|edge-sensor-7 in dmz",
    ]);
    expect(HOSTILE_NAME).to.include("<b>");
  });

  it("template: one that does not parse is a red status and a refusal naming node, field and line", async function () {
    const { caught } = await load({ template: BROKEN_TEMPLATE });
    await expectBrokenTemplateRefused(helper.getNode("n1"), caught, event("insight.created", modernInsight()), "template", 'cse-hipchat "SOC"');
    expect(peer.requests).to.have.length(0);
  });
});
