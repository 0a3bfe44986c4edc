import { expect } from "chai";
import { Redis } from "ioredis";
import helper from "node-red-node-test-helper";
import { cseMetaFor } from "../../src/events/meta";
import type { Insight } from "../../src/events/types";
import { startCsePeer, type CsePeer } from "../fakes/cse-peer";
import { modernInsight } from "../fakes/insights";
import { startRfPeer, type RfPeer } from "../fakes/rf-peer";
import { Inbox } from "../support/node-test";
import { RedisServer } from "../support/redis-server";

helper.init(require.resolve("node-red"));

const rfNode = require("../../src/nodes/cse-recorded-future");
const tenantNode = require("../../src/nodes/cse-tenant");

const SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function event(insight: Insight) {
  return { topic: "insight.created", payload: insight, cse: cseMetaFor("insight.created", insight) };
}

/** An Insight whose records hold these IPs (as dstDevice_ip) and one private source. */
function insightWith(n: number, ips: string[], records = ips.length): Insight {
  const insight = modernInsight({ id: `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`, readableId: `INSIGHT-${n}` }, 0);
  insight.signals = [
    { id: `sig-${n}`, name: "s", allRecords: Array.from({ length: records }, (_, i) => ({ srcDevice_ip: "10.0.0.5", dstDevice_ip: ips[i % ips.length] })) },
  ];
  return insight;
}

