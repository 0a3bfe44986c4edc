/**
 * Operations (SPEC §9) in Node-RED's test helper against a loopback receiver: the failed list (kept across a
 * restart), retry one / all through the node's normal path with the same idempotency key, discard, the status
 * counters and the Prometheus metrics. (Permissions need a real Node-RED: test/e2e/operations.spec.ts.)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import helper from "node-red-node-test-helper";
import httpPostNode = require("../../src/nodes/cse-http-post");
import triggerNode = require("../../src/nodes/cse-trigger");
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { modernInsight } from "../fakes/insights";
import { eventMessage, Inbox } from "../support/node-test";

helper.init(require.resolve("node-red"));

function flow(extra: object[] = []) {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", z: "f1", type: "cse-http-post", name: "SOC receiver", maxAttempts: 2, wires: [["out"]] },
    { id: "out", z: "f1", type: "helper" },
    { id: "c1", z: "f1", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
    ...extra,
  ];
}

function insightMsg(n: number) {
  return eventMessage("insight.created", modernInsight({ id: `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`, readableId: `INSIGHT-${n}`, name: `Insight ${n}` }));
}

/** One sample of a metric line (`name{labels} value`), 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.indexOf("}"));
    const have = inner.split(",");
    if (wanted.every((w) => have.includes(w))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("operations: failed messages, retry, status and metrics", function () {
  this.timeout(20_000);
  let peer: HttpPeer;
  let userDir: string | undefined;

  beforeEach(async function () {
    peer = await startHttpPeer();
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await peer.close();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
    userDir = undefined;
  });

  async function load(settings: Record<string, unknown> = {}, extraNodes: object[] = [], modules: any[] = [httpPostNode], n1: object = {}) {
    helper.settings({ cseDelayScale: 0.001, cseHttpPostAllowedPorts: [peer.port], ...settings } as any);
    const nodes = flow(extraNodes).map((n: any) => (n.id === "n1" ? { ...n, url: `${peer.url}/in`, ...n1 } : n));
    await helper.load(modules, nodes, { n1: { username: "analyst", password: "pw-S3cr3t" } });
  }

  async function failed(): Promise<any[]> {
    return (await helper.request().get("/cse-actions/failed").expect(200)).body;
  }

  /** Sends one message to a receiver answering 401 and waits for it at Catch and in the failed list. */
  async function failOne(n = 1): Promise<any> {
    const caught = new Inbox("caught");
    peer.script({ status: 401, body: { error: "invalid token" } });
    helper.getNode("n1").receive(insightMsg(n));
    const [msg] = await caught.until(1);
    expect(msg.delivery).to.include({ ok: false, status: 401, attempts: 1 });
    return waitFor("the failed list", async () => {
      const list = await failed();
      return list.find((e) => e.key === `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}:insight.created`);
    });
  }

  it("keeps a message that failed for good (still reported to Catch) with reason, time, attempts, topic and key — no message, no secret", async function () {
    await load();
    const before = Date.now();
    const entry = await failOne();
    expect(entry).to.include({ node: "n1", type: "cse-http-post", topic: "insight.created", attempts: 1, status: 401 });
    expect(entry.reason).to.include('cse-http-post "SOC receiver"').and.include("401");
    expect(Date.parse(entry.failedAt)).to.be.within(before, Date.now());
    expect(entry).to.not.have.property("msg");
    expect(JSON.stringify(entry)).to.not.include("pw-S3cr3t");

    const detail = (await helper.request().get(`/cse-actions/failed/n1/${entry.id}`).expect(200)).body;
    expect(detail.event.insight).to.include({ readableId: "INSIGHT-1", name: "Insight 1", id: "aaaaaaaa-0000-4000-8000-000000000001" });
    expect(detail.event.entity).to.have.property("value");
    expect(JSON.stringify(detail)).to.not.include("pw-S3cr3t");

    const [status] = (await helper.request().get("/cse-actions/status").expect(200)).body;
    expect(status).to.include({ id: "n1", type: "cse-http-post", name: "SOC receiver", failed: 1, delivered: 0, queued: 0, inFlight: 0, state: "failed" });
    expect(status.lastError).to.equal(entry.reason);
  });

  it("retry puts the message back through the node: delivered to the output with msg.delivery, the same idempotency key, gone from the list", async function () {
    await load();
    const entry = await failOne();
    const firstKey = peer.requests[0].headers["idempotency-key"];
    expect(firstKey).to.equal(entry.key);
    peer.script({ status: 200, body: "ok" });
    const out = new Inbox("out");
    const res = await helper.request().post(`/cse-actions/failed/n1/${entry.id}/retry`).expect(202);
    expect(res.body).to.include({ retried: 1 });
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ action: "cse-http-post", ok: true, status: 200, attempts: 1 });
    expect(msg.payload.readableId).to.equal("INSIGHT-1");
    expect(peer.requests).to.have.length(2);
    expect(peer.requests[1].headers["idempotency-key"]).to.equal(firstKey);
    expect(peer.requests[1].json.id).to.equal("aaaaaaaa-0000-4000-8000-000000000001");
    expect(await failed()).to.deep.equal([]);
    const [status] = (await helper.request().get("/cse-actions/status").expect(200)).body;
    expect(status).to.include({ delivered: 1, failed: 1 });
  });

  it("a retried message that fails again is reported to Catch again and comes back to the list", async function () {
    await load();
    const entry = await failOne();
    const caught = new Inbox("caught");
    await helper.request().post(`/cse-actions/failed/n1/${entry.id}/retry`).expect(202);
    await caught.until(1);
    const again = await waitFor("the entry back in the list", async () => (await failed()).find((e) => e.id === entry.id));
    expect(again.failedAt >= entry.failedAt).to.equal(true);
    expect(peer.requests).to.have.length(2);
  });

  it("retry all sends every failed message of the node again, oldest first; discard drops one", async function () {
    await load();
    await failOne(1);
    await failOne(2);
    const third = await failOne(3);
    expect((await failed()).map((e) => e.key.slice(0, 36))).to.deep.equal([3, 2, 1].map((n) => `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, "0")}`));

    const newest = await helper.request().get("/cse-actions/failed?limit=2").expect(200);
    expect(newest.body.map((e: any) => e.id)).to.deep.equal((await failed()).slice(0, 2).map((e) => e.id));
    expect(newest.headers["x-total-count"]).to.equal("3");
    expect((await helper.request().get("/cse-actions/failed?limit=0").expect(400)).body.message).to.match(/^limit: /);

    await helper.request().delete(`/cse-actions/failed/n1/${third.id}`).expect(204);
    await helper.request().delete(`/cse-actions/failed/n1/${third.id}`).expect(404);
    expect(await failed()).to.have.length(2);

    peer.script({ status: 200, body: "ok" });
    const out = new Inbox("out");
    const res = await helper.request().post("/cse-actions/failed/n1/retry").expect(202);
    expect(res.body).to.include({ retried: 2 });
    const delivered = await out.until(2);
    expect(delivered.map((m) => m.payload.readableId).sort()).to.deep.equal(["INSIGHT-1", "INSIGHT-2"]);
    expect(peer.requests.slice(3).map((r) => r.json.readableId)).to.deep.equal(["INSIGHT-1", "INSIGHT-2"]);
    expect(await failed()).to.deep.equal([]);
  });

  it("answers 404 for an unknown failed message, and 409 keeping it when its node is not running", async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-ops-"));
    await load({ userDir });
    await helper.request().post("/cse-actions/failed/n1/nope/retry").expect(404);
    await helper.request().delete("/cse-actions/failed/n1/nope").expect(404);
    const entry = await failOne();
    await helper.unload();
    await load({ userDir }, [], [httpPostNode], { d: true });
    const res = await helper.request().post(`/cse-actions/failed/n1/${entry.id}/retry`).expect(409);
    expect(res.body.kept[0].reason).to.include("not running");
    expect((await failed()).map((e) => e.id)).to.deep.equal([entry.id]);
    expect(peer.requests).to.have.length(1);
  });

  it("status shows a node whose configuration is invalid, and counts the messages it refuses (not kept as failed)", async function () {
    await load({}, [], [httpPostNode], { url: "ftp://example.com/in" });
    const caught = new Inbox("caught");
    helper.getNode("n1").receive(insightMsg(1));
    await caught.until(1);
    const [status] = (await helper.request().get("/cse-actions/status").expect(200)).body;
    expect(status).to.include({ id: "n1", state: "invalid", refused: 1, failed: 0 });
    expect(status.lastError).to.match(/invalid configuration: url/);
    expect(await failed()).to.deep.equal([]);
    const metrics = (await helper.request().get("/cse-actions/metrics").expect(200)).text;
    expect(sample(metrics, "cse_deliveries_total", { type: "cse-http-post", node: "n1", outcome: "refused" })).to.equal(1);
  });

  it("keeps the failed list across a restart (a file under the user directory) and retries it after the restart", async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-ops-"));
    await load({ userDir });
    const entry = await failOne();
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await new Promise<void>((resolve) => helper.startServer(resolve));
    await load({ userDir });
    const list = await failed();
    expect(list.map((e) => e.id)).to.deep.equal([entry.id]);
    expect(list[0]).to.deep.equal(entry);
    expect(fs.readdirSync(path.join(userDir, "cse-actions-failed"))).to.deep.equal(["n1.jsonl"]);
    expect(fs.readFileSync(path.join(userDir, "cse-actions-failed", "n1.jsonl"), "utf8")).to.not.include("pw-S3cr3t");

    peer.script({ status: 200, body: "ok" });
    const out = new Inbox("out");
    await helper.request().post(`/cse-actions/failed/n1/${entry.id}/retry`).expect(202);
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ ok: true });
    expect(peer.requests[1].headers["idempotency-key"]).to.equal(entry.key);
    expect(await failed()).to.deep.equal([]);
  });

  it("metrics: Prometheus text whose counters move with deliveries, failures, attempts, retries, queue depth and trigger events", async function () {
    await load({}, [{ id: "tr", z: "f1", type: "cse-trigger", name: "Trigger", onInsightCreated: true, pollInterval: 0, wires: [["n1"]] }], [httpPostNode, triggerNode]);
    const scrape = async () => {
      const res = await helper.request().get("/cse-actions/metrics").expect(200);
      expect(res.headers["content-type"]).to.match(/^text\/plain/);
      return res.text as string;
    };
    const labels = { type: "cse-http-post", node: "n1" };
    const before = await scrape();
    expect(before).to.include("# TYPE cse_deliveries_total counter").and.include("# TYPE cse_delivery_duration_seconds histogram");
    expect(sample(before, "cse_deliveries_total", { ...labels, outcome: "delivered" })).to.equal(0);

    // a 503, then a 200: one delivery in two attempts (one retry)
    peer.script({ status: 503, body: "busy" }, { status: 200, body: "ok" });
    const out = new Inbox("out");
    helper.getNode("tr").receive(insightMsg(7));
    await out.until(1);
    // a 401: one failure
    await failOne(8);

    const after = await scrape();
    expect(sample(after, "cse_deliveries_total", { ...labels, outcome: "delivered" })).to.equal(1);
    expect(sample(after, "cse_deliveries_total", { ...labels, outcome: "failed" })).to.equal(1);
    expect(sample(after, "cse_delivery_attempts_total", labels)).to.equal(3);
    expect(sample(after, "cse_delivery_retries_total", labels)).to.equal(1);
    expect(sample(after, "cse_delivery_duration_seconds_count", labels)).to.equal(2);
    expect(sample(after, "cse_queue_depth", labels)).to.equal(0);
    expect(sample(after, "cse_trigger_events_total", { node: "tr", event: "insight.created" })).to.equal(1);
    expect(after).to.not.include("pw-S3cr3t").and.not.include("SOC receiver");

    // a message waiting on a receiver that does not answer yet is in the queue depth
    peer.script({ status: 200, delayMs: 400, body: "ok" });
    helper.getNode("n1").receive(insightMsg(9));
    const waiting = await scrape();
    expect(sample(waiting, "cse_queue_depth", labels)).to.equal(1);
    await out.until(2);
  });
});
