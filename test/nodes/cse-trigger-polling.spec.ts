import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import { startCsePeer, type CsePeer } from "../fakes/cse-peer";
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { Inbox, inboxesBeforeStart, stopInboxes } from "../support/node-test";

helper.init(require.resolve("node-red"));

const triggerNode = require("../../src/nodes/cse-trigger");
const tenantNode = require("../../src/nodes/cse-tenant");
const catchNode = require("@node-red/nodes/core/common/25-catch.js");
const commentNode = require("@node-red/nodes/core/common/90-comment.js");
const debugNode = require("@node-red/nodes/core/common/21-debug.js");

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

const TRIGGER = {
  name: "poller",
  onInsightCreated: true,
  onInsightClosed: true,
  onDemand: true,
  onSensorOffline: false,
  onRuleAutoDisabled: true,
  active: true,
  tenant: "t1",
  pollInterval: "0.02",
  sensorTimeout: "900",
  signalLimitHour: "100000",
  signalLimitDay: "1000000",
  dedupeWindow: "86400",
  store: "",
};

describe("cse-trigger polling a tenant", function () {
  let peer: CsePeer;

  function flow(props: Record<string, unknown> = {}) {
    return [
      { id: "f1", type: "tab" },
      { id: "t1", type: "cse-tenant", name: "tenant", apiUrl: peer.apiUrl, uiUrl: "https://service.sumologic.com" },
      { id: "n1", type: "cse-trigger", z: "f1", ...TRIGGER, ...props, wires: [["out"]] },
      { id: "out", type: "helper", z: "f1" },
      { id: "c1", type: "catch", z: "f1", scope: ["n1"], uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper", z: "f1" },
    ];
  }
  const creds = () => ({ t1: { accessId: peer.accessId, accessKey: peer.accessKey } });
  /** Polls of new Insights the tenant has answered or refused so far. */
  const polls = () => peer.requests.filter((r) => r.path === "/insights" && /^created:/.test(r.query.q ?? "")).length;
  const rulePolls = () => peer.requests.filter((r) => r.path === "/rules").length;

  async function start(props: Record<string, unknown> = {}) {
    helper.settings({ cseDelayScale: 0.001 } as any);
    await helper.load([tenantNode, triggerNode], flow(props), creds());
    return { out: new Inbox("out"), caught: new Inbox("caught"), n1: helper.getNode("n1") as any };
  }

  beforeEach(async function () {
    peer = await startCsePeer();
  });
  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(function (done) {
    helper.settings({});
    helper.unload().then(() => helper.stopServer(done));
  });
  afterEach(async function () {
    await peer.close();
  });

  it("emits Insights created and closed after it started exactly once each, none from before", async function () {
    const before = peer.addInsight(new Date(Date.now() - 3_600_000));
    const closedBefore = peer.addInsight(new Date(Date.now() - 7_200_000));
    peer.closeInsight(closedBefore.id, new Date(Date.now() - 60_000));
    const { out, caught } = await start();
    const created = peer.addInsight(new Date(Date.now() + 500));
    const [first] = await out.until(1);
    expect(first).to.deep.include({ topic: "insight.created" });
    expect(first.payload.id).to.equal(created.id);
    expect(first.cse).to.include({ event: "insight.created", key: `${created.id}:insight.created`, url: `https://service.sumologic.com/sec/insight/${created.id}` });
    peer.closeInsight(created.id, new Date(Date.now() + 500));
    peer.closeInsight(before.id, new Date(Date.now() + 500));
    await out.until(3);
    const seen = polls();
    await until(() => polls() >= seen + 5, "five more polls");
    expect(out.items.map((m) => `${m.topic} ${m.payload.readableId}`).sort()).to.deep.equal(
      [`insight.created ${created.readableId}`, `insight.closed ${created.readableId}`, `insight.closed ${before.readableId}`].sort(),
    );
    expect(out.items.find((m) => m.topic === "insight.closed" && m.payload.id === before.id).payload.resolution).to.equal("Resolved");
    expect(caught.items).to.have.length(0);
    const created0 = peer.requests.find((r) => /^created:/.test(r.query.q ?? ""))!;
    expect(created0.query.q).to.match(/^created:>=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    expect(created0.query).to.include({ limit: "50", offset: "0" });
    expect(peer.requests.some((r) => /^status:"closed" closed:>=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(r.query.q ?? ""))).to.equal(true);
  });

  it("fires for a rule Cloud SIEM disabled, not for one disabled by hand nor one FAILED before it started", async function () {
    peer.addRule("MATCH-U00001", "Noisy rule");
    peer.addRule("MATCH-U00002", "Retired rule");
    peer.addRule("MATCH-U00003", "Broken long ago");
    peer.setRuleStatus("MATCH-U00003", "FAILED", "old");
    const { out } = await start({ onInsightCreated: false, onInsightClosed: false });
    await until(() => rulePolls() >= 2, "two rule polls");
    peer.setRuleStatus("MATCH-U00002", "DISABLED", null, false);
    peer.setRuleStatus("MATCH-U00001", "FAILED", "Rule exceeded the limit of 100000 signals per hour");
    const [msg] = await out.until(1);
    const seen = rulePolls();
    await until(() => rulePolls() >= seen + 4, "four more rule polls");
    expect(out.items).to.have.length(1);
    expect(msg.topic).to.equal("rule.autoDisabled");
    expect(msg.payload).to.include({ ruleId: "MATCH-U00001", ruleName: "Noisy rule", reason: "Rule exceeded the limit of 100000 signals per hour" });
    expect(msg.cse.key).to.equal("rule:MATCH-U00001:autoDisabled");
    expect(peer.requests.some((r) => /created:|closed:/.test(r.query.q ?? ""))).to.equal(false);
  });

  it("emits a polled Insight once even with the dedupe window off (the windows overlap)", async function () {
    const { out } = await start({ dedupeWindow: "0", onInsightClosed: false, onRuleAutoDisabled: false });
    const created = peer.addInsight(new Date(Date.now() + 500));
    await out.until(1);
    const seen = polls();
    await until(() => polls() >= seen + 5, "five more polls");
    expect(out.items.map((m) => m.payload.id)).to.deep.equal([created.id]);
  });

  it("shows the last poll time and counts", async function () {
    const { out, n1 } = await start();
    peer.addInsight(new Date(Date.now() + 500));
    await out.until(1);
    await until(() => n1.status.args.some((a: any[]) => /^polled \d\d:\d\d:\d\d: 1 new, 0 closed, 0 rules$/.test(a[0]?.text ?? "")), "a status with the counts");
  });

  it("tells Catch once per outage and shows it red", async function () {
    peer.failAll({ status: 401, body: { errors: [{ code: "Unauthorized", message: "Unauthorized" }] } });
    const { caught, n1, out } = await start();
    await until(() => polls() >= 5, "five failing polls");
    expect(caught.items).to.have.length(1);
    const [err] = caught.items;
    expect(err.error.message).to.match(/HTTP 401.*check the access key \/ Cloud SIEM role/);
    expect(JSON.stringify(err)).not.to.contain(peer.accessKey);
    expect(n1.status.args.some((a: any[]) => a[0]?.fill === "red" && /poll failed/.test(a[0]?.text))).to.equal(true);
    // recovered, then a second outage is a second report
    peer.failAll(undefined);
    const later = peer.addInsight(new Date(Date.now() + 500));
    await out.until(1);
    expect(out.items[0].payload.id).to.equal(later.id);
    peer.failAll({ status: 503 });
    await caught.until(2);
    const seen = polls();
    await until(() => polls() >= seen + 3, "three more failing polls");
    expect(caught.items).to.have.length(2);
  });

  it("does not poll without a tenant or with pollInterval 0", async function () {
    const { n1 } = await start({ pollInterval: "0" });
    n1.receive({ topic: "insight.onDemand", payload: "INSIGHT-404" });
    await until(() => peer.requests.length >= 1, "the on-demand fetch");
    await new Promise((r) => setTimeout(r, 60));
    expect(peer.requests.map((r) => r.path)).to.deep.equal(["/insights/INSIGHT-404"]);
  });

  it("fetches insight.onDemand by ID through the tenant; an unknown ID reaches Catch as not found", async function () {
    const known = peer.addInsight(new Date(Date.now() - 86_400_000));
    const { out, caught, n1 } = await start({ pollInterval: "0" });
    n1.receive({ topic: "insight.onDemand", payload: known.readableId });
    n1.receive({ topic: "insight.onDemand", payload: known.readableId });
    n1.receive({ topic: "insight.onDemand", payload: "INSIGHT-999999" });
    const msgs = await out.until(2);
    expect(msgs.map((m) => m.topic)).to.deep.equal(["insight.onDemand", "insight.onDemand"]);
    expect(msgs[0].payload.id).to.equal(known.id);
    expect(msgs[0].cse.url).to.equal(`https://service.sumologic.com/sec/insight/${known.id}`);
    const [err] = await caught.until(1);
    expect(err.error.message).to.match(/Insight INSIGHT-999999 was not found/);
    expect(err.payload).to.equal("INSIGHT-999999");
  });

  it("runs an Insight ID from the editor button's admin route", async function () {
    const known = peer.addInsight(new Date(Date.now() - 86_400_000));
    const { out, caught } = await start({ pollInterval: "0" });
    await helper.request().post("/cse-trigger/n1/on-demand").send({ insightId: known.id }).expect(202);
    const [msg] = await out.until(1);
    expect(msg).to.deep.include({ topic: "insight.onDemand" });
    expect(msg.payload.readableId).to.equal(known.readableId);
    await helper.request().post("/cse-trigger/n1/on-demand").send({ insightId: "INSIGHT-424242" }).expect(202);
    const [err] = await caught.until(1);
    expect(err.error.message).to.match(/Insight INSIGHT-424242 was not found/);
  });

  describe("across a restart with a localfilesystem context store", function () {
    let dir: string;
    const h = helper as any;

    beforeEach(function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-poll-ctx-"));
    });
    afterEach(function () {
      stopInboxes();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    // The test helper does not open configured context stores, and its unload() wipes every node's
    // context: so the stores are opened before the flows start, and a restart stops the flows and
    // closes the stores the way the runtime does, without unload().
    async function startNodeRed() {
      helper.settings({ cseDelayScale: 0.001, contextStorage: { default: { module: "localfilesystem", config: { dir, cache: true, flushInterval: 30 } } } } as any);
      await helper.load([tenantNode, triggerNode, catchNode], []);
      await h._context.load();
      // The first poll emits what happened while stopped, possibly before setFlows() has resolved.
      const inboxes = inboxesBeforeStart("out", "caught");
      // (helper.setFlows listens for flows:started only after deploying, and can miss it)
      await h._redNodes.setFlows(flow({ pollInterval: "0.02" }), creds(), "full", true, true);
      await until(() => !!helper.getNode("out") && !!helper.getNode("caught"), "the flow to start");
      return inboxes;
    }
    async function stopNodeRed() {
      stopInboxes();
      await h._redNodes.stopFlows();
      await h._context.close();
      h._redNodes.clearRegistry();
      h._logSpy?.restore();
      h._sandbox.restore();
    }

    it("emits what was created or closed while stopped, once, and repeats nothing", async function () {
      const first = await startNodeRed();
      const a = peer.addInsight(new Date(Date.now() + 200));
      await first.out.until(1);
      const b = peer.addInsight(new Date(Date.now() + 200));
      await first.out.until(2);
      const seen = polls();
      await until(() => polls() >= seen + 2, "two more polls");
      await stopNodeRed();
      expect(first.out.items.map((m) => m.payload.id)).to.deep.equal([a.id, b.id]);
      const saved = JSON.parse(fs.readFileSync(path.join(dir, "context", "f1", "n1.json"), "utf8"));
      expect(saved).to.have.property("pollCheckpoint");
      expect(Object.keys(saved.emittedKeys)).to.have.members([`${a.id}:insight.created`, `${b.id}:insight.created`]);

      // While Node-RED is stopped: one new Insight, and an old one closed.
      const whileStopped = peer.addInsight(new Date(Date.now() - 10));
      peer.closeInsight(a.id, new Date(Date.now() - 10));
      const stoppedAt = peer.requests.length;
      expect(stoppedAt).to.be.greaterThan(0);

      const second = await startNodeRed();
      await second.out.until(2);
      const again = polls();
      await until(() => polls() >= again + 4, "four more polls after the restart");
      expect(second.out.items.map((m) => `${m.topic} ${m.payload.id}`).sort()).to.deep.equal([`insight.created ${whileStopped.id}`, `insight.closed ${a.id}`].sort());
      expect(second.caught.items).to.have.length(0);
      await stopNodeRed();
    });
  });
});

describe("example: Poll my tenant and post new Insights to Slack", function () {
  let peer: CsePeer;
  let slack: HttpPeer;
  beforeEach(async function () {
    peer = await startCsePeer();
    slack = await startHttpPeer();
    slack.script({ status: 200, body: { ok: true, channel: "C0123ABCD", ts: "1764300000.000100" } });
  });
  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(function (done) {
    helper.settings({});
    helper.unload().then(() => helper.stopServer(done));
  });
  afterEach(async function () {
    await peer.close();
    await slack.close();
  });

  it("posts an Insight created after deploy to Slack, once", async function () {
    const file = path.join(__dirname, "..", "..", "examples", "Poll my tenant and post new Insights to Slack.json");
    const nodes: any[] = JSON.parse(fs.readFileSync(file, "utf8"));
    const tenant = nodes.find((n) => n.type === "cse-tenant");
    const trigger = nodes.find((n) => n.type === "cse-trigger");
    const post = nodes.find((n) => n.type === "cse-slack");
    expect(tenant.apiUrl).to.equal("https://api.sumologic.com/api/sec/v1");
    expect(trigger.tenant).to.equal(tenant.id);
    expect(nodes.filter((n) => n.type === "comment")).to.have.length.at.least(1);
    tenant.apiUrl = peer.apiUrl;
    trigger.pollInterval = "0.02";
    post.apiUrl = `${slack.url}/api`;
    helper.settings({ cseDelayScale: 0.001 } as any);
    await helper.load([tenantNode, triggerNode, require("../../src/nodes/cse-slack"), catchNode, commentNode, debugNode], nodes, {
      [tenant.id]: { accessId: peer.accessId, accessKey: peer.accessKey },
      [post.id]: { apiKey: "xoxb-test-token" },
    });
    const insight = peer.addInsight(new Date(Date.now() + 500));
    const [request] = await slack.waitForRequests(1);
    expect(request.url).to.equal("/api/chat.postMessage");
    expect(request.json.channel).to.equal("#soc");
    expect(request.body).to.contain(insight.readableId);
    const seen = peer.requests.length;
    await until(() => peer.requests.length >= seen + 9, "three more polls");
    expect(slack.requests).to.have.length(1);
  });
});
