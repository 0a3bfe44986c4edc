import http from "node:http";
import net from "node:net";
import { expect } from "chai";
import helper from "node-red-node-test-helper";
import httpPostNode = require("../../src/nodes/cse-http-post");
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { modernInsight, realInsight, realInsightEnvelope } from "../fakes/insights";

helper.init(require.resolve("node-red"));

const PASSWORD = "pw-S3cr3t-value";
const USERNAME = "analyst";

function flow(props: Record<string, unknown>) {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", z: "f1", type: "cse-http-post", name: "SOC receiver", wires: [["out"]], ...props },
    { id: "out", z: "f1", type: "helper" },
    { id: "c1", z: "f1", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
  ];
}

function next(id: string): Promise<any> {
  return new Promise((resolve) => helper.getNode(id).once("input", resolve));
}

describe("cse-http-post node", function () {
  let peer: HttpPeer;

  beforeEach(async function () {
    peer = await startHttpPeer();
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await peer.close();
  });

  async function load(props: Record<string, unknown> = {}, credentials: Record<string, string> = {}, settings: Record<string, unknown> = {}) {
    helper.settings({ cseDelayScale: 0.001, cseHttpPostAllowedPorts: [peer.port], ...settings } as any);
    await helper.load(httpPostNode as any, flow({ url: `${peer.url}/cse/insights?src=siem`, ...props }), { n1: credentials });
    return helper.getNode("n1") as any;
  }

  it("posts the real Insight byte for byte as the API object, without signals by default", async function () {
    const n1 = await load();
    const done = next("out");
    const insight = realInsight();
    n1.receive({ topic: "insight.closed", payload: insight });
    const msg = await done;
    const [req] = peer.requests;
    const expected = realInsight() as any;
    delete expected.signals;
    expect(req.method).to.equal("POST");
    expect(req.url).to.equal("/cse/insights?src=siem");
    expect(req.headers["content-type"]).to.equal("application/json");
    expect(req.body).to.equal(JSON.stringify(expected));
    expect(req.headers).to.not.have.property("authorization");
    expect(msg.delivery).to.include({ action: "cse-http-post", ok: true, status: 200, attempts: 1 });
    expect(msg.delivery.durationMs).to.be.a("number");
    expect(msg.payload).to.deep.equal(realInsight());
  });

  it("with signals and records sends the API object itself; recordFields keeps only those keys", async function () {
    const n1 = await load({ includeSignals: true, includeRecords: true });
    let done = next("out");
    n1.receive({ topic: "insight.created", payload: realInsight() });
    await done;
    expect(peer.requests[0].body).to.equal(JSON.stringify(realInsight()));

    await helper.unload();
    await load({ includeSignals: true, includeRecords: true, recordFields: "srcDevice_ip, user_username" });
    done = next("out");
    helper.getNode("n1").receive({ topic: "insight.created", payload: modernInsight() });
    await done;
    const body = peer.requests[1].json;
    expect(body.signals).to.have.length(2);
    for (const s of body.signals) for (const r of s.allRecords) expect(Object.keys(r)).to.deep.equal(["srcDevice_ip", "user_username"]);

    await helper.unload();
    await load({ includeSignals: true });
    done = next("out");
    helper.getNode("n1").receive({ topic: "insight.created", payload: modernInsight() });
    await done;
    const signalsOnly = modernInsight() as any;
    for (const s of signalsOnly.signals) delete s.allRecords;
    expect(peer.requests[2].body).to.equal(JSON.stringify(signalsOnly));
  });

  it("accepts a bare Insight envelope as an on-demand run and builds msg.cse", async function () {
    const n1 = await load();
    const done = next("out");
    n1.receive({ topic: "whatever", payload: realInsightEnvelope() });
    const msg = await done;
    expect(msg.cse).to.include({ event: "insight.onDemand", key: `${realInsight().id}:insight.onDemand` });
    const expected = realInsight() as any;
    delete expected.signals;
    expect(peer.requests[0].body).to.equal(JSON.stringify(expected));
  });

  it("sends sensor and rule payloads as they are", async function () {
    const n1 = await load();
    const sensor = { sensorId: "s1", sensorName: "edge", sensorZone: "dmz", lastSeen: "2026-11-28T02:00:00Z" };
    const done = next("out");
    n1.receive({ topic: "sensor.offline", payload: sensor });
    await done;
    expect(peer.requests[0].body).to.equal(JSON.stringify(sensor));
  });

  it("rejects what is not a Cloud SIEM event, sending nothing", async function () {
    const n1 = await load();
    const caught = next("caught");
    n1.receive({ topic: "hello", payload: "world" });
    const msg = await caught;
    expect(msg.error.message).to.match(/^(Error: )?not a Cloud SIEM event/);
    expect(peer.requests).to.have.length(0);
  });

  it("uses Basic auth from the credentials and adds the extra headers", async function () {
    const n1 = await load({ extraHeaders: "X-Source: cloud-siem\nX-Tenant:  acme " }, { username: USERNAME, password: PASSWORD });
    const done = next("out");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    await done;
    const headers = peer.requests[0].headers;
    expect(headers.authorization).to.equal(`Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64")}`);
    expect(headers["x-source"]).to.equal("cloud-siem");
    expect(headers["x-tenant"]).to.equal("acme");
  });

  it("takes ${ENV_VAR} in the URL and the credentials, at deploy and in the Test route", async function () {
    process.env.CSE_TEST_RECEIVER = `${peer.url}/from-env`;
    process.env.CSE_TEST_PASSWORD = "pw-from-env";
    try {
      const n1 = await load({ url: "${CSE_TEST_RECEIVER}" }, { username: USERNAME, password: "${CSE_TEST_PASSWORD}" });
      const done = next("out");
      n1.receive({ topic: "insight.created", payload: modernInsight() });
      await done;
      expect(peer.requests[0].url).to.equal("/from-env");
      expect(peer.requests[0].headers.authorization).to.equal(`Basic ${Buffer.from(`${USERNAME}:pw-from-env`).toString("base64")}`);
      const res = await helper
        .request()
        .post("/cse-actions/test/cse-http-post")
        .send({ id: "n1", properties: { url: "${CSE_TEST_RECEIVER}" }, credentials: { username: USERNAME, password: "__PWRD__" } });
      expect(res.body).to.include({ ok: true });
      expect(peer.requests[1].headers.authorization).to.equal(peer.requests[0].headers.authorization);
    } finally {
      delete process.env.CSE_TEST_RECEIVER;
      delete process.env.CSE_TEST_PASSWORD;
    }
  });

  it("shows a config error for a bad header line and rejects every message", async function () {
    const n1 = await load({ extraHeaders: "X-Ok: 1\nbroken line" });
    expect(n1.status.lastCall.args[0]).to.include({ fill: "red", shape: "ring" });
    expect(n1.status.lastCall.args[0].text).to.include("extraHeaders").and.include("line 2");
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await caught;
    expect(msg.error.message).to.include('cse-http-post "SOC receiver": invalid configuration: extraHeaders: line 2');
    expect(peer.requests).to.have.length(0);
  });

  it("retries a 503 and succeeds on the second attempt", async function () {
    peer.script({ status: 503, body: "busy" }, { status: 200, body: "ok" });
    const n1 = await load();
    const done = next("out");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await done;
    expect(peer.requests).to.have.length(2);
    expect(msg.delivery).to.include({ ok: true, status: 200, attempts: 2 });
    const texts = n1.status.getCalls().map((c: any) => c.args[0].text);
    expect(texts).to.include("retrying (2/5)");
    expect(texts.at(-1)).to.match(/^sent \d\d:\d\d:\d\d$/);
  });

  it("coalesces its status under load: a handful of updates for 200 messages, the last one shown", async function () {
    const n1 = await load();
    const out = helper.getNode("out");
    let delivered = 0;
    const all = new Promise<void>((resolve) => out.on("input", () => ++delivered === 200 && resolve()));
    for (let i = 0; i < 200; i++) n1.receive({ topic: "insight.created", payload: modernInsight({ id: `burst-${i}` } as any) });
    await all;
    const texts = n1.status.getCalls().map((c: any) => c.args[0].text);
    // One "sent" per distinct clock second and perhaps a "sending" per quarter second, not two per message.
    expect(texts.length).to.be.within(1, 20);
    expect(texts.at(-1)).to.match(/^sent \d\d:\d\d:\d\d$/);
  });

  it("shows a slow request as sending, once it is still the latest state a moment later", async function () {
    peer.script({ delayMs: 600, status: 200 });
    const n1 = await load();
    const done = next("out");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    await new Promise((r) => setTimeout(r, 400));
    expect(n1.status.lastCall.args[0]).to.include({ fill: "blue", text: "sending" });
    await done;
    expect(n1.status.lastCall.args[0].text).to.match(/^sent /);
  });

  it("honours Retry-After in seconds and as an HTTP date", async function () {
    // cseDelayScale 0.05: Retry-After 4 s is a 200 ms wait, where backoff would wait at most 50 ms.
    peer.script({ status: 429, headers: { "Retry-After": "4" } }, { status: 429, headers: { "Retry-After": new Date(Date.now() + 6000).toUTCString() } }, { status: 200 });
    const n1 = await load({}, {}, { cseDelayScale: 0.05 });
    const done = next("out");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await done;
    expect(msg.delivery).to.include({ ok: true, attempts: 3 });
    const [a, b, c] = peer.requests.map((r) => r.at);
    expect(b - a).to.be.at.least(190);
    expect(c - b).to.be.at.least(190);
  });

  it("fails instead of waiting when Retry-After is longer than 5 minutes", async function () {
    peer.script({ status: 429, headers: { "Retry-After": "3600" }, body: "slow_down" });
    const n1 = await load();
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await caught;
    expect(msg.error.message).to.include("HTTP 429 slow_down").and.include("more than 5 minutes");
    expect(msg.delivery).to.include({ ok: false, status: 429, attempts: 1 });
    expect(peer.requests).to.have.length(1);
  });

  it("does not retry a 400 and tells Catch which node and what the receiver said", async function () {
    peer.script({ status: 400, body: "invalid_insight" });
    const n1 = await load();
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await caught;
    expect(msg.error.message).to.include('cse-http-post "SOC receiver"').and.include("HTTP 400 invalid_insight");
    expect(msg.error.source).to.include({ id: "n1", type: "cse-http-post" });
    expect(msg.delivery).to.deep.include({ action: "cse-http-post", ok: false, status: 400, attempts: 1 });
    expect(peer.requests).to.have.length(1);
    expect(n1.status.lastCall.args[0]).to.include({ fill: "red", text: "failed: HTTP 400 invalid_insight" });
  });

  it("gives up on a hung server after `timeout` per attempt", async function () {
    peer.script({ hang: true });
    const n1 = await load({ timeout: 150, maxAttempts: 2 });
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await caught;
    expect(msg.error.message).to.include("did not answer within 150 ms").and.include("gave up after 2 attempts");
    expect(msg.delivery).to.include({ ok: false, status: null, attempts: 2 });
    expect(peer.requests).to.have.length(2);
  });

  it("never follows a redirect, naming its host", async function () {
    peer.script({ status: 302, headers: { Location: "https://collector.evil.example:8443/grab?key=abc" } }, { status: 200 });
    const n1 = await load();
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await caught;
    expect(msg.error.message).to.include("redirect to collector.evil.example:8443 not followed");
    expect(msg.error.message).to.not.include("grab");
    expect(peer.requests).to.have.length(1);
  });

  it("refuses a port outside the default allow-list at deploy and for every message", async function () {
    helper.settings({ cseDelayScale: 0.001 } as any);
    await helper.load(httpPostNode as any, flow({ url: `${peer.url}/in` }), { n1: {} });
    const n1 = helper.getNode("n1") as any;
    expect(n1.status.lastCall.args[0]).to.include({ fill: "red", shape: "ring" });
    expect(n1.status.lastCall.args[0].text).to.include(`url: port ${peer.port}`);
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await caught;
    expect(msg.error.message).to.include(`port ${peer.port} is not allowed (allowed: 80, 8080, 443, 8443, 8000`);
    expect(msg.delivery).to.include({ ok: false, attempts: 0 });
    expect(peer.requests).to.have.length(0);
  });

  it("takes the cseHttpPostAllowedPorts setting as the whole list", async function () {
    const n1 = await load({ url: "https://receiver.example/in" }, {}, { cseHttpPostAllowedPorts: [9443] });
    expect(n1.status.lastCall.args[0].text).to.include("url: port 443 is not allowed");
  });

  it("refuses a message when the queue is full, as an error to Catch", async function () {
    peer.script({ hang: true });
    const n1 = await load({}, {}, { cseQueueLimit: 1, cseConcurrency: 1 });
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    await peer.waitForRequests(1);
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await caught;
    expect(msg.error.message).to.include('cse-http-post "SOC receiver": queue full (1 messages waiting); message refused');
    expect(msg.delivery).to.include({ ok: false, attempts: 0 });
  });

  it("aborts in-flight requests when the node closes, quickly, and reports them to Catch", async function () {
    peer.script({ hang: true });
    const n1 = await load({}, {}, { cseConcurrency: 1 });
    const caught: any[] = [];
    helper.getNode("caught").on("input", (msg: any) => caught.push(msg));
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    await peer.waitForRequests(1);
    expect(peer.openConnections()).to.be.greaterThan(0);
    const started = Date.now();
    await n1.close(false);
    expect(Date.now() - started).to.be.below(3000);
    await new Promise((r) => setTimeout(r, 50));
    expect(peer.openConnections()).to.equal(0);
    expect(peer.requests).to.have.length(1);
    expect(caught).to.have.length(2);
    for (const msg of caught) {
      expect(msg.error.message).to.include('cse-http-post "SOC receiver": the node closed before the message was delivered');
      expect(msg.delivery).to.include({ ok: false });
    }
  });

  it("sends msg.cse.key as Idempotency-Key, the same on every retry", async function () {
    peer.script({ status: 503 }, { status: 200 });
    const n1 = await load({ extraHeaders: "Idempotency-Key: static-from-user\nX-Other: 1" });
    const done = next("out");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await done;
    expect(peer.requests).to.have.length(2);
    for (const req of peer.requests) {
      expect(req.headers["idempotency-key"]).to.equal(msg.cse.key);
      expect(req.headers["x-other"]).to.equal("1");
    }
    expect(msg.cse.key).to.equal(`${modernInsight().id}:insight.created`);
    const raw = JSON.stringify(peer.requests.map((r) => r.headers));
    expect(raw).to.not.include("static-from-user");
  });

  it("gives each on-demand run its own Idempotency-Key, kept across its retries", async function () {
    peer.script({ status: 502 }, { status: 200 });
    const n1 = await load();
    let done = next("out");
    n1.receive({ payload: realInsightEnvelope() });
    await done;
    done = next("out");
    n1.receive({ payload: realInsightEnvelope() });
    await done;
    const keys = peer.requests.map((r) => r.headers["idempotency-key"]);
    expect(keys).to.have.length(3); // 502 + 200 for the first run, 200 for the second
    expect(keys[0]).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(keys[1]).to.equal(keys[0]);
    expect(keys[2]).to.not.equal(keys[0]);
  });

  it("percent-encodes an Idempotency-Key that is not plain ASCII, so it cannot add headers", async function () {
    const n1 = await load();
    const done = next("out");
    n1.receive({ topic: "insight.created", payload: modernInsight({ id: "ïd\r\nX-Injected: yes" } as any) });
    await done;
    const headers = peer.requests[0].headers;
    expect(headers["idempotency-key"]).to.equal("%C3%AFd%0D%0AX-Injected%3A%20yes%3Ainsight.created");
    expect(headers).to.not.have.property("x-injected");
  });

  it("refuses cloud metadata addresses in any spelling before connecting, unless allowed", async function () {
    for (const url of ["http://169.254.169.254/latest/meta-data/", "http://2852039166/", "http://[::ffff:a9fe:a9fe]/", "http://0xa9fea9fe/"]) {
      await helper.unload();
      const n1 = await load({ url, timeout: 200, maxAttempts: 1 }, {}, { cseHttpPostAllowedPorts: [80] });
      const caught = next("caught");
      n1.receive({ topic: "insight.created", payload: modernInsight() });
      const msg = await caught;
      expect(msg.error.message, url).to.include("cloud metadata address");
    }
    await helper.unload();
    const n1 = await load({ url: "http://2852039166/", timeout: 200, maxAttempts: 1 }, {}, { cseHttpPostAllowedPorts: [80], cseAllowMetadataAddresses: true });
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await caught;
    expect(msg.error.message).to.not.include("cloud metadata address");
  });

  it("never shows a configured secret in errors, logs, status or msg.delivery", async function () {
    peer.script({ status: 401, body: `bad credentials ${PASSWORD}` }, { status: 500, body: PASSWORD });
    const n1 = await load({ extraHeaders: "X-A: 1" }, { username: USERNAME, password: PASSWORD });
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await caught;
    const basic = Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64");
    const seen = JSON.stringify([
      msg.error,
      msg.delivery,
      n1.status.getCalls().map((c: any) => c.args),
      n1.error.getCalls().map((c: any) => String(c.args[0]?.message ?? c.args[0])),
      helper.log().args.map((a: any) => a[0]),
    ]);
    expect(seen).to.include("HTTP 401");
    expect(seen).to.not.include(PASSWORD);
    expect(seen).to.not.include(basic);
  });

  it("answers the editor's Test button with the stored password, through the same path", async function () {
    await load({}, { username: USERNAME, password: PASSWORD });
    const res = await helper
      .request()
      .post("/cse-actions/test/cse-http-post")
      .send({ id: "n1", properties: { url: `${peer.url}/test`, name: "t" }, credentials: { username: USERNAME, password: "__PWRD__" } });
    expect(res.body).to.include({ ok: true, status: 200 });
    expect(res.body.message).to.include("200");
    const req = peer.requests[0];
    expect(req.url).to.equal("/test");
    expect(req.headers.authorization).to.equal(`Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64")}`);
    expect(req.json).to.include({ readableId: "INSIGHT-0" });

    peer.script({ status: 403, body: "forbidden_token" });
    const bad = await helper.request().post("/cse-actions/test/cse-http-post").send({ id: "n1", properties: { url: `${peer.url}/test` }, credentials: { password: "other" } });
    expect(bad.body).to.include({ ok: false, status: 403 });
    expect(bad.body.message).to.include("HTTP 403 forbidden_token");

    const invalid = await helper.request().post("/cse-actions/test/cse-http-post").send({ id: "n1", properties: { url: "https://a.example:22/" }, credentials: {} });
    expect(invalid.body.ok).to.equal(false);
    expect(invalid.body.message).to.include("url: port 22 is not allowed");
  });

  it("goes through HTTP_PROXY for http targets (NO_PROXY respected)", async function () {
    const seen: string[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const target = new URL(req.url!);
      const upstream = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const saved = { ...process.env };
    try {
      delete process.env.NO_PROXY;
      delete process.env.no_proxy;
      process.env.http_proxy = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
      const n1 = await load();
      const done = next("out");
      n1.receive({ topic: "insight.created", payload: modernInsight() });
      await done;
      expect(seen).to.deep.equal([`POST ${peer.url}/cse/insights?src=siem`]);
      expect(peer.requests).to.have.length(1);

      process.env.no_proxy = "127.0.0.1";
      const again = next("out");
      n1.receive({ topic: "insight.created", payload: modernInsight() });
      await again;
      expect(seen).to.have.length(1);
      expect(peer.requests).to.have.length(2);
    } finally {
      for (const key of ["http_proxy", "no_proxy", "HTTP_PROXY", "NO_PROXY"]) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });
});
