import { expect } from "chai";
import helper from "node-red-node-test-helper";
import { asCseTenant } from "../../src/cse/tenant";
import tenantNode from "../../src/nodes/cse-tenant";
import { limiterId, RedisRateLimiter } from "../../src/cluster/redis-rate-limiter";
import { startCsePeer, type CsePeer } from "../fakes/cse-peer";
import { RedisServer } from "../support/redis-server";

helper.init(require.resolve("node-red"));

describe("cse-tenant node", function () {
  let peer: CsePeer;
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

  const flow = () => [{ id: "t1", type: "cse-tenant", name: "SOC", apiUrl: peer.apiUrl, uiUrl: "https://service.sumologic.com/" }];
  const creds = () => ({ t1: { accessId: peer.accessId, accessKey: peer.accessKey } });

  it("offers one shared client and fetches Insights with the stored credentials", async function () {
    await helper.load(tenantNode, flow(), creds());
    const tenant = asCseTenant(helper.getNode("t1"));
    expect(tenant).not.to.equal(undefined);
    expect(tenant!.client()).to.equal(tenant!.client());
    expect(tenant!.uiUrl).to.equal("https://service.sumologic.com");
    const added = peer.addInsight();
    const insight = await tenant!.fetchInsight(added.readableId!);
    expect(insight.id).to.equal(added.id);
    expect(peer.requests[0].headers.authorization).to.equal(`Basic ${Buffer.from(`${peer.accessId}:${peer.accessKey}`).toString("base64")}`);
  });

  it("two tenants with the same access key share CSE's limit of 10 requests in flight", async function () {
    const flow2 = [...flow(), { id: "t2", type: "cse-tenant", name: "same key", apiUrl: `${peer.apiUrl}/` }];
    helper.settings({ cseDelayScale: 0.01 } as any);
    await helper.load(tenantNode, flow2, { ...creds(), t2: { accessId: peer.accessId, accessKey: peer.accessKey } });
    const a = asCseTenant(helper.getNode("t1"))!.client();
    const b = asCseTenant(helper.getNode("t2"))!.client();
    expect(a).not.to.equal(b);
    expect(a.limiter).to.equal(b.limiter);
    peer.delayMs = 100;
    await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? a : b).testConnection()));
    helper.settings({});
    expect(peer.maxConcurrent).to.equal(10);
  });

  describe("in cluster mode (cseCluster, real redis-server)", function () {
    this.timeout(15_000);
    const redis = new RedisServer();
    before(() => redis.start());
    after(() => redis.remove());

    it("counts its limits in Redis under a hash of the API URL and access ID", async function () {
      helper.settings({ cseCluster: { url: redis.url, prefix: "tenant" } } as any);
      await helper.load(tenantNode, flow(), creds());
      const client = asCseTenant(helper.getNode("t1"))!.client();
      expect(client.limiter).to.be.instanceOf(RedisRateLimiter);
      const began = Date.now();
      await Promise.all(Array.from({ length: 5 }, () => client.testConnection()));
      expect(Date.now() - began, "the 5th request waits for the 1-second window").to.be.at.least(900);
      const connection = (client.limiter as any).connection;
      const keys: string[] = await connection.client.keys("tenant:*");
      expect(keys).to.deep.equal([`tenant:cse-limit:${limiterId(peer.apiUrl, peer.accessId)}:starts`]);
      expect(await connection.client.zcard(keys[0])).to.be.at.least(1);
    });

    it("a bad cseCluster setting is an error naming the setting, and nothing is sent", async function () {
      helper.settings({ cseCluster: { url: "http://:s3cret@127.0.0.1:1" } } as any);
      await helper.load(tenantNode, flow(), creds());
      const tenant = asCseTenant(helper.getNode("t1"))!;
      expect(() => tenant.client()).to.throw(/^cseCluster\.url: must start with redis:\/\//);
      expect(() => tenant.client()).not.to.throw(/s3cret/);
      expect(peer.requests).to.have.length(0);
    });
  });

  it("defaults the API URL to US1", async function () {
    await helper.load(tenantNode, [{ id: "t1", type: "cse-tenant" }], { t1: { accessId: "a", accessKey: "b" } });
    expect(asCseTenant(helper.getNode("t1"))!.client().apiUrl).to.equal("https://api.sumologic.com/api/sec/v1");
  });

  it("closes its client when redeployed or stopped", async function () {
    await helper.load(tenantNode, flow(), creds());
    const client = asCseTenant(helper.getNode("t1"))!.client();
    peer.delayMs = 10_000;
    const pending = client.testConnection().then(
      () => "answered",
      (e: Error) => e.message,
    );
    while (peer.requests.length < 1) await new Promise((r) => setTimeout(r, 5));
    await helper.unload();
    expect(client.closed).to.equal(true);
    expect(await pending).to.match(/closed/);
  });

  it("a misconfigured tenant fails when used, naming the problem", async function () {
    await helper.load(tenantNode, [{ id: "t1", type: "cse-tenant", apiUrl: "http://api.sumologic.com/api/sec/v1" } as any], { t1: { accessId: "a", accessKey: "b" } });
    expect(() => asCseTenant(helper.getNode("t1"))!.client()).to.throw(/apiUrl must use https/);
    await helper.unload();
    await helper.load(tenantNode, flow(), { t1: { accessId: peer.accessId } });
    expect(() => asCseTenant(helper.getNode("t1"))!.client()).to.throw(/Access Key is missing/);
  });

  describe("Test connection route", function () {
    it("checks unsaved dialog values", async function () {
      await helper.load(tenantNode, [], {});
      peer.addInsight();
      const res = await helper.request().post("/cse-tenant/test").send({ id: "new1", apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: peer.accessKey }).expect(200);
      expect(res.body).to.deep.equal({ ok: true, message: "Connected to Cloud SIEM: 1 Insight visible" });
      expect(peer.requests[0].query).to.deep.equal({ limit: "1" });
    });

    it("reuses the stored key when the dialog still shows __PWRD__", async function () {
      await helper.load(tenantNode, flow(), creds());
      const res = await helper.request().post("/cse-tenant/test").send({ id: "t1", apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: "__PWRD__" }).expect(200);
      expect(res.body.ok).to.equal(true);
      expect(peer.requests[0].headers.authorization).to.equal(`Basic ${Buffer.from(`${peer.accessId}:${peer.accessKey}`).toString("base64")}`);
    });

    it("reports a wrong key without echoing it", async function () {
      await helper.load(tenantNode, [], {});
      const res = await helper.request().post("/cse-tenant/test").send({ apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: "WRONG-key-987" }).expect(200);
      expect(res.body.ok).to.equal(false);
      expect(res.body.message).to.match(/HTTP 401.*check the access key \/ Cloud SIEM role/);
      expect(JSON.stringify(res.body)).not.to.contain("WRONG-key-987");
    });

    it("refuses a plain-http API URL before sending anything, and reports an HTML answer", async function () {
      await helper.load(tenantNode, [], {});
      const insecure = await helper.request().post("/cse-tenant/test").send({ apiUrl: "http://api.eu.sumologic.com/api/sec/v1", accessId: "a", accessKey: "b" }).expect(200);
      expect(insecure.body).to.deep.equal({ ok: false, message: "apiUrl must use https:// (plain http is only allowed to a loopback address), got http://api.eu.sumologic.com" });
      peer.fail({ status: 200, body: "<html><body>Sign in</body></html>" });
      const html = await helper.request().post("/cse-tenant/test").send({ apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: peer.accessKey }).expect(200);
      expect(html.body.ok).to.equal(false);
      expect(html.body.message).to.match(/HTML page instead of JSON/);
    });
  });
});
