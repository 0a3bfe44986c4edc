import { expect } from "chai";
import { ClusterConnection } from "../../src/cluster/connection";
import { readClusterSettings } from "../../src/cluster/settings";
import { SharedIndicatorCache, type SharedIndicatorCacheOptions } from "../../src/cluster/shared-indicator-cache";
import { DeliveryEngine, newJob } from "../../src/delivery/engine";
import { cseMetaFor } from "../../src/events/meta";
import type { Insight } from "../../src/events/types";
import { recordedFutureTarget, type RecordedFutureConfig, type RfResources } from "../../src/targets/recorded-future";
import { modernInsight } from "../fakes/insights";
import { startRfPeer, type RfPeer } from "../fakes/rf-peer";
import { RedisServer } from "../support/redis-server";

const NODE_ID = "rf-node-1";
const IPS = ["185.220.101.4", "45.33.1.11", "45.33.2.12"];

function insightWith(n: number, ips: string[]): Insight {
  const insight = modernInsight({ id: `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`, readableId: `INSIGHT-${n}` }, 0);
  insight.signals = [{ id: `sig-${n}`, name: "s", allRecords: ips.map((ip) => ({ srcDevice_ip: "10.0.0.5", dstDevice_ip: ip })) }];
  return insight;
}

function eventOf(insight: Insight) {
  return { topic: "insight.created" as const, payload: insight, cse: cseMetaFor("insight.created", insight) };
}

/**
 * Two "replicas" = two ClusterConnections to one real Redis, each with the delivery engine of the same
 * cse-recorded-future node (same id) and a loopback Recorded Future that logs every indicator asked for.
 */
