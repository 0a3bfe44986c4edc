/**
 * The network guard and secret hygiene, for every node that takes a URL or a credential: cloud metadata
 * addresses refused before connecting (unless cseAllowMetadataAddresses), the HTTP POST port allow-list, and
 * no credential (nor a webhook URL's path or query) in `GET /flows`, the editor's Test button answers or the
 * operations API (failed list, status, metrics; the sidebar shows these, see test/browser/operations.spec.ts).
 * (Redirects and the secrets in logs, status, Catch and msg.delivery under every fault: faults.spec.ts.)
 */
import { expect } from "chai";
import helper from "node-red-node-test-helper";
import { startFaultyPeer, type FaultyPeer } from "../fakes/faulty-peer";
import { startSmtpPeer } from "../fakes/smtp-peer";
import { testPki } from "../fakes/pki";
import { actionFlow, allModules, eventMsg, exposure, httpAdapters, Inbox, MARK, nodeModules, secret, SECRET_PATH, SECRET_QUERY } from "./support";

helper.init(require.resolve("node-red"));

const METADATA = [
  "https://169.254.169.254",
  "https://[::ffff:169.254.169.254]",
  "https://2852039166",
  "https://[fd00:ec2::254]",
  "https://100.100.100.200",
];

async function outcome(msg: any = eventMsg()): Promise<any> {
  const out = new Inbox("out");
  const caught = new Inbox("caught");
  helper.getNode("n1").receive(msg);
  return Promise.race([out.until(1).then(([m]) => m), caught.until(1).then(([m]) => m)]);
}

describe("network guard on every URL-taking node", function () {
  this.timeout(20_000);
  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
  });

  for (const adapter of httpAdapters) {
    it(`${adapter.type}: refuses every cloud metadata address before connecting`, async function () {
      for (const base of METADATA) {
        await helper.unload();
        const { props, creds, settings } = adapter.configure(base);
        helper.settings({ cseDelayScale: 0.001, ...settings } as any);
        await helper.load(nodeModules[adapter.type as keyof typeof nodeModules], actionFlow(adapter.type, { ...props, maxAttempts: 3 }), { n1: creds });
        const msg = await outcome();
        expect(msg.delivery, base).to.include({ ok: false, attempts: 1, status: null });
        expect(msg.error.message, base).to.match(/cloud metadata address/);
        expect(exposure("n1", [msg])).to.not.include(MARK);
      }
    });

    it(`${adapter.type}: connects to a metadata address when cseAllowMetadataAddresses is true`, async function () {
      const { props, creds, settings } = adapter.configure("https://169.254.169.254");
      helper.settings({ cseDelayScale: 0.001, cseAllowMetadataAddresses: true, ...settings } as any);
      await helper.load(nodeModules[adapter.type as keyof typeof nodeModules], actionFlow(adapter.type, { ...props, timeout: 200, maxAttempts: 1 }), { n1: creds });
      const msg = await outcome();
      expect(msg.error.message).to.not.match(/cloud metadata address/);
      expect(msg.delivery).to.include({ ok: false, attempts: 1 });
    });
  }

  it("cse-email: refuses an SMTP host that is a metadata address", async function () {
    for (const host of ["169.254.169.254", "fd00:ec2::254", "100.100.100.200"]) {
      await helper.unload();
      helper.settings({ cseDelayScale: 0.001 } as any);
      const smtp = { id: "s1", type: "cse-smtp", host, port: 25, tls: "none", from: "siem@example.com" };
      await helper.load([nodeModules["cse-smtp"], nodeModules["cse-email"]], actionFlow("cse-email", { recipients: "soc@example.com", smtp: "s1" }, [smtp]), {
        s1: { user: secret("user"), password: secret("password") },
      });
      const msg = await outcome();
      expect(msg.delivery, host).to.include({ ok: false, attempts: 1 });
      expect(msg.error.message, host).to.match(/cloud metadata address/);
    }
  });

  it("cse-sns: refuses an endpoint that is a metadata address", async function () {
    for (const endpoint of ["http://169.254.169.254", "http://[fd00:ec2::254]", "http://100.100.100.200", "http://0xa9fea9fe"]) {
      await helper.unload();
      helper.settings({ cseDelayScale: 0.001 } as any);
      await helper.load(nodeModules["cse-sns"], actionFlow("cse-sns", { topicArn: "arn:aws:sns:eu-west-1:123456789012:t", endpoint }), {
        n1: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: secret("secretAccessKey") },
      });
      const msg = await outcome();
      expect(msg.delivery, endpoint).to.include({ ok: false, attempts: 1 });
      expect(msg.error.message, endpoint).to.match(/cloud metadata address/);
    }
  });

  it("cse-http-post: the port allow-list refuses every message for a port outside it, sending nothing", async function () {
    const peer = await startFaultyPeer();
    try {
      helper.settings({ cseDelayScale: 0.001, cseHttpPostAllowedPorts: [8443] } as any);
      await helper.load(nodeModules["cse-http-post"], actionFlow("cse-http-post", { url: `${peer.url}/in` }), { n1: {} });
      const msg = await outcome();
      expect(msg.error.message, msg.error.message).to.include(`port ${peer.port} is not allowed (allowed: 8443`);
      expect(msg.delivery).to.include({ ok: false, attempts: 0 });
      expect(peer.requests).to.have.length(0);
    } finally {
      await peer.close();
    }
  });
});