describe("cse-recorded-future node", function () {
  let rf: RfPeer;
  let cse: CsePeer;
  let out: Inbox;
  let caught: Inbox;

  beforeEach(async function () {
    rf = await startRfPeer();
    cse = await startCsePeer();
    rf.know("ip", "185.220.101.4", 89, 3, 5, "Current C&C Server");
    rf.know("domain", "evil.example.net", 45, 2, 2, "Recently Linked to Malware");
    rf.know("hash", SHA256, 20, 1, 1, "Historically Reported");
  });
  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(function (done) {
    helper.settings({});
    helper.unload().then(() => helper.stopServer(done));
  });
  afterEach(async function () {
    await rf.close();
    await cse.close();
  });

  async function load(props: Record<string, unknown> = {}, withTenant = false) {
    helper.settings({ cseDelayScale: 0.001 } as any);
    const flow: any[] = [
      { id: "f1", type: "tab" },
      { id: "n1", type: "cse-recorded-future", z: "f1", name: "RF", apiUrl: rf.apiUrl, enrichInsights: true, enrichSignals: false, cacheTtl: 3600, tenant: withTenant ? "t1" : "", timeout: 5000, maxAttempts: 3, ...props, wires: [["out"]] },
      { id: "out", type: "helper", z: "f1" },
      { id: "c1", type: "catch", z: "f1", scope: ["n1"], uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper", z: "f1" },
    ];
    const creds: Record<string, unknown> = { n1: { apiToken: rf.token } };
    if (withTenant) {
      flow.push({ id: "t1", type: "cse-tenant", apiUrl: cse.apiUrl, uiUrl: "https://service.sumologic.com" });
      creds.t1 = { accessId: cse.accessId, accessKey: cse.accessKey };
    }
    await helper.load([rfNode, tenantNode], flow, creds);
    out = new Inbox("out");
    caught = new Inbox("caught");
  }

  it("looks up the Insight's public indicators in one bulk call and puts the results on msg.enrichments", async function () {
    await load();
    helper.getNode("n1").receive(event(modernInsight()));
    const [msg] = await out.until(1);
    expect(rf.requests).to.have.length(1);
    const req = rf.requests[0];
    expect(req.method).to.equal("POST");
    expect(req.url).to.equal("/v2/soar/enrichment");
    expect(req.headers["x-rftoken"]).to.equal(rf.token);
    expect(req.json).to.deep.equal({ ip: ["185.220.101.4"], domain: ["evil.example.net", "c2.example.org"], hash: [SHA256] });
    expect(req.body).not.to.contain("10.0.0.5");
    const byIndicator = Object.fromEntries(msg.enrichments.insight.map((r: any) => [r.indicator, r]));
    expect(Object.keys(byIndicator).sort()).to.deep.equal(["185.220.101.4", SHA256, "evil.example.net"].sort());
    expect(byIndicator["185.220.101.4"]).to.include({ type: "ip", score: 89, level: 3, riskString: "5/64", rules: 5, mostCritical: "Current C&C Server" });
    expect(byIndicator["evil.example.net"]).to.include({ type: "domain", score: 45, level: 2 });
    expect(byIndicator[SHA256]).to.include({ type: "hash", score: 20 });
    expect(msg.enrichments.signals).to.deep.equal({});
    expect(msg.delivery).to.include({ action: "cse-recorded-future", ok: true, status: 200 });
  });

  it("N messages sharing K indicators cost K look-ups, even when they arrive together", async function () {
    await load();
    const shared = ["185.220.101.4", "45.33.32.156", "8.8.8.8", "1.1.1.1"];
    for (let n = 1; n <= 12; n++) helper.getNode("n1").receive(event(insightWith(n, shared)));
    const msgs = await out.until(12);
    expect(rf.asked().sort()).to.deep.equal(shared.map((ip) => `ip:${ip}`).sort());
    expect(msgs.every((m) => m.enrichments.insight.length === 1 && m.enrichments.insight[0].indicator === "185.220.101.4")).to.equal(true);
  });

  it("an Insight with 1,000 records sharing 20 public indicators costs at most 20 look-ups; private IPs are never looked up", async function () {
    await load();
    const ips = Array.from({ length: 20 }, (_, i) => `45.33.${i}.7`);
    const insight = insightWith(1, ips, 1000);
    insight.signals!.push({ id: "sig-b", allRecords: Array.from({ length: 1000 }, (_, i) => ({ srcDevice_ip: `192.168.${i % 250}.1`, dstDevice_ip: ips[i % 20], device_ip: "127.0.0.1" })) });
    helper.getNode("n1").receive(event(insight));
    await out.until(1);
    expect(rf.requests).to.have.length(1);
    expect(rf.asked()).to.have.length(20);
    expect(rf.asked().every((a) => a.startsWith("ip:45.33."))).to.equal(true);
  });

  it("treats 404 as nothing known, not a failure", async function () {
    rf.notFoundWhenEmpty = true;
    await load();
    helper.getNode("n1").receive(event(insightWith(1, ["45.33.32.156"])));
    const [msg] = await out.until(1);
    expect(msg.enrichments).to.deep.equal({ insight: [], signals: {} });
    expect(msg.delivery).to.include({ ok: true, status: 404 });
    expect(caught.items).to.have.length(0);
    // nothing known is remembered too
    helper.getNode("n1").receive(event(insightWith(2, ["45.33.32.156"])));
    await out.until(2);
    expect(rf.requests).to.have.length(1);
  });

  it("enriches each signal with enrichSignals", async function () {
    await load({ enrichInsights: false, enrichSignals: true });
    const insight = modernInsight();
    insight.signals![0].allRecords = [{ dstDevice_ip: "185.220.101.4" }];
    insight.signals![1].allRecords = [{ dns_query: "evil.example.net" }, { srcDevice_ip: "10.1.1.1" }];
    helper.getNode("n1").receive(event(insight));
    const [msg] = await out.until(1);
    expect(msg.enrichments.insight).to.deep.equal([]);
    expect(msg.enrichments.signals[insight.signals![0].id!].map((r: any) => r.indicator)).to.deep.equal(["185.220.101.4"]);
    expect(msg.enrichments.signals[insight.signals![1].id!].map((r: any) => r.indicator)).to.deep.equal(["evil.example.net"]);
    expect(rf.requests).to.have.length(1);
  });

  it("writes the results back to the tenant as the enrichment \"Recorded Future\"", async function () {
    await load({ enrichSignals: true }, true);
    const insight = modernInsight();
    helper.getNode("n1").receive(event(insight));
    await out.until(1);
    const puts = cse.requests.filter((r) => r.method === "PUT");
    expect(puts.map((r) => r.rawPath)).to.deep.equal([
      `/api/sec/v1/insights/${insight.id}/enrichments/Recorded%20Future`,
      `/api/sec/v1/signals/${insight.signals![0].id}/enrichments/Recorded%20Future`,
      `/api/sec/v1/signals/${insight.signals![1].id}/enrichments/Recorded%20Future`,
    ]);
    const body = cse.enrichments.get(`insights/${insight.id}/Recorded Future`) as any;
    expect(Object.keys(body).sort()).to.deep.equal(["detail", "externalUrl", "raw", "reputation"]);
    expect(body.reputation).to.equal("malicious");
    expect(body.externalUrl).to.equal("https://app.recordedfuture.com/live/sc/entity/ip%3A185.220.101.4");
    expect(body.detail).to.include({ source: "Recorded Future", indicatorsChecked: 4, indicatorsKnown: 3, highestScore: 89 });
    expect(body.detail.indicators[0]).to.deep.equal({ indicator: "185.220.101.4", type: "ip", score: 89, level: 3, riskString: "5/64", rules: 5, mostCritical: "Current C&C Server" });
    expect(JSON.parse(body.raw)).to.have.length(3);
    expect(JSON.stringify(body)).not.to.contain(rf.token);
    expect(rf.requests).to.have.length(1);
  });

  it("reputation follows the highest level: suspicious, then notflagged", async function () {
    await load({}, true);
    const a = insightWith(1, ["45.33.32.156"]);
    a.signals![0].allRecords!.push({ dns_query: "evil.example.net" });
    const b = insightWith(2, ["45.33.32.157"]);
    rf.know("ip", "45.33.32.157", 10, 1);
    helper.getNode("n1").receive(event(a));
    helper.getNode("n1").receive(event(b));
    await out.until(2);
    expect((cse.enrichments.get(`insights/${a.id}/Recorded Future`) as any).reputation).to.equal("suspicious");
    expect((cse.enrichments.get(`insights/${b.id}/Recorded Future`) as any).reputation).to.equal("notflagged");
  });

  it("retries a 429 from Recorded Future, and a rejected token reaches Catch without the token", async function () {
    await load();
    rf.fail({ status: 429, headers: { "Retry-After": "1" } });
    helper.getNode("n1").receive(event(insightWith(1, ["185.220.101.4"])));
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ ok: true, attempts: 2 });
    rf.fail({ status: 401, body: { error: { status: 401, message: "Unauthorized" } } });
    helper.getNode("n1").receive(event(insightWith(2, ["45.33.32.156"])));
    const [failure] = await caught.until(1);
    expect(failure.error.message).to.match(/Recorded Future answered HTTP 401/);
    expect(JSON.stringify(failure)).not.to.contain(rf.token);
    expect(failure.delivery).to.include({ ok: false, status: 401 });
  });

  it("a failed write-back reaches Catch", async function () {
    await load({}, true);
    cse.failAll({ status: 403, body: { errors: [{ code: "Forbidden", message: "no enrichment capability" }] } });
    helper.getNode("n1").receive(event(modernInsight()));
    const [failure] = await caught.until(1);
    expect(failure.error.message).to.match(/writing the enrichment to Cloud SIEM failed: .*HTTP 403.*check the access key \/ Cloud SIEM role/);
    expect(JSON.stringify(failure)).not.to.contain(cse.accessKey);
  });

  it("passes sensor and rule events through with empty enrichments and no look-up", async function () {
    await load();
    const payload = { ruleId: "MATCH-S1", ruleName: "r", reason: "x", disabledAt: "2026-11-28T03:00:00.000Z" };
    helper.getNode("n1").receive({ topic: "rule.autoDisabled", payload, cse: cseMetaFor("rule.autoDisabled", payload) });
    const [msg] = await out.until(1);
    expect(msg.enrichments).to.deep.equal({ insight: [], signals: {} });
    expect(rf.requests).to.have.length(0);
  });

  it("refuses a plain-http API URL and a missing token at deploy", async function () {
    helper.settings({ cseDelayScale: 0.001 } as any);
    const flow: any[] = [
      { id: "f1", type: "tab" },
      { id: "n1", type: "cse-recorded-future", z: "f1", apiUrl: "http://api.recordedfuture.com/v2", wires: [[]] },
      { id: "c1", type: "catch", z: "f1", scope: ["n1"], uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper", z: "f1" },
    ];
    await helper.load([rfNode, tenantNode], flow, { n1: { apiToken: "x" } });
    caught = new Inbox("caught");
    helper.getNode("n1").receive(event(modernInsight()));
    const [failure] = await caught.until(1);
    expect(failure.error.message).to.match(/apiUrl: must use https/);
  });
});

