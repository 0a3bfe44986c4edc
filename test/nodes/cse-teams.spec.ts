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

const teamsNode = require("../../src/nodes/cse-teams");

const UI = "https://service.sumologic.com";
const PATH = "/powerautomate/automations/direct/workflows/0f1e2d3c4b5a/triggers/manual/paths/invoke";
const QUERY = "?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=S1gnatureSECRETvalue42";

function flow(props: Record<string, unknown>) {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", type: "cse-teams", z: "f1", name: "SOC channel", format: "adaptive", timeout: 5000, maxAttempts: 4, ...props, wires: [["out"]] },
    { id: "out", type: "helper", z: "f1" },
    { id: "c1", type: "catch", z: "f1", scope: ["n1"], uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "f1" },
  ];
}

const event = (topic: EventTopic, payload: Insight | object) => eventMessage(topic, payload, UI);

function visibleTexts(): string {
  const node = helper.getNode("n1") as any;
  const statuses = node.status.args.map((a: any[]) => JSON.stringify(a[0]));
  const logs = helper.log().args.map((a: any[]) => JSON.stringify(a[0]));
  return [...statuses, ...logs].join("\n");
}

describe("cse-teams node", function () {
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

  async function load(props: Record<string, unknown> = {}, url = `${peer.url}${PATH}${QUERY}`) {
    await helper.load(teamsNode, flow(props), { n1: { url } });
    return { out: new Inbox("out"), caught: new Inbox("caught") };
  }

  it("posts the Workflows envelope with an Adaptive Card 1.4 and accepts 202 with an empty body", async function () {
    peer.script({ status: 202 });
    const { out } = await load();
    const insight = realInsight();
    helper.getNode("n1").receive(event("insight.closed", insight));
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ action: "cse-teams", ok: true, status: 202, attempts: 1 });

    const [req] = peer.requests;
    expect(req.url).to.equal(PATH + QUERY);
    expect(req.headers["content-type"]).to.match(/^application\/json/);
    expect(req.json.type).to.equal("message");
    const att = req.json.attachments[0];
    expect(att.contentType).to.equal("application/vnd.microsoft.card.adaptive");
    expect(att.content).to.include({ type: "AdaptiveCard", version: "1.4" });
    const link = `${UI}/sec/insight/${insight.id}`;
    expect(att.content.actions).to.deep.equal([{ type: "Action.OpenUrl", title: "Open in Cloud SIEM", url: link }]);
    const facts = att.content.body.find((b: any) => b.type === "FactSet").facts;
    expect(facts).to.deep.include({ title: "Entity", value: "testcomputer.somedomain.net (hostname)" });
    expect(facts).to.deep.include({ title: "MITRE tactics", value: "Initial Access, Execution, Defense Evasion, Command and Control" });
    expect(facts).to.deep.include({ title: "Resolution", value: "No Action" });
    expect(JSON.stringify(att.content.body)).to.contain("INSIGHT-220");
    expect(att.content.body[0].style).to.equal("good");
  });

  it("keeps a huge Insight's request body within 28,672 bytes", async function () {
    peer.script({ status: 202 });
    const { out } = await load();
    helper.getNode("n1").receive(event("insight.created", hugeInsight()));
    await out.until(1);
    expect(peer.requests[0].raw.length).to.be.at.most(28_672);
    expect(peer.requests[0].body).to.contain("… [truncated]").and.contain("Open in Cloud SIEM");
  });

  it("sends a legacy MessageCard; a 200 with error text fails, a 200 reporting 429 is retried", async function () {
    peer.script(
      { status: 200, body: "Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0" },
      { status: 200, body: "1" },
      { status: 200, body: "Summary or Text is required." },
    );
    const { out, caught } = await load({ format: "messagecard" });
    const node = helper.getNode("n1");
    node.receive(event("insight.created", modernInsight()));
    const [ok] = await out.until(1);
    expect(ok.delivery).to.include({ ok: true, attempts: 2, status: 200 });
    expect(peer.requests[0].json["@type"]).to.equal("MessageCard");
    expect(peer.requests[0].json.potentialAction[0].targets[0].uri).to.equal(`${UI}/sec/insight/${modernInsight().id}`);

    node.receive(event("insight.closed", closedModernInsight()));
    const [failed] = await caught.until(1);
    expect(failed.error.message).to.contain("Summary or Text is required");
    expect(failed.delivery).to.include({ ok: false, attempts: 1, status: 200 });
  });

  it("fails a 4xx at once without the webhook URL's path or query in error, status or logs", async function () {
    peer.script({ status: 400, body: "Bad Request" });
    const { caught } = await load();
    helper.getNode("n1").receive(event("sensor.offline", sensorOfflinePayload()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain('cse-teams "SOC channel"').and.contain("HTTP 400");
    expect(peer.requests[0].body).to.contain("edge-sensor-7").and.contain("dmz");
    for (const text of [msg.error.message, JSON.stringify(msg.delivery), visibleTexts()]) {
      expect(text).not.to.contain("S1gnatureSECRETvalue42");
      expect(text).not.to.contain("0f1e2d3c4b5a");
    }
  });

  it("refuses a webhook URL that is not HTTPS: red status at deploy, an error per message", async function () {
    const { caught } = await load({}, "http://teams.example.com/hook?sig=S1gnatureSECRETvalue42");
    const node = helper.getNode("n1") as any;
    expect(node.status.args[0][0]).to.include({ fill: "red", shape: "ring" });
    expect(node.status.args[0][0].text).to.match(/^url: must start with https/);
    node.receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain("invalid configuration: url: must start with https://");
    expect(msg.error.message).not.to.contain("S1gnatureSECRETvalue42");
    expect(peer.requests).to.have.length(0);
  });

  it("runs the example flow: inject → cse-trigger → node, the rendered Insight reaches the peer", async function () {
    peer.script({ status: 202 });
    const { flow, modules } = example("Microsoft Teams - post Insight cards to a channel");
    const node = flow.find((n: any) => n.type === "cse-teams");
    const id: string = node.id;
    await helper.load([...modules, teamsNode], flow, { [id]: { url: `${peer.url}${PATH}${QUERY}` } });
    (helper.getNode(flow.find((n: any) => n.type === "inject").id) as any).receive({});
    const [req] = await peer.waitForRequests(1);
    expect(JSON.stringify(req.json.attachments[0].content)).to.contain("INSIGHT-1234").and.contain("10.0.0.5").and.contain("Initial Access, Command and Control");
    expect(req.json.attachments[0].content.actions[0].url).to.equal("https://service.sumologic.com/sec/insight/8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b");
  });

  it("template: the card's text is exactly the rendered template (plain), with the Open button, for every event type", async function () {
    peer.script({ status: 202 });
    const { out } = await load({ template: EXAMPLE_TEMPLATE });
    const insight = hostileInsight();
    helper.getNode("n1").receive(event("insight.created", insight));
    await out.until(1);
    const link = `${UI}/sec/insight/${insight.id}`;
    const card = peer.requests[0].json.attachments[0].content;
    expect(card.body).to.deep.equal([{ type: "TextBlock", text: exampleText(HOSTILE_NAME, link), wrap: true }]);
    expect(card.actions).to.deep.equal([{ type: "Action.OpenUrl", title: "Open in Cloud SIEM", url: link }]);
    await helper.unload();
    const again = await load({ template: EVERY_EVENT_TEMPLATE, format: "messagecard" });
    peer.script({ status: 200, body: "1" });
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
    await expectBrokenTemplateRefused(helper.getNode("n1"), caught, event("insight.created", modernInsight()), "template", 'cse-teams "SOC channel"');
    expect(peer.requests).to.have.length(0);
  });
});
