import { expect } from "chai";
import { joinCluster } from "../../src/cluster";
import { ClusterSettingError, readClusterSettings } from "../../src/cluster/settings";
import { ClusterConnection, type RedisHealth } from "../../src/cluster/connection";
import { failedChangedChannel, RedisFailedStore } from "../../src/cluster/failed-store";
import { RedisServer } from "../support/redis-server";

function until<T>(read: () => T | undefined, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      const value = read();
      if (value !== undefined) return resolve(value);
      if (Date.now() > deadline) return reject(new Error("timed out"));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe("cluster settings (cseCluster)", () => {
  it("is off without the setting", () => {
    expect(readClusterSettings({})).to.equal(undefined);
    expect(joinCluster({})).to.equal(undefined);
  });

  it("names the setting and the problem, never the password", () => {
    const cases: [unknown, RegExp][] = [
      [{}, /^cseCluster\.url: is missing/],
      [{ url: "http://:s3cret@host:6379" }, /^cseCluster\.url: must start with redis:\/\/ or rediss:\/\//],
      [{ url: "redis://:s3cret@host:6379/x" }, /^cseCluster\.url: names database "x"/],
      [{ url: "::::" }, /^cseCluster\.url: is not a URL/],
      [{ url: "redis://host", prefix: "a b" }, /^cseCluster\.prefix: /],
      ["redis://host", /^cseCluster: must be an object/],
    ];
    for (const [value, pattern] of cases) {
      let error: unknown;
      try {
        readClusterSettings({ cseCluster: value });
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(value)).to.be.instanceOf(ClusterSettingError);
      expect((error as Error).message).to.match(pattern).and.not.contain("s3cret");
    }
  });

  it("describes where Redis is without user or password", () => {
    const s = readClusterSettings({ cseCluster: { url: "rediss://admin:s3cret@redis.local:6380/2" } })!;
    expect(s.where).to.equal("rediss://redis.local:6380/2");
    expect(s.prefix).to.equal("cse-actions");
  });
});

describe("cluster connection against a real redis-server", function () {
  const redis = new RedisServer({ password: "p@ss word" });
  before(() => redis.start());
  after(() => redis.remove());

  it("shares one connection between the nodes of a process and closes it with the last", async () => {
    const settings = { cseCluster: { url: redis.url, prefix: "t1" } };
    const a = joinCluster(settings)!;
    const b = joinCluster(settings)!;
    expect(a.connection).to.equal(b.connection);
    await a.connection.client.set(a.connection.key("k"), "v");
    expect(await b.connection.client.get("t1:k")).to.equal("v");
    await a.leave();
    expect(a.connection.client.status).to.equal("ready");
    await b.leave();
    await until(() => (b.connection.client.status === "end" ? true : undefined));
  });

  it("reports a wrong password naming cseCluster.url, never the password", async () => {
    const url = redis.url.replace(encodeURIComponent("p@ss word"), "not-it");
    const lease = joinCluster({ cseCluster: { url } })!;
    try {
      const seen = await until(() => (lease.connection.health === "refused" ? lease.connection.problem : undefined));
      expect(seen).to.match(/^cseCluster\.url: Redis at redis:\/\/127\.0\.0\.1:\d+ refused/).and.not.contain("not-it");
    } finally {
      await lease.leave();
    }
  });

  it("goes down when Redis dies and ready again by itself when it is back", async () => {
    const lease = joinCluster({ cseCluster: { url: redis.url, prefix: "t2" } })!;
    const seen: RedisHealth[] = [];
    const stop = lease.connection.watch((health) => seen.push(health));
    try {
      await until(() => (lease.connection.health === "ready" ? true : undefined));
      await lease.connection.client.set("t2:kept", "1");
      await redis.kill9();
      await until(() => (lease.connection.health === "down" ? true : undefined));
      const pending = lease.connection.client.get("t2:kept"); // queued while Redis is away
      await redis.start();
      expect(await pending).to.equal("1"); // acknowledged before the crash: replayed from the append-only file
      expect(lease.connection.health).to.equal("ready");
      expect(seen).to.include.members(["ready", "down"]);
    } finally {
      stop();
      await lease.leave();
    }
  });
});

describe("the failed list in Redis, shared by the replicas", function () {
  const redis = new RedisServer();
  before(() => redis.start());
  after(() => redis.remove());

  it("announces a change of a node's failed list to every replica, and every replica reads the same list", async () => {
    const settings = { cseCluster: { url: redis.url, prefix: "t3" } };
    const other = new ClusterConnection(readClusterSettings(settings)!); // a second replica: a connection of its own
    const heard: string[] = [];
    const stop = other.subscribe(failedChangedChannel(other), (node) => heard.push(node));
    try {
      await until(() => (other.health === "ready" ? true : undefined));
      await new Promise((r) => setTimeout(r, 100)); // the subscription reaches Redis
      const store = new RedisFailedStore(settings, 2);
      const entry = (id: string, failedAt: string) =>
        ({ node: "n1", id, type: "cse-slack", failedAt, reason: "r", topic: "insight.created", key: `${id}:insight.created`, attempts: 1, status: 401, msg: { topic: "insight.created" } }) as const;
      await store.add(entry("a", "2026-12-04T10:00:00.000Z"));
      await store.add(entry("b", "2026-12-04T10:00:01.000Z"));
      await store.add(entry("c", "2026-12-04T10:00:02.000Z")); // beyond the bound of 2: "a" goes
      expect((await store.list()).map((e) => e.id)).to.deep.equal(["c", "b"]);
      expect(await store.remove("n1", "b")).to.equal(true);
      expect(await store.remove("n1", "b")).to.equal(false);
      expect((await store.list("n1")).map((e) => e.id)).to.deep.equal(["c"]);
      await until(() => (heard.length === 4 ? true : undefined));
      expect(heard).to.deep.equal(["n1", "n1", "n1", "n1"]);
    } finally {
      stop();
      await other.close();
    }
  });
});
