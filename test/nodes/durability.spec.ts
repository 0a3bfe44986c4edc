import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import helper from "node-red-node-test-helper";
import httpPostNode = require("../../src/nodes/cse-http-post");
import pagerDutyNode = require("../../src/nodes/cse-pagerduty");
import { FileJournal, readJournal } from "../../src/delivery/journal";
import { fullJson } from "../../src/render/full-json";
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { modernInsight, sensorOfflinePayload } from "../fakes/insights";

helper.init(require.resolve("node-red"));

const PASSWORD = "pw-Durable-S3cret";

function flow(url: string, props: Record<string, unknown> = {}) {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", z: "f1", type: "cse-http-post", name: "durable", url, wires: [["out"]], ...props },
    { id: "out", z: "f1", type: "helper" },
    { id: "c1", z: "f1", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
  ];
}

function insight(n: number) {
  return modernInsight({ id: `durable-${n}`, readableId: `INSIGHT-${n}` } as any, 1);
}

/** Every message a helper node receives from now on. */
function collect(id: string): any[] {
  const seen: any[] = [];
  helper.getNode(id).on("input", (msg: any) => seen.push(msg));
  return seen;
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("action nodes: durable delivery (journal)", function () {
  let peer: HttpPeer;
  let userDir: string;
  let journalPath: string;

  beforeEach(async function () {
    peer = await startHttpPeer();
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-durable-"));
    journalPath = path.join(userDir, "cse-actions-journal", "n1.jsonl");
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await peer.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  async function load(props: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) {
    helper.settings({ userDir, cseDelayScale: 0.001, cseHttpPostAllowedPorts: [peer.port], ...settings } as any);
    await helper.load(httpPostNode as any, flow(`${peer.url}/in`, props), { n1: { username: "soc", password: PASSWORD } });
    return helper.getNode("n1") as any;
  }

  const journalled = () => readJournal(journalPath).entries;

  it("journals an accepted message under the user directory before the first attempt, without credentials", async function () {
    peer.script({ hang: true });
    const n1 = await load({ timeout: 60_000 });
    n1.receive({ topic: "insight.created", payload: insight(1), custom: { ticket: 7 }, fn: () => 1 });
    const [request] = await peer.waitForRequests(1);
    const entries = journalled();
    expect(entries).to.have.length(1);
    expect(entries[0].msg).to.deep.include({ topic: "insight.created", custom: { ticket: 7 } });
    expect(entries[0].msg).to.not.have.property("fn");
    expect((entries[0].msg as any).payload.id).to.equal("durable-1");
    expect(request.headers["idempotency-key"]).to.equal("durable-1:insight.created");
    const text = fs.readFileSync(journalPath, "utf8");
    expect(text).to.not.include(PASSWORD);
    expect(text).to.not.include(Buffer.from(`soc:${PASSWORD}`).toString("base64"));
  });

  it("removes a message from the journal once delivered, and once failed for good", async function () {
    peer.script({ status: 200 }, { status: 400, body: "bad_insight" });
    const n1 = await load();
    const out = collect("out");
    const caught = collect("caught");
    n1.receive({ topic: "insight.created", payload: insight(1) });
    n1.receive({ topic: "insight.created", payload: insight(2) });
    await until("both outcomes", () => out.length + caught.length === 2);
    await until("the journal to empty", () => journalled().length === 0);
    expect(out).to.have.length(1);
    expect(caught[0].error.message).to.include("HTTP 400 bad_insight");
  });

  it("resumes exactly the unfinished messages after a redeploy, with the same idempotency keys", async function () {
    // The first message is answered; the two after it hang until the node is redeployed.
    peer.script({ status: 200 }, { hang: true });
    const n1 = await load({ timeout: 60_000 });
    let out = collect("out");
    let caught = collect("caught");
    n1.receive({ topic: "insight.created", payload: insight(1) });
    await until("the first delivery", () => out.length === 1);
    n1.receive({ topic: "insight.created", payload: insight(2), ticket: "T-2" });
    n1.receive({ topic: "insight.onDemand", payload: insight(3) });
    await peer.waitForRequests(3);
    expect(journalled().map((e) => (e.msg as any).payload.id)).to.deep.equal(["durable-2", "durable-3"]);
    const before = peer.requests.slice(1).map((r) => r.headers["idempotency-key"]);

    await helper.unload(); // a redeploy stops the node (not removed): in-flight requests are aborted ...
    expect(caught).to.deep.equal([]); // ... and nothing is reported: the journal keeps them
    expect(journalled()).to.have.length(2);
    await until("the aborted connections to close", () => peer.openConnections() === 0);

    peer.script({ status: 200 });
    await load({ timeout: 60_000 }); // the same node id and user directory
    out = collect("out");
    caught = collect("caught");
    await until("the resumed deliveries", () => out.length === 2, 5000);
    const resent = peer.requests.slice(3);
    expect(resent.map((r) => r.json.id).sort()).to.deep.equal(["durable-2", "durable-3"]);
    expect(resent.map((r) => r.headers["idempotency-key"]).sort()).to.deep.equal([...before].sort());
    expect(before[0]).to.equal("durable-2:insight.created");
    expect(before[1]).to.match(/^[0-9a-f-]{36}$/); // an on-demand run: the id given when it was accepted
    const second = out.find((m) => m.payload.id === "durable-2");
    expect(second).to.deep.include({ topic: "insight.created", ticket: "T-2" });
    expect(second.delivery).to.include({ action: "cse-http-post", ok: true, status: 200 });
    expect(caught).to.deep.equal([]);
    await until("the journal to empty", () => journalled().length === 0);
    expect(peer.requests.filter((r) => r.json.id === "durable-1")).to.have.length(1);
  });

  it("sends resumed messages in the order they were accepted", async function () {
    peer.script({ hang: true });
    await load({ timeout: 60_000 }, { cseConcurrency: 1 });
    const n1 = helper.getNode("n1") as any;
    for (let i = 1; i <= 5; i++) n1.receive({ topic: "insight.created", payload: insight(i) });
    await peer.waitForRequests(1);
    await until("all five journalled", () => journalled().length === 5);
    await helper.unload();

    peer.script({ status: 200 });
    await load({}, { cseConcurrency: 1 });
    const out = collect("out");
    await until("the resumed deliveries", () => out.length === 5);
    expect(peer.requests.slice(1).map((r) => r.json.id)).to.deep.equal(["durable-1", "durable-2", "durable-3", "durable-4", "durable-5"]);
    expect(out.map((m) => m.payload.id)).to.deep.equal(["durable-1", "durable-2", "durable-3", "durable-4", "durable-5"]);
  });

  it("reports a resumed message that fails for good to Catch, with the original message", async function () {
    peer.script({ hang: true });
    const n1 = await load({ timeout: 60_000 });
    n1.receive({ _msgid: "orig-1", topic: "insight.created", payload: insight(9), ticket: "T-9" });
    await peer.waitForRequests(1);
    await helper.unload();

    peer.script({ status: 422, body: "unprocessable" });
    await load();
    const caught = collect("caught");
    await until("the failure", () => caught.length === 1);
    expect(caught[0].error.message).to.include('cse-http-post "durable"').and.include("HTTP 422 unprocessable");
    expect(caught[0]).to.deep.include({ _msgid: "orig-1", ticket: "T-9" });
    expect(caught[0].error.source).to.include({ id: "n1", type: "cse-http-post" });
    expect(caught[0].delivery).to.include({ ok: false, status: 422 });
    await until("the journal to empty", () => journalled().length === 0);
  });

  it("reports journalled messages to Catch when the node starts again with an invalid configuration", async function () {
    peer.script({ hang: true });
    const n1 = await load({ timeout: 60_000 });
    n1.receive({ topic: "insight.created", payload: insight(4), ticket: "T-4" });
    await peer.waitForRequests(1);
    await helper.unload();

    await load({ extraHeaders: "broken header line" });
    const caught = collect("caught");
    await until("the report", () => caught.length === 1);
    expect(caught[0].error.message).to.include('cse-http-post "durable": invalid configuration: extraHeaders: line 1');
    expect(caught[0]).to.deep.include({ ticket: "T-4" });
    expect(peer.requests).to.have.length(1);
    await until("the journal to empty", () => journalled().length === 0);
  });

  it("when the node is removed, tells Catch of every unfinished message and deletes its journal", async function () {
    peer.script({ hang: true });
    const n1 = await load({ timeout: 60_000 }, { cseConcurrency: 1 });
    const caught = collect("caught");
    n1.receive({ topic: "insight.created", payload: insight(1) });
    n1.receive({ topic: "insight.created", payload: insight(2) });
    await peer.waitForRequests(1);
    expect(journalled()).to.have.length(2);
    const started = Date.now();
    await n1.close(true);
    expect(Date.now() - started).to.be.below(3000);
    await until("both reports", () => caught.length === 2);
    for (const msg of caught) expect(msg.error.message).to.include('cse-http-post "durable": the node closed before the message was delivered');
    expect(caught.map((m) => m.payload.id).sort()).to.deep.equal(["durable-1", "durable-2"]);
    expect(fs.existsSync(journalPath)).to.equal(false);
  });

  it("skips a line torn by a crash and delivers the rest", async function () {
    fs.mkdirSync(path.dirname(journalPath), { recursive: true });
    const good = { id: "4b1d0c2e-0000-4000-8000-000000000001", acceptedAt: "2026-11-28T05:00:00.000Z", msg: { topic: "insight.created", payload: insight(5) } };
    fs.writeFileSync(journalPath, `${JSON.stringify(good)}\n{"id":"torn","acceptedAt":"2026-11-28T05:00:01.000Z","msg":{"topic":"ins`);
    peer.script({ status: 200 });
    const n1 = await load();
    const out = collect("out");
    await until("the delivery", () => out.length === 1);
    expect(peer.requests.map((r) => r.json.id)).to.deep.equal(["durable-5"]);
    expect(n1.warn.getCalls().filter((c: any) => c.thisValue === n1).map((c: any) => String(c.args[0])).join("\n")).to.include("skipped 1 unreadable line");
  });

  it("falls back to memory with a warning when the user directory cannot be written", async function () {
    const blocked = path.join(userDir, "file-not-dir");
    fs.writeFileSync(blocked, "");
    peer.script({ status: 200 }, { hang: true });
    helper.settings({ userDir: blocked, cseDelayScale: 0.001, cseHttpPostAllowedPorts: [peer.port] } as any);
    await helper.load(httpPostNode as any, flow(`${peer.url}/in`, { timeout: 60_000 }), { n1: {} });
    const n1 = helper.getNode("n1") as any;
    const warnings = n1.warn.getCalls().filter((c: any) => c.thisValue === n1).map((c: any) => String(c.args[0]));
    expect(warnings.join("\n")).to.include('cse-http-post "durable": cannot keep a journal in').and.include("kept in memory only");
    const out = collect("out");
    const caught = collect("caught");
    n1.receive({ topic: "insight.created", payload: insight(1) });
    await until("the delivery", () => out.length === 1);
    // Without a journal, closing cannot keep the unfinished message: Catch hears of it instead.
    n1.receive({ topic: "insight.created", payload: insight(2) });
    await peer.waitForRequests(2);
    await n1.close(false);
    await until("the report", () => caught.length === 1);
    expect(caught[0].error.message).to.include("the node closed before the message was delivered");
  });

  describe("the body of cse-http-post, serialised once", function () {
    /** An Insight with non-ASCII text, so byte offsets in the journal differ from string offsets. */
    const unicodeInsight = (n: number) => modernInsight({ id: `durable-${n}`, readableId: `INSIGHT-${n}`, name: `Übergröße ✓ 日本語 ${n}` } as any, 2);
    const whole = { includeSignals: true, includeRecords: true };
    /** What the journal gave back for each attempt that asked (bytes, or undefined). */
    let readBack: (Buffer | undefined)[];
    let realPayloadJson: typeof FileJournal.prototype.payloadJson;

    beforeEach(function () {
      readBack = [];
      realPayloadJson = FileJournal.prototype.payloadJson;
      FileJournal.prototype.payloadJson = function (this: FileJournal, id: string) {
        const json = realPayloadJson.call(this, id);
        readBack.push(json);
        return json;
      };
    });

    afterEach(function () {
      FileJournal.prototype.payloadJson = realPayloadJson;
    });

    function expectBody(request: { raw: Buffer; headers: Record<string, unknown> }, expected: string) {
      expect(request.raw.equals(Buffer.from(expected)), request.raw.toString("utf8").slice(0, 200)).to.equal(true);
      expect(request.headers["content-length"]).to.equal(String(Buffer.byteLength(expected)));
    }

    it("sends the bytes the journal wrote at accept time, the same as JSON.stringify(payload)", async function () {
      const n1 = await load(whole);
      const out = collect("out");
      const payload = unicodeInsight(1);
      const sensor = sensorOfflinePayload();
      n1.receive({ topic: "insight.created", payload, note: "ß" });
      n1.receive({ topic: "sensor.offline", payload: sensor });
      await until("both deliveries", () => out.length === 2);
      const byId = (id: string) => peer.requests.find((r) => r.json.id === id || r.json.sensorId === id)!;
      expectBody(byId("durable-1"), JSON.stringify(payload));
      expectBody(byId(sensor.sensorId), JSON.stringify(sensor));
      const lengths = (list: (number | undefined)[]) => list.sort((x, y) => (x ?? -1) - (y ?? -1));
      expect(lengths(readBack.map((json) => json?.length))).to.deep.equal(lengths(peer.requests.map((r) => r.raw.length)));
    });

    it("sends a message taken back after a restart with the same bytes", async function () {
      peer.script({ hang: true });
      const n1 = await load({ ...whole, timeout: 60_000 });
      const payload = unicodeInsight(2);
      n1.receive({ topic: "insight.created", payload });
      await peer.waitForRequests(1);
      expectBody(peer.requests[0], JSON.stringify(payload));
      await helper.unload();
      await until("the aborted connection to close", () => peer.openConnections() === 0);

      peer.script({ status: 200 });
      readBack = [];
      await load(whole);
      const out = collect("out");
      await until("the resumed delivery", () => out.length === 1);
      expectBody(peer.requests[1], JSON.stringify(payload));
      expect(readBack.filter(Boolean)).to.have.length(1);
    });

    it("serialises the payload itself when the options shape the Insight or the payload is not the object sent", async function () {
      const shaping = { includeSignals: true, includeRecords: true, recordFields: "action, device_ip" };
      const n1 = await load(shaping);
      const out = collect("out");
      const payload = unicodeInsight(3);
      n1.receive({ topic: "insight.created", payload });
      // A text payload: the event is the parsed object, not what the journal wrote.
      const text = unicodeInsight(4);
      n1.receive({ topic: "insight.created", payload: JSON.stringify(text) });
      await until("both deliveries", () => out.length === 2);
      const byId = (id: string) => peer.requests.find((r) => r.json.id === id)!;
      expectBody(byId("durable-3"), fullJson(payload, { ...whole, recordFields: ["action", "device_ip"] }));
      expectBody(byId("durable-4"), fullJson(text, { ...whole, recordFields: ["action", "device_ip"] }));
      expect(readBack).to.deep.equal([]);
    });

    it("serialises it when there is no journal file (memory only), with the same bytes", async function () {
      helper.settings({ cseDelayScale: 0.001, cseHttpPostAllowedPorts: [peer.port] } as any);
      await helper.load(httpPostNode as any, flow(`${peer.url}/in`, whole), { n1: {} });
      const out = collect("out");
      const payload = unicodeInsight(5);
      (helper.getNode("n1") as any).receive({ topic: "insight.created", payload });
      await until("the delivery", () => out.length === 1);
      expectBody(peer.requests[0], JSON.stringify(payload));
      expect(readBack).to.deep.equal([]);
    });
  });

  it("works the same for every action node: cse-pagerduty resumes after a redeploy with the same dedup_key", async function () {
    const pdFlow = [
      { id: "f1", type: "tab" },
      { id: "n1", z: "f1", type: "cse-pagerduty", name: "SOC", apiVersion: "v2", subdomain: "acme", apiUrl: peer.url, timeout: 60_000, wires: [["out"]] },
      { id: "out", z: "f1", type: "helper" },
    ];
    const serviceKey = "R0UT1NGKEY-durable-0123456789abcdef";
    helper.settings({ userDir, cseDelayScale: 0.001 } as any);
    peer.script({ hang: true });
    await helper.load(pagerDutyNode as any, pdFlow, { n1: { serviceKey } });
    (helper.getNode("n1") as any).receive({ topic: "insight.created", payload: insight(7) });
    await peer.waitForRequests(1);
    expect(journalled()).to.have.length(1);
    expect(fs.readFileSync(journalPath, "utf8")).to.include("INSIGHT-7").and.not.include(serviceKey);
    await helper.unload();

    peer.script({ status: 202, body: { status: "success", message: "Event processed", dedup_key: "INSIGHT-7" } });
    await helper.load(pagerDutyNode as any, pdFlow, { n1: { serviceKey } });
    const out = collect("out");
    await until("the resumed delivery", () => out.length === 1);
    expect(peer.requests.map((r) => r.json.dedup_key)).to.deep.equal(["INSIGHT-7", "INSIGHT-7"]);
    expect(out[0].delivery).to.include({ action: "cse-pagerduty", ok: true, status: 202 });
    await until("the journal to empty", () => journalled().length === 0);
  });
});