describe("cse-recorded-future node in cluster mode (cseCluster, real redis-server)", function () {
  this.timeout(15_000);
  const redis = new RedisServer();
  let rf: RfPeer;
  let out: Inbox;
  let probe: Redis | undefined;
  before(() => redis.start());
  after(() => redis.remove());
  beforeEach(async function () {
    rf = await startRfPeer();
    rf.know("ip", "185.220.101.4", 89, 3, 5, "Current C&C Server");
  });
  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(function (done) {
    helper.settings({});
    helper.unload().then(() => helper.stopServer(done));
  });
  afterEach(async function () {
    await rf.close();
    await probe?.quit();
    probe = undefined;
  });

  it("uses the results another replica stored in Redis and stores its own for them, without the token in any key", async function () {
    helper.settings({ cseDelayScale: 0.001, cseCluster: { url: redis.url, prefix: "rfnode" } } as any);
    const flow = [
      { id: "f1", type: "tab" },
      { id: "n1", type: "cse-recorded-future", z: "f1", name: "RF", apiUrl: rf.apiUrl, enrichInsights: true, cacheTtl: 600, timeout: 5000, maxAttempts: 1, wires: [["out"]] },
      { id: "out", type: "helper", z: "f1" },
    ];
    // What the other replica already learned about 45.33.32.156 (same node id, shared key).
    const seeded = { indicator: "45.33.32.156", type: "ip", score: 77, level: 3, riskString: "2/64", rules: 2 };
    probe = new Redis(redis.url);
    await probe.set("rfnode:rf:n1:v:ip:45.33.32.156", JSON.stringify(seeded), "PX", 60_000);
    await helper.load([rfNode], flow, { n1: { apiToken: rf.token } });
    out = new Inbox("out");
    helper.getNode("n1").receive(event(insightWith(1, ["185.220.101.4", "45.33.32.156"])));
    const [msg] = await out.until(1);
    expect(rf.asked()).to.deep.equal(["ip:185.220.101.4"]);
    expect(msg.enrichments.insight.map((r: any) => [r.indicator, r.score]).sort()).to.deep.equal([["185.220.101.4", 89], ["45.33.32.156", 77]]);
    const stored = JSON.parse((await probe.get("rfnode:rf:n1:v:ip:185.220.101.4"))!);
    expect(stored).to.include({ indicator: "185.220.101.4", score: 89 });
    expect(await probe.pttl("rfnode:rf:n1:v:ip:185.220.101.4")).to.be.above(590_000).and.at.most(600_000);
    const keys = await probe.keys("rfnode:*");
    expect(keys.join(" ")).not.to.contain(rf.token);
  });
});

