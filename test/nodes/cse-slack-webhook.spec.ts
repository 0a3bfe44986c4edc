import { expect } from "chai";
import helper from "node-red-node-test-helper";
import slackWebhookNode = require("../../src/nodes/cse-slack-webhook");
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { modernInsight, realInsight } from "../fakes/insights";

helper.init(require.resolve("node-red"));

const HOOK_PATH = "/services/T0SECRET1/B0SECRET2/xoxWebhookToken42";

function flow(props: Record<string, unknown> = {}) {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", z: "f1", type: "cse-slack-webhook", name: "SOC channel", wires: [["out"]], ...props },
    { id: "out", z: "f1", type: "helper" },
    { id: "c1", z: "f1", type: "catch", scope: null, uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
  ];
}

function next(id: string): Promise<any> {
  return new Promise((resolve) => helper.getNode(id).once("input", resolve));
}

function unescape(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function codeBlockOf(text: string): any {
  return JSON.parse(unescape(/```\n([\s\S]*)\n```$/.exec(text)![1]));
}

describe("cse-slack-webhook node", function () {
  let peer: HttpPeer;
  let hookUrl: string;

  beforeEach(async function () {
    peer = await startHttpPeer();
    hookUrl = `${peer.url}${HOOK_PATH}`;
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await peer.close();
  });

  async function load(props: Record<string, unknown> = {}, url: string | null = hookUrl) {
    helper.settings({ cseDelayScale: 0.001 } as any);
    await helper.load(slackWebhookNode as any, flow(props), { n1: url === null ? {} : { url } });
    return helper.getNode("n1") as any;
  }

  it("posts {text} with a summary line and the Insight JSON in a code block", async function () {
    peer.script({ status: 200, body: "ok", headers: { "Content-Type": "text/html" } });
    const n1 = await load();
    const done = next("out");
    const insight = modernInsight();
    n1.receive({ topic: "insight.created", payload: insight, cse: undefined });
    const msg = await done;
    const req = peer.requests[0];
    expect(req.method).to.equal("POST");
    expect(req.url).to.equal(HOOK_PATH);
    expect(req.headers["content-type"]).to.match(/^application\/json/);
    expect(Object.keys(req.json)).to.deep.equal(["text"]);
    expect(req.json.text.split("\n")[0]).to.include("INSIGHT-1234").and.include("Initial Access");
    expect(codeBlockOf(req.json.text)).to.deep.equal(insight);
    expect(msg.delivery).to.include({ action: "cse-slack-webhook", ok: true, status: 200, attempts: 1 });
  });

  it("keeps a huge Insight under Slack's limit, dropping records first and saying so", async function () {
    const n1 = await load();
    const done = next("out");
    n1.receive({ topic: "insight.created", payload: modernInsight({}, 80) });
    await done;
    const text: string = peer.requests[0].json.text;
    expect(text.length).to.be.at.most(40_000);
    expect(text).to.include("Records left out");
    expect(codeBlockOf(text).signals[0]).to.not.have.property("allRecords");
  });

  it("fails at once on 400 no_text, with Slack's code in the Catch message", async function () {
    peer.script({ status: 400, body: "no_text" });
    const n1 = await load();
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: realInsight() });
    const msg = await caught;
    expect(msg.error.message).to.include('cse-slack-webhook "SOC channel": Slack answered HTTP 400 no_text');
    expect(msg.delivery).to.include({ ok: false, status: 400, attempts: 1, code: "no_text" });
    expect(peer.requests).to.have.length(1);
  });

  for (const [status, code] of [[403, "action_prohibited"], [404, "no_service"], [410, "channel_is_archived"]] as const) {
    it(`treats ${status} ${code} as permanent`, async function () {
      peer.script({ status, body: code });
      const n1 = await load();
      const caught = next("caught");
      n1.receive({ topic: "insight.created", payload: modernInsight() });
      const msg = await caught;
      expect(msg.error.message).to.include(`HTTP ${status} ${code}`);
      expect(peer.requests).to.have.length(1);
    });
  }

  it("retries 429 (Retry-After) and 5xx", async function () {
    peer.script({ status: 429, headers: { "Retry-After": "1" }, body: "rate_limited" }, { status: 500, body: "rollup_error" }, { status: 200, body: "ok" });
    const n1 = await load();
    const done = next("out");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await done;
    expect(msg.delivery).to.include({ ok: true, attempts: 3 });
  });

  it("never shows the webhook URL's path in errors, logs, status or msg", async function () {
    peer.script({ status: 404, body: `no_service` }, { status: 200 });
    const n1 = await load();
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg = await caught;
    peer.script({ reset: true });
    const second = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    const msg2 = await second;
    const seen = JSON.stringify([
      msg,
      msg2.error,
      n1.status.getCalls().map((c: any) => c.args),
      helper.log().args.map((a: any) => a[0]),
    ]);
    expect(seen).to.include("no_service");
    for (const part of ["T0SECRET1", "B0SECRET2", "xoxWebhookToken42"]) expect(seen).to.not.include(part);
  });

  it("requires an https URL (http only to this machine) and shows the problem without the URL", async function () {
    const n1 = await load({}, "http://hooks.slack.example/services/T0SECRET1/B0SECRET2/xoxWebhookToken42");
    const status = n1.status.lastCall.args[0];
    expect(status).to.include({ fill: "red", shape: "ring" });
    expect(status.text).to.include("url: must start with https://");
    expect(JSON.stringify(status)).to.not.include("xoxWebhookToken42");
    const caught = next("caught");
    n1.receive({ topic: "insight.created", payload: modernInsight() });
    expect((await caught).error.message).to.include("invalid configuration: url:");
    await helper.unload();
    const missing = await load({}, null);
    expect(missing.status.lastCall.args[0].text).to.include("url: is required");
  });

  it("answers the Test button using the stored webhook URL", async function () {
    await load();
    const res = await helper.request().post("/cse-actions/test/cse-slack-webhook").send({ id: "n1", properties: { name: "x" }, credentials: { url: "__PWRD__" } });
    expect(res.body).to.include({ ok: true, status: 200 });
    expect(peer.requests[0].url).to.equal(HOOK_PATH);
    expect(peer.requests[0].json.text).to.include("INSIGHT-0");

    peer.script({ status: 404, body: "no_service" });
    const bad = await helper.request().post("/cse-actions/test/cse-slack-webhook").send({ id: "n1", properties: {}, credentials: { url: "__PWRD__" } });
    expect(bad.body).to.include({ ok: false, status: 404 });
    expect(bad.body.message).to.include("HTTP 404 no_service");
    expect(JSON.stringify(bad.body)).to.not.include("xoxWebhookToken42");
  });
});