/** Every node with every credential set to a recognisable value. */
function everyNodeFlow(peerUrl: string): { flow: any[]; credentials: Record<string, Record<string, string>> } {
  const pki = testPki();
  const flow: any[] = [{ id: "f1", type: "tab" }];
  const credentials: Record<string, Record<string, string>> = {};
  for (const [i, adapter] of httpAdapters.entries()) {
    const { props, creds } = adapter.configure(peerUrl);
    flow.push({ id: `a${i}`, z: "f1", type: adapter.type, name: adapter.type, ...props, wires: [] });
    credentials[`a${i}`] = adapter.type === "cse-xsoar" ? { ...creds, clientCert: pki.clientCert, clientKey: pki.clientKey, ca: pki.ca } : creds;
  }
  flow.push(
    { id: "s1", type: "cse-smtp", host: "127.0.0.1", port: 2525, tls: "none", from: "siem@example.com" },
    { id: "e1", z: "f1", type: "cse-email", recipients: "soc@example.com", smtp: "s1", wires: [] },
    { id: "sns", z: "f1", type: "cse-sns", topicArn: "arn:aws:sns:eu-west-1:123456789012:t", endpoint: peerUrl, wires: [] },
    { id: "t1", type: "cse-tenant", apiUrl: `${peerUrl}/api/sec/v1`, uiUrl: "https://service.sumologic.com" },
    { id: "tr", z: "f1", type: "cse-trigger", tenant: "t1", pollInterval: 0, wires: [] },
  );
  credentials.s1 = { user: secret("user"), password: secret("password") };
  credentials.sns = { accessKeyId: `AKIA${secret("accessKeyId")}`, secretAccessKey: secret("secretAccessKey") };
  credentials.t1 = { accessId: secret("accessId"), accessKey: secret("accessKey") };
  return { flow, credentials };
}

/**
 * The test helper's admin app has no `/flows` route: mount Node-RED's own handler (editor-api over the runtime
 * API) on it, reading the flows the helper deployed, so the answer is exactly what the editor would get.
 */
function mountFlowsRoute(): void {
  const h = helper as any;
  const runtimeFlows = require("@node-red/runtime/lib/api/flows");
  const adminFlows = require("@node-red/editor-api/lib/admin/flows");
  runtimeFlows.init({ flows: h._redNodes, log: { audit() {} } });
  adminFlows.init({ flows: runtimeFlows });
  h._httpAdmin.get("/flows", adminFlows.get);
}

/** A line of the PEM private key's body: enough to recognise it anywhere. */
function keyLine(): string {
  return testPki().clientKey.split("\n")[1];
}