describe("cse-recorded-future Test button", function () {
  let rf: RfPeer;
  let cse: CsePeer;
  beforeEach(async function () {
    rf = await startRfPeer();
    cse = await startCsePeer();
  });
  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(function (done) {
    helper.unload().then(() => helper.stopServer(done));
  });
  afterEach(async function () {
    await rf.close();
    await cse.close();
  });

  it("looks up one public address with the dialog's token and writes nothing to the tenant", async function () {
    rf.know("ip", "8.8.8.8", 0, 0, 0);
    const flow: any[] = [{ id: "t1", type: "cse-tenant", apiUrl: cse.apiUrl }];
    await helper.load([rfNode, tenantNode], flow, { t1: { accessId: cse.accessId, accessKey: cse.accessKey } });
    const res = await helper
      .request()
      .post("/cse-actions/test/cse-recorded-future")
      .send({ id: "n9", properties: { apiUrl: rf.apiUrl, enrichInsights: true, enrichSignals: false, tenant: "t1", cacheTtl: "3600" }, credentials: { apiToken: rf.token } })
      .expect(200);
    expect(res.body.ok).to.equal(true);
    expect(rf.requests).to.have.length(1);
    expect(rf.asked()).to.include("ip:8.8.8.8");
    expect(cse.requests).to.have.length(0);
    const bad = await helper
      .request()
      .post("/cse-actions/test/cse-recorded-future")
      .send({ id: "n9", properties: { apiUrl: rf.apiUrl }, credentials: { apiToken: "wrong" } })
      .expect(200);
    expect(bad.body.ok).to.equal(false);
    expect(bad.body.message).to.match(/HTTP 401/);
  });
});

