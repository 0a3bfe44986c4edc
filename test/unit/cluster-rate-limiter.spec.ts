import { expect } from "chai";
import { ClusterConnection } from "../../src/cluster/connection";
import { clusterLimiter, limiterId, RedisRateLimiter } from "../../src/cluster/redis-rate-limiter";
import { readClusterSettings } from "../../src/cluster/settings";
import { CseClient } from "../../src/cse/client";
import { startCsePeer, type CsePeer } from "../fakes/cse-peer";
import { RedisServer } from "../support/redis-server";

/**
 * Two "replicas" = two ClusterConnections to one real Redis, each with its own CseClient for the same access
 * ID, sending to one loopback CSE API. The peer's own log of arrivals and open requests is the judge.
 */
describe("CSE API limits shared by the replicas (cluster mode, real redis-server)", function () {
  this.timeout(30_000);
  const redis = new RedisServer();
  let peer: CsePeer;
  const replicas: ClusterConnection[] = [];
  const clients: CseClient[] = [];

  /** Arrival jitter between a start in Redis and its arrival at the peer (loopback, a busy 2-core machine). */
  const JITTER_MS = 100;

  before(() => redis.start());
  after(() => redis.remove());
  beforeEach(async () => {
    peer = await startCsePeer();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(replicas.splice(0).map((r) => r.close()));
    await peer.close();
  });

  function replica(prefix: string): ClusterConnection {
    const connection = new ClusterConnection(readClusterSettings({ cseCluster: { url: redis.url, prefix } })!);
    replicas.push(connection);
    return connection;
  }

  function clientOf(connection: ClusterConnection, options: { windowMs?: number; leaseMs?: number } = {}): CseClient {
    const client = new CseClient({ apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: peer.accessKey, limiter: clusterLimiter(connection, peer.apiUrl, peer.accessId, options) });
    clients.push(client);
    return client;
  }

  it("two replicas together start at most 4 requests in any second", async function () {
    const a = clientOf(replica("rate"));
    const b = clientOf(replica("rate"));
    const began = Date.now();
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).testConnection()));
    const took = Date.now() - began;
    expect(peer.requests).to.have.length(12);
    // 12 starts at 4 per second: the 5th and 9th wait a whole window each.
    expect(took).to.be.at.least(2000 - JITTER_MS);
    expect(peer.maxArrivalsWithin(1000 - JITTER_MS)).to.be.at.most(4);
  });

  it("two replicas together never have more than 10 requests open at the tenant", async function () {
    peer.delayMs = 400;
    const a = clientOf(replica("flight"), { windowMs: 20 });
    const b = clientOf(replica("flight"), { windowMs: 20 });
    await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).testConnection()));
    expect(peer.requests).to.have.length(30);
    expect(peer.maxConcurrent).to.equal(10);
  });

  it("a replica keeps its slots while it lives and they come back when it dies", async function () {
    const leaseMs = 800;
    const dying = replica("dead");
    const survivor = replica("dead");
    const held = new RedisRateLimiter(dying, limiterId(peer.apiUrl, peer.accessId), { windowMs: 20, leaseMs });
    const other = new RedisRateLimiter(survivor, limiterId(peer.apiUrl, peer.accessId), { windowMs: 20, leaseMs });
    for (let i = 0; i < 10; i++) await held.acquire();

    let granted: number | undefined;
    const began = Date.now();
    const waiting = other.acquire().then((release) => {
      granted = Date.now() - began;
      return release;
    });
    // Alive and renewing: its 10 slots outlast the lease twice over.
    await new Promise((r) => setTimeout(r, 2 * leaseMs));
    expect(granted, "a slot was handed out while 10 were held").to.equal(undefined);

    dying.client.disconnect(); // as a kill -9: no release, no more renewals
    const diedAt = Date.now() - began;
    const release = await waiting;
    expect(granted! - diedAt).to.be.at.most(leaseMs + 500);
    release();
    expect(await survivor.client.zcard(survivor.key("cse-limit", limiterId(peer.apiUrl, peer.accessId), "inflight"))).to.equal(0);
  });

  it("a caller that gives up while waiting takes no slot; a release lets the next one in", async function () {
    const connection = replica("abort");
    const limiter = new RedisRateLimiter(connection, "abort-test", { windowMs: 20, maxInFlight: 1 });
    const first = await limiter.acquire();
    const controller = new AbortController();
    const abandoned = limiter.acquire(controller.signal).then(
      () => "granted",
      (e: Error) => e.message,
    );
    const next = limiter.acquire();
    await new Promise((r) => setTimeout(r, 100));
    controller.abort(new Error("poll stopped"));
    expect(await abandoned).to.equal("poll stopped");
    first();
    const second = await next;
    expect(limiter.active).to.equal(1);
    expect(await connection.client.zcard(connection.key("cse-limit", "abort-test", "inflight"))).to.equal(1);
    second();
    await new Promise((r) => setTimeout(r, 50));
    expect(await connection.client.zcard(connection.key("cse-limit", "abort-test", "inflight"))).to.equal(0);
  });

  it("while Redis is away a caller waits (or gives up on its signal); it goes on by itself once Redis is back", async function () {
    const connection = replica("away");
    const limiter = new RedisRateLimiter(connection, "away-test", { windowMs: 20 });
    (await limiter.acquire())();
    await redis.kill9();
    const controller = new AbortController();
    const abandoned = limiter.acquire(controller.signal).then(
      () => "granted",
      (e: Error) => e.message,
    );
    const patient = limiter.acquire();
    await new Promise((r) => setTimeout(r, 300));
    controller.abort(new Error("attempt timed out"));
    expect(await abandoned).to.equal("attempt timed out");
    let granted = false;
    void patient.then(() => (granted = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(granted, "no slot without Redis").to.equal(false);
    await redis.start();
    const release = await patient;
    expect(await connection.client.zcard(connection.key("cse-limit", "away-test", "inflight"))).to.equal(1);
    release();
  });

  it("names the access ID in Redis by a hash: neither the ID nor the key is stored", async function () {
    const connection = replica("names");
    await clientOf(connection).testConnection();
    const keys = await connection.client.keys("names:*");
    expect(keys.sort()).to.deep.equal([`names:cse-limit:${limiterId(peer.apiUrl, peer.accessId)}:starts`]); // inflight: emptied by the release
    for (const key of keys) {
      expect(key).not.to.contain(peer.accessId);
      const members = await connection.client.zrange(key, 0, -1);
      expect(members.join(" ")).not.to.contain(peer.accessId).and.not.to.contain(peer.accessKey);
    }
  });
});