describe("secret hygiene: GET /flows and the Test button", function () {
  this.timeout(20_000);
  let peer: FaultyPeer;
  beforeEach(async function () {
    peer = await startFaultyPeer();
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await peer.close();
  });

  it("GET /flows holds no credential and no webhook path or query, for any node", async function () {
    helper.settings({ cseDelayScale: 0.001, cseHttpPostAllowedPorts: [peer.port] } as any);
    const { flow, credentials } = everyNodeFlow(peer.url);
    await helper.load(allModules, flow, credentials);
    mountFlowsRoute();
    // the credentials did reach the nodes (the test would prove nothing otherwise)
    expect((helper.getNode("a0") as any).credentials.password).to.equal(secret("password"));
    expect((helper.getNode("t1") as any).credentials.accessKey).to.equal(secret("accessKey"));
    const res = await helper.request().get("/flows").set("Node-RED-API-Version", "v2").expect(200);
    const text = JSON.stringify(res.body);
    expect(text).to.include("cse-xsoar").and.include("cse-sns").and.include("cse-tenant");
    expect(text).to.not.include(MARK);
    expect(text).to.not.include(SECRET_PATH.slice(1, 20));
    expect(text).to.not.include(SECRET_QUERY.slice(1));
    expect(text).to.not.include(keyLine());
    const v1 = await helper.request().get("/flows").expect(200);
    expect(JSON.stringify(v1.body)).to.not.include(MARK);
  });

  it("the operations API (status, failed list, a failed message's event, metrics) holds no secret after every node failed", async function () {
    helper.settings({ cseDelayScale: 0.001, cseHttpPostAllowedPorts: [peer.port] } as any);
    const { flow, credentials } = everyNodeFlow(peer.url);
    await helper.load(allModules, flow, credentials);
    // Every target answers 401 with what it was sent: the secret is in the answer, so the reason could carry it.
    peer.script({ status: 401, body: (req) => JSON.stringify({ error: String(req.headers.authorization ?? req.headers["x-rftoken"] ?? req.url), url: req.url, body: req.body.slice(0, 200) }) });
    const actionIds = flow.filter((n) => n.z && n.type !== "cse-trigger").map((n) => n.id as string);
    for (const id of actionIds) helper.getNode(id).receive(eventMsg());
    // Each node fails (kept in the list) or refuses the message (cse-xsoar: a client certificate needs https).
    const deadline = Date.now() + 10_000;
    let failed: any[];
    let statuses: any[];
    for (;;) {
      statuses = (await helper.request().get("/cse-actions/status").expect(200)).body;
      failed = (await helper.request().get("/cse-actions/failed").expect(200)).body;
      const settled = statuses.filter((s) => s.failed + s.refused > 0);
      if ((settled.length === actionIds.length && failed.length === statuses.filter((s) => s.failed > 0).length) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(statuses.map((s) => s.id).sort()).to.deep.equal([...actionIds].sort());
    expect(failed.map((e) => e.node).sort(), JSON.stringify(statuses)).to.deep.equal(statuses.filter((s) => s.failed > 0).map((s) => s.id).sort());
    expect(failed.length, "most nodes reached their target and failed").to.be.at.least(actionIds.length - 1);
    expect(peer.requests.length, "the targets were reached").to.be.at.least(failed.filter((e) => e.type !== "cse-email").length);
    const answers = [JSON.stringify(failed)];
    answers.push(JSON.stringify(statuses));
    for (const entry of failed) {
      answers.push(JSON.stringify((await helper.request().get(`/cse-actions/failed/${entry.node}/${entry.id}`).expect(200)).body));
    }
    answers.push((await helper.request().get("/cse-actions/metrics").expect(200)).text);
    const text = answers.join("\n");
    expect(text).to.include("401");
    expect(text).to.not.include(MARK);
    expect(text).to.not.include(SECRET_PATH.slice(1, 20));
    expect(text).to.not.include(SECRET_QUERY.slice(1));
    for (const adapter of httpAdapters) for (const derived of adapter.derivedSecrets ?? []) expect(text).to.not.include(derived);
  });

  for (const adapter of httpAdapters) {
    it(`${adapter.type}: the Test button's answer to a failing target names no secret`, async function () {
      const { props, creds, settings } = adapter.configure(peer.url);
      helper.settings({ cseDelayScale: 0.001, ...settings } as any);
      await helper.load(nodeModules[adapter.type as keyof typeof nodeModules], actionFlow(adapter.type, props), { n1: creds });
      peer.script({ status: 401, body: (req) => JSON.stringify({ error: String(req.headers.authorization ?? req.headers["x-rftoken"] ?? req.url), url: req.url }) });
      const stored = Object.fromEntries(Object.keys(creds).map((k) => [k, "__PWRD__"]));
      const res = await helper.request().post(`/cse-actions/test/${adapter.type}`).send({ id: "n1", properties: props, credentials: stored });
      expect(res.body.ok, JSON.stringify(res.body)).to.equal(false);
      expect(peer.requests, "the Test button reached the peer").to.have.length.at.least(1);
      expect(JSON.stringify(res.body)).to.include("401").and.not.include(MARK);
      expect(exposure("n1", [])).to.not.include(MARK);
    });
  }
});

/**
 * A template that asks for everything secret a careless view could hold: the node's credentials and settings,
 * msg internals beyond msg.cse, the environment, Node-RED's context, inherited members. The view holds none of it.
 */
const PRYING_TEMPLATE = [
  "{{apiKey}}{{url}}{{serviceKey}}{{password}}{{credentials}}{{credentials.apiKey}}{{config.apiKey}}{{node.credentials.apiKey}}",
  "{{_msgid}}{{secret}}{{msg.secret}}{{req.headers.authorization}}{{{req}}}{{&res}}{{delivery}}{{payload.secret}}",
  "{{env.CSE_PRYING_SECRET}}{{process.env.CSE_PRYING_SECRET}}{{flow}}{{global}}{{settings}}{{RED}}{{this}}{{constructor.constructor}}{{__proto__}}",
  "{{#.}}{{apiKey}}{{/.}}{{#cse}}{{apiKey}}{{secret}}{{/cse}}|{{readableId}}|{{cse.key}}",
].join("\n");

/** An event message carrying secrets where a template might look: msg fields beside payload and cse. */
function pryingMsg(): any {
  return { ...eventMsg(), secret: secret("msg"), req: { headers: { authorization: secret("req") } }, res: { secret: secret("res") } };
}

describe("secret hygiene: templates cannot print credentials or msg internals", function () {
  this.timeout(20_000);
  let peer: FaultyPeer;
  beforeEach(async function () {
    process.env.CSE_PRYING_SECRET = secret("env");
    peer = await startFaultyPeer();
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async function () {
    delete process.env.CSE_PRYING_SECRET;
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await peer.close();
  });

  for (const adapter of httpAdapters.filter((a) => ["cse-slack", "cse-teams", "cse-pagerduty", "cse-hipchat"].includes(a.type))) {
    it(`${adapter.type}: the request and the Preview hold what the template may print, nothing secret`, async function () {
      const { props, creds, settings } = adapter.configure(peer.url);
      const templated = { ...props, template: PRYING_TEMPLATE };
      helper.settings({ cseDelayScale: 0.001, ...settings } as any);
      await helper.load(nodeModules[adapter.type as keyof typeof nodeModules], actionFlow(adapter.type, templated), { n1: creds });
      peer.script(adapter.ok);
      const msg = await outcome(pryingMsg());
      expect(msg.delivery, JSON.stringify(msg.error)).to.include({ ok: true });
      const [req] = peer.requests;
      expect(req.body, "the template was rendered").to.include("|INSIGHT-1|").and.include(eventMsg().cse.key);
      // PagerDuty's routing key travels in the body by design: the one credential that may be there.
      expect(req.body.replace(/"routing_key":"[^"]*"/, "")).to.not.include(MARK);
      const stored = Object.fromEntries(Object.keys(creds).map((k) => [k, "__PWRD__"]));
      const res = await helper.request().post(`/cse-actions/preview/${adapter.type}`).send({ id: "n1", properties: templated, credentials: stored });
      expect(res.body.ok, JSON.stringify(res.body)).to.equal(true);
      expect(res.body.body, "the sample Insight was rendered").to.include("|INSIGHT-0|");
      expect(JSON.stringify(res.body)).to.not.include(MARK);
      expect(exposure("n1", [msg])).to.not.include(MARK);
    });
  }

  it("cse-email: the subject and both bodies hold what the template may print, nothing secret", async function () {
    const smtpPeer = await startSmtpPeer({ users: { [secret("user")]: secret("password") } });
    try {
      helper.settings({ cseDelayScale: 0.001 } as any);
      const smtp = { id: "s1", type: "cse-smtp", host: "127.0.0.1", port: smtpPeer.port, tls: "none", from: "siem@example.com" };
      const props = { recipients: "soc@example.com", smtp: "s1", subject: PRYING_TEMPLATE, template: PRYING_TEMPLATE };
      await helper.load([nodeModules["cse-smtp"], nodeModules["cse-email"]], actionFlow("cse-email", props, [smtp]), {
        s1: { user: secret("user"), password: secret("password") },
      });
      const msg = await outcome(pryingMsg());
      expect(msg.delivery, JSON.stringify(msg.error)).to.include({ ok: true });
      const [mail] = await smtpPeer.waitForMails(1);
      const parts = [mail.parsed.subject, mail.parsed.text, mail.parsed.html].map(String);
      for (const part of parts) expect(part, "the template was rendered").to.include("|INSIGHT-1|");
      expect(parts.join("\n")).to.not.include(MARK);
    } finally {
      await smtpPeer.close();
    }
  });
});

