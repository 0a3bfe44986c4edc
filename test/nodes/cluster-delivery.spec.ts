import { expect } from "chai";
import helper from "node-red-node-test-helper";
import { Redis } from "ioredis";
import httpPostNode = require("../../src/nodes/cse-http-post");
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { modernInsight } from "../fakes/insights";
import { RedisServer } from "../support/redis-server";
import { until } from "../support/until";

helper.init(require.resolve("node-red"));

const PASSWORD = "pw-Cluster-S3cret";
const REDIS_PASSWORD = "redis-Pa55word";

function flow(url: string) {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", z: "f1", type: "cse-http-post", name: "clustered", url, timeout: 60_000, wires: [["out"]] },
    { id: "out", z: "f1", type: "helper" },
    { id: "c1", z: "f1", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
  ];
}

function insight(n: number) {
  return modernInsight({ id: `cluster-${n}`, readableId: `INSIGHT-${n}` } as any, 1);
}

function collect(id: string): any[] {
  const seen: any[] = [];
  helper.getNode(id).on("input", (msg: any) => seen.push(msg));
  return seen;
}


describe("action nodes in cluster mode (cseCluster, a real redis-server)", function () {
  this.timeout(30_000);
  const redis = new RedisServer({ password: REDIS_PASSWORD });
  let peer: HttpPeer;
  let inspect: Redis;
  let prefix = "";
  let run = 0;

  before(async () => {
    await redis.start();
    inspect = new Redis(redis.url, { maxRetriesPerRequest: null });
  });
  after(async () => {
    inspect.disconnect();
    await redis.remove();
  });

  beforeEach(async function () {
    peer = await startHttpPeer();
    prefix = `t${++run}`;
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await peer.close();
    if (!redis.running) await redis.start();
  });

  async function load(url = redis.url) {
    helper.settings({ cseDelayScale: 0.001, cseHttpPostAllowedPorts: [peer.port], cseCluster: { url, prefix, lockMs: 2000, stalledCheckMs: 500 } } as any);
    await helper.load(httpPostNode as any, flow(`${peer.url}/in`), { n1: { username: "soc", password: PASSWORD } });
    return helper.getNode("n1") as any;
  }

  /** Everything Redis holds under this test's prefix, as one string. */
  async function redisDump(): Promise<string> {
    const keys = await inspect.keys(`${prefix}:*`);
    const parts: string[] = [];
    for (const key of keys) {
      const type = await inspect.type(key);
      if (type === "hash") parts.push(JSON.stringify(await inspect.hgetall(key)));
      else if (type === "list") parts.push(JSON.stringify(await inspect.lrange(key, 0, -1)));
      else if (type === "string") parts.push(String(await inspect.get(key)));
    }
    return parts.join("\n");
  }

  const jobsWaiting = async () =>
    (await inspect.llen(`${prefix}:delivery-n1:wait`)) + (await inspect.llen(`${prefix}:delivery-n1:active`)) + (await inspect.zcard(`${prefix}:delivery-n1:delayed`));

  it("keeps an accepted message in Redis, without credentials, until it is delivered, then forgets it", async function () {
    peer.script({ hang: true });
    const n1 = await load();
    const out = collect("out");
    n1.receive({ topic: "insight.created", payload: insight(1), ticket: "T-1" });
    const [request] = await peer.waitForRequests(1);
    expect(request.headers["idempotency-key"]).to.equal("cluster-1:insight.created");
    expect(await jobsWaiting()).to.equal(1);
    const dump = await redisDump();
    expect(dump).to.include("cluster-1").and.include("T-1");
    expect(dump).to.not.include(PASSWORD);
    expect(dump).to.not.include(Buffer.from(`soc:${PASSWORD}`).toString("base64"));

    peer.script({ status: 200 });
    n1.receive({ topic: "insight.created", payload: insight(2) });
    await until("the second delivery", () => out.length === 1);
    expect(out[0]).to.deep.include({ topic: "insight.created" });
    expect(out[0].delivery).to.include({ action: "cse-http-post", ok: true, status: 200, attempts: 1 });
  });

  it("reports a failure for good to Catch with msg.delivery, and the message leaves the queue", async function () {
    peer.script({ status: 400, body: "bad_insight" });
    const n1 = await load();
    const caught = collect("caught");
    n1.receive({ topic: "insight.created", payload: insight(1) });
    await until("the Catch report", () => caught.length === 1);
    expect(caught[0].error.message).to.include("HTTP 400 bad_insight").and.not.include(PASSWORD);
    expect(caught[0].delivery).to.include({ ok: false, status: 400, attempts: 1 });
    await until("the queue to empty", async () => (await jobsWaiting()) === 0);
  });

  it("resumes what was queued or in flight after a redeploy, with the same idempotency keys", async function () {
    peer.script({ hang: true });
    const n1 = await load();
    for (let i = 1; i <= 6; i++) n1.receive({ topic: "insight.created", payload: insight(i) });
    const first = await peer.waitForRequests(4); // four in flight, two waiting
    await until("all six in Redis", async () => (await jobsWaiting()) === 6);
    const keyOf = new Map(first.map((r) => [r.json.id, r.headers["idempotency-key"]]));
    await helper.unload();
    expect(await jobsWaiting()).to.equal(6); // the aborted ones went back to waiting

    peer.script({ status: 200 });
    await load();
    const out = collect("out");
    await until("the resumed deliveries", () => out.length === 6);
    expect(out.map((m) => m.payload.id).sort()).to.deep.equal([1, 2, 3, 4, 5, 6].map((i) => `cluster-${i}`).sort());
    expect(out.every((m) => m.delivery.ok)).to.equal(true);
    for (const request of peer.requests.slice(4)) {
      if (keyOf.has(request.json.id)) expect(request.headers["idempotency-key"]).to.equal(keyOf.get(request.json.id));
    }
    expect(peer.requests.slice(4).map((r) => r.json.id).sort()).to.deep.equal([1, 2, 3, 4, 5, 6].map((i) => `cluster-${i}`).sort());
    await until("the queue to empty", async () => (await jobsWaiting()) === 0);
  });

  // A job whose finish Redis missed stays "active" until its lock expires (lockMs, 2 s here), then runs again.
  it("loses nothing when Redis dies and comes back from its append-only file mid-burst, and says so in the status", async function () {
    peer.script({ status: 200, delayMs: 20 });
    const n1 = await load();
    const out = collect("out");
    const caught = collect("caught");
    const statuses: string[] = [];
    n1.on("call:status", (call: any) => statuses.push(call.args[0]?.text ?? ""));
    for (let i = 1; i <= 50; i++) n1.receive({ topic: "insight.created", payload: insight(i) });
    await until("a few deliveries", () => out.length >= 5);
    await redis.kill9();
    for (let i = 51; i <= 100; i++) n1.receive({ topic: "insight.created", payload: insight(i) });
    await until("the status to show Redis is away", () => statuses.some((t) => t.startsWith("Redis unreachable")));
    await redis.start();
    await until("every message delivered", () => new Set(out.map((m) => m.payload.id)).size === 100, 20_000);
    expect(caught).to.deep.equal([]);
    expect(statuses.some((t) => t === "Redis is back")).to.equal(true);
  });

  it("keeps a message that failed for good in Redis' failed list, and a retry delivers it with the same idempotency key", async function () {
    peer.script({ status: 401, body: "invalid token" });
    const n1 = await load();
    const caught = collect("caught");
    n1.receive({ topic: "insight.created", payload: insight(1) });
    await until("the Catch report", () => caught.length === 1);
    let list: any[] = [];
    await until("the failed list", async () => (list = (await helper.request().get("/cse-actions/failed").expect(200)).body).length === 1);
    expect(list[0]).to.include({ node: "n1", topic: "insight.created", key: "cluster-1:insight.created", attempts: 1, status: 401 });
    expect(await inspect.hexists(`${prefix}:failed:n1:entries`, list[0].id)).to.equal(1); // where every replica sees it
    expect(await redisDump()).to.not.include(PASSWORD);

    peer.script({ status: 200 });
    const out = collect("out");
    await helper.request().post(`/cse-actions/failed/n1/${list[0].id}/retry`).expect(202);
    await until("the retried delivery", () => out.length === 1);
    expect(out[0].delivery).to.include({ ok: true, status: 200 });
    expect(peer.requests.map((r) => r.headers["idempotency-key"])).to.deep.equal(["cluster-1:insight.created", "cluster-1:insight.created"]);
    expect((await helper.request().get("/cse-actions/failed").expect(200)).body).to.deep.equal([]);
    expect(await inspect.hlen(`${prefix}:failed:n1:entries`)).to.equal(0);
  });

  it("refuses every message naming cseCluster.url when the URL is wrong, and never shows the password", async function () {
    const n1 = await load("http://:hunter2@127.0.0.1:1");
    const caught = collect("caught");
    n1.receive({ topic: "insight.created", payload: insight(1) });
    await until("the refusal", () => caught.length === 1);
    expect(caught[0].error.message).to.match(/invalid configuration: cseCluster\.url: must start with redis:\/\//).and.not.include("hunter2");
  });

  it("says a wrong Redis password is refused, naming cseCluster.url, never the password", async function () {
    const n1 = await load(redis.url.replace(REDIS_PASSWORD, "not-the-password"));
    const statuses: string[] = [];
    n1.on("call:status", (call: any) => statuses.push(call.args[0]?.text ?? ""));
    await until("the status", () => statuses.some((t) => t.startsWith("Redis refused")));
    expect(statuses.join(" ")).to.not.include("not-the-password");
  });
});