describe("Recorded Future look-ups shared by the replicas (cluster mode, real redis-server)", function () {
  this.timeout(20_000);
  const redis = new RedisServer();
  let rf: RfPeer;
  const replicas: ClusterConnection[] = [];
  const engines: DeliveryEngine<RecordedFutureConfig, RfResources>[] = [];

  before(() => redis.start());
  after(() => redis.remove());
  beforeEach(async () => {
    rf = await startRfPeer();
    rf.know("ip", IPS[0], 89, 3, 5, "Current C&C Server");
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    await Promise.all(replicas.splice(0).map((r) => r.close()));
    await rf.close();
  });

  function replica(prefix: string, ttlMs = 3600_000, options: SharedIndicatorCacheOptions = {}) {
    const connection = new ClusterConnection(readClusterSettings({ cseCluster: { url: redis.url, prefix } })!);
    replicas.push(connection);
    const config: RecordedFutureConfig = {
      apiUrl: rf.apiUrl,
      apiToken: rf.token,
      enrichInsights: true,
      enrichSignals: false,
      cacheTtlMs: ttlMs,
      openCache: () => new SharedIndicatorCache({ connection, leave: async () => undefined }, NODE_ID, ttlMs, options),
    };
    const engine = new DeliveryEngine(recordedFutureTarget, config, { label: "cse-recorded-future", maxAttempts: 1, timeoutMs: 5000 });
    engines.push(engine);
    return { connection, engine };
  }

  async function ready(...connections: ClusterConnection[]) {
    await Promise.all(connections.map((c) => c.client.ping()));
  }

  it("both replicas enriching the same Insight at once cost one look-up per indicator", async function () {
    rf.delayMs = 300;
    const a = replica("same");
    const b = replica("same");
    await ready(a.connection, b.connection);
    const [ra, rb] = await Promise.all([a.engine.submit(newJob(eventOf(insightWith(1, IPS)))), b.engine.submit(newJob(eventOf(insightWith(1, IPS))))]);
    expect(ra.ok, ra.error).to.equal(true);
    expect(rb.ok, rb.error).to.equal(true);
    expect(rf.asked().sort()).to.deep.equal(IPS.map((ip) => `ip:${ip}`).sort());
    for (const result of [ra, rb]) {
      const enrichments = (result.msg as any).enrichments;
      expect(enrichments.insight.map((r: any) => [r.indicator, r.score])).to.deep.equal([[IPS[0], 89]]);
    }
    // Later messages, on either replica, are answered from Redis.
    await b.engine.submit(newJob(eventOf(insightWith(2, IPS.slice(0, 2)))));
    await a.engine.submit(newJob(eventOf(insightWith(3, IPS))));
    expect(rf.asked()).to.have.length(IPS.length);
  });

  it("asks again once the TTL is over, once for both replicas", async function () {
    const a = replica("ttl", 400);
    const b = replica("ttl", 400);
    await ready(a.connection, b.connection);
    await a.engine.submit(newJob(eventOf(insightWith(1, [IPS[0]]))));
    await b.engine.submit(newJob(eventOf(insightWith(2, [IPS[0]]))));
    expect(rf.asked()).to.deep.equal([`ip:${IPS[0]}`]);
    await new Promise((r) => setTimeout(r, 500));
    rf.delayMs = 200;
    await Promise.all([a.engine.submit(newJob(eventOf(insightWith(3, [IPS[0]])))), b.engine.submit(newJob(eventOf(insightWith(4, [IPS[0]]))))]);
    expect(rf.asked()).to.deep.equal([`ip:${IPS[0]}`, `ip:${IPS[0]}`]);
  });

  it("when the replica looking up fails, the other one asks itself instead of waiting", async function () {
    rf.delayMs = 200;
    rf.fail({ status: 500, body: "down" });
    const a = replica("fail");
    const b = replica("fail");
    await ready(a.connection, b.connection);
    const began = Date.now();
    const results = await Promise.all([a.engine.submit(newJob(eventOf(insightWith(1, [IPS[0]])))), b.engine.submit(newJob(eventOf(insightWith(1, [IPS[0]]))))]);
    expect(results.map((r) => r.ok).sort()).to.deep.equal([false, true]);
    expect(rf.requests).to.have.length(2);
    expect(Date.now() - began).to.be.below(2000); // not the 5-second bound for a claimer that died
  });

  it("a claim left by a dead replica holds the others back only for the bound, then they ask themselves", async function () {
    const a = replica("dead", 3600_000, { claimWaitMs: 600 });
    await ready(a.connection);
    await a.connection.client.set(a.connection.key("rf", NODE_ID, "c", `ip:${IPS[0]}`), "dead-replica", "PX", 60_000);
    const began = Date.now();
    const result = await a.engine.submit(newJob(eventOf(insightWith(1, [IPS[0]]))));
    const took = Date.now() - began;
    expect(result.ok, result.error).to.equal(true);
    expect(took).to.be.at.least(550).and.below(3000);
    expect(rf.asked()).to.deep.equal([`ip:${IPS[0]}`]);
  });

  it("keeps the API token out of Redis: keys name the node and the indicator", async function () {
    const a = replica("names");
    await ready(a.connection);
    await a.engine.submit(newJob(eventOf(insightWith(1, [IPS[0], IPS[1]]))));
    const keys = (await a.connection.client.keys("names:*")).sort();
    expect(keys).to.deep.equal([`names:rf:${NODE_ID}:v:ip:${IPS[1]}`, `names:rf:${NODE_ID}:v:ip:${IPS[0]}`].sort());
    for (const key of keys) {
      expect(key).not.to.contain(rf.token);
      expect(await a.connection.client.get(key)).not.to.contain(rf.token);
      const ttl = await a.connection.client.pttl(key);
      expect(ttl).to.be.above(3500_000).and.at.most(3600_000);
    }
  });

  it("with Redis away, a message is enriched by its own look-up instead of waiting for Redis", async function () {
    const a = replica("away");
    await ready(a.connection);
    await redis.kill9();
    const deadline = Date.now() + 5000;
    while (a.connection.health === "ready" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    try {
      const result = await a.engine.submit(newJob(eventOf(insightWith(1, [IPS[0]]))));
      expect(result.ok, result.error).to.equal(true);
      expect((result.msg as any).enrichments.insight).to.have.length(1);
      expect(rf.asked()).to.deep.equal([`ip:${IPS[0]}`]);
    } finally {
      await redis.start();
    }
  });
});