describe("example: Enrich on demand with Recorded Future", function () {
  let rf: RfPeer;
  let cse: CsePeer;
  beforeEach(async function () {
    rf = await startRfPeer();
    cse = await startCsePeer();
    rf.know("ip", "185.220.101.4", 89, 3, 5);
  });
  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(function (done) {
    helper.settings({});
    helper.unload().then(() => helper.stopServer(done));
  });
  afterEach(async function () {
    await rf.close();
    await cse.close();
  });

  it("fetches the Insight, looks it up and writes the enrichment back", async function () {
    const fs = require("node:fs");
    const path = require("node:path");
    const file = path.join(__dirname, "..", "..", "examples", "Enrich on demand with Recorded Future.json");
    const nodes: any[] = JSON.parse(fs.readFileSync(file, "utf8"));
    const tenant = nodes.find((n) => n.type === "cse-tenant");
    const inject = nodes.find((n) => n.type === "inject");
    const enrich = nodes.find((n) => n.type === "cse-recorded-future");
    expect(enrich.apiUrl).to.equal("https://api.recordedfuture.com/v2");
    expect(enrich.tenant).to.equal(tenant.id);
    const insight = cse.addInsight(new Date(Date.now() - 86_400_000));
    tenant.apiUrl = cse.apiUrl;
    enrich.apiUrl = rf.apiUrl;
    inject.payload = insight.readableId;
    enrich.wires = [[...enrich.wires[0], "probe"]];
    nodes.push({ id: "probe", type: "helper", z: enrich.z });
    helper.settings({ cseDelayScale: 0.001 } as any);
    await helper.load(
      [tenantNode, rfNode, require("../../src/nodes/cse-trigger"), require("@node-red/nodes/core/common/20-inject.js"), require("@node-red/nodes/core/common/21-debug.js"), require("@node-red/nodes/core/common/25-catch.js"), require("@node-red/nodes/core/common/90-comment.js")],
      nodes,
      { [tenant.id]: { accessId: cse.accessId, accessKey: cse.accessKey }, [enrich.id]: { apiToken: rf.token } },
    );
    const probe = new Inbox("probe");
    helper.getNode(inject.id).receive({});
    const [msg] = await probe.until(1);
    expect(msg.topic).to.equal("insight.onDemand");
    expect(msg.enrichments.insight.map((r: any) => r.indicator)).to.deep.equal(["185.220.101.4"]);
    expect(rf.requests).to.have.length(1);
    expect((cse.enrichments.get(`insights/${insight.id}/Recorded Future`) as any).reputation).to.equal("malicious");
  });
});
