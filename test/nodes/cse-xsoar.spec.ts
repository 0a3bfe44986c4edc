import { expect } from "chai";
import helper from "node-red-node-test-helper";
import { cseMetaFor } from "../../src/events/meta";
import type { EventTopic, Insight } from "../../src/events/types";
import { classifyTlsError, normalizePem, xsoarConfig, xsoarTls } from "../../src/targets/xsoar";
import { modernInsight, realInsight } from "../fakes/insights";
import { testPki } from "../fakes/pki";
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { Inbox } from "../support/node-test";

helper.init(require.resolve("node-red"));

const xsoarNode = require("../../src/nodes/cse-xsoar");

const API_KEY = "A1B2C3D4E5F60718293A4B5C6D7E8F90";

function flow(props: Record<string, unknown>) {
  return [
    { id: "f1", type: "tab" },
    {
      id: "n1",
      type: "cse-xsoar",
      z: "f1",
      name: "SOAR",
      url: "",
      endpoint: "/incident/json",
      extraHeaders: "",
      excludeRecords: false,
      timeout: 5000,
      maxAttempts: 5,
      ...props,
      wires: [["out"]],
    },
    { id: "out", type: "helper", z: "f1" },
    { id: "c1", type: "catch", z: "f1", scope: ["n1"], uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "f1" },
  ];
}

function event(topic: EventTopic, insight: Insight) {
  return { topic, payload: insight, cse: cseMetaFor(topic, insight) };
}

describe("cse-xsoar node", function () {
  let peer: HttpPeer;
  const pki = testPki();
  const mtls = () => ({ apiKey: API_KEY, clientCert: pki.clientCert, clientKey: pki.clientKey, ca: pki.ca });

  beforeEach(async function () {
    // XSOAR behind mutual TLS: only clients with a certificate from the test CA get through.
    peer = await startHttpPeer({ tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true } });
    peer.script({ status: 201, body: { id: "1001", version: 1 } });
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });

  afterEach(async function () {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    helper.settings({});
    await peer.close();
  });

  async function start(props: Record<string, unknown>, creds: Record<string, string> = mtls()) {
    helper.settings({ cseDelayScale: 0.001 } as any);
    await helper.load(xsoarNode, flow({ url: peer.url, ...props }), { n1: creds });
    return { n1: helper.getNode("n1") as any, out: new Inbox("out"), caught: new Inbox("caught") };
  }

  it("posts the raw Insight byte for byte to /incident/json over mutual TLS", async function () {
    const { n1, out } = await start({ extraHeaders: "X-Source: node-red\nX-Tenant: soc-eu" });
    const insight = realInsight();
    n1.receive(event("insight.closed", insight));
    const [msg] = await out.until(1);
    const [request] = peer.requests;
    expect(request.method).to.equal("POST");
    expect(request.url).to.equal("/incident/json");
    expect(request.raw.equals(Buffer.from(JSON.stringify(insight), "utf8"))).to.equal(true);
    expect(request.headers).to.include({ authorization: API_KEY, accept: "application/json", "x-source": "node-red", "x-tenant": "soc-eu" });
    expect(request.headers["content-type"]).to.match(/^application\/json/);
    expect(request.headers).to.not.have.property("x-xdr-auth-id");
    expect(msg.delivery).to.include({ action: "cse-xsoar", ok: true, status: 201, attempts: 1, id: "1001" });
  });

  it("keeps one mutual-TLS connection for incident after incident", async function () {
    const { n1, out } = await start({});
    n1.receive(event("insight.created", modernInsight({ id: "id-0" })));
    await out.until(1);
    const open = peer.openConnections();
    for (let i = 1; i < 3; i++) {
      n1.receive(event("insight.created", modernInsight({ id: `id-${i}` })));
      await out.until(i + 1);
    }
    expect(peer.requests.map((r) => r.json.id)).to.deep.equal(["id-0", "id-1", "id-2"]);
    expect(peer.openConnections()).to.equal(open);
  });

  it("leaves records out with excludeRecords", async function () {
    const { n1, out } = await start({ excludeRecords: true });
    n1.receive(event("insight.created", modernInsight()));
    await out.until(1);
    const sent = JSON.parse(peer.requests[0].body);
    expect(sent.signals).to.have.length(2);
    expect(sent.signals.some((s: any) => "allRecords" in s)).to.equal(false);
  });

  it("sends the structured incident to /incident", async function () {
    const { n1, out } = await start({ endpoint: "/incident" });
    peer.script({ status: 201, body: { id: 4711, version: 1 } });
    const insight = modernInsight();
    n1.receive(event("insight.created", insight));
    const [msg] = await out.until(1);
    const [request] = peer.requests;
    expect(request.url).to.equal("/incident");
    expect(JSON.parse(request.body)).to.deep.equal({
      name: "Initial Access with Command and Control - INSIGHT-1234",
      type: "Sumo Logic Insight",
      severity: 3,
      details: "Initial Access, Command and Control",
      occurred: "2026-11-28T03:12:45.123456Z",
      rawJSON: JSON.stringify(insight),
    });
    expect(msg.delivery).to.include({ ok: true, status: 201, id: "4711" });
  });

  it("sends x-xdr-auth-id to the XSOAR 8 endpoint", async function () {
    const { n1, out } = await start({ endpoint: "/xsoar/public/v1/incident" }, { ...mtls(), apiKeyId: "42" });
    peer.script({ status: 200, body: { id: "8675309", version: 1 } });
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await out.until(1);
    const [request] = peer.requests;
    expect(request.url).to.equal("/xsoar/public/v1/incident");
    expect(request.headers).to.include({ authorization: API_KEY, "x-xdr-auth-id": "42" });
    expect(JSON.parse(request.body).type).to.equal("Sumo Logic Insight");
    expect(msg.delivery).to.include({ ok: true, status: 200, id: "8675309" });
  });

  it("fails at once, naming the cause, when no client certificate is configured", async function () {
    const { n1, caught } = await start({}, { apiKey: API_KEY, ca: pki.ca });
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.match(/client certificate required by the server: set clientCert and clientKey \(TLS handshake failed/);
    expect(n1.status.lastCall.args[0].text).to.match(/^failed: client certificate required/);
    expect(msg.error.message).to.contain("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
    expect(msg.delivery).to.include({ ok: false, attempts: 1 });
    expect(peer.requests).to.have.length(0);
  });

  it("fails at once when the server's CA is not trusted", async function () {
    const { n1, caught } = await start({}, { apiKey: API_KEY, clientCert: pki.clientCert, clientKey: pki.clientKey });
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.match(/server certificate not trusted: put the CA that signed it in the ca field \(TLS handshake failed: SELF_SIGNED_CERT_IN_CHAIN\)/);
    expect(msg.delivery).to.include({ ok: false, attempts: 1 });
  });

  it("retries 503, fails 401 at once with XSOAR's error", async function () {
    const { n1, out, caught } = await start({});
    peer.script({ status: 503, body: "busy" }, { status: 201, body: { id: "77" } }, { status: 401, body: { error: "Unauthorized API key", status: 401 } });
    n1.receive(event("insight.created", modernInsight()));
    const [ok] = await out.until(1);
    expect(ok.delivery).to.include({ ok: true, attempts: 2, id: "77" });
    n1.receive(event("insight.created", modernInsight()));
    const [failed] = await caught.until(1);
    expect(failed.error.message).to.match(/XSOAR answered HTTP 401 Unauthorized API key/);
    expect(failed.delivery).to.include({ ok: false, attempts: 1, status: 401 });
  });

  for (const [field, creds, problem] of [
    ["clientCert", () => ({ ...mtls(), clientCert: "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----" }), /does not parse as PEM/],
    ["clientCert", () => ({ ...mtls(), clientCert: "hello" }), /not a PEM certificate/],
    ["clientKey", () => ({ ...mtls(), clientKey: pki.strangerKey }), /does not match the client certificate/],
    ["clientKey", () => ({ ...mtls(), clientKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" }), /not a PEM private key/],
    ["clientKey", () => ({ apiKey: API_KEY, clientCert: pki.clientCert }), /required with a client certificate/],
    ["ca", () => ({ ...mtls(), ca: "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----" }), /does not parse as PEM/],
    ["apiKey", () => ({ clientCert: pki.clientCert, clientKey: pki.clientKey }), /is required/],
  ] as const) {
    it(`shows a red status naming ${field} (${String(problem)}) and rejects every message`, async function () {
      const { n1, caught } = await start({}, creds() as Record<string, string>);
      const status = n1.status.lastCall.args[0];
      expect(status).to.include({ fill: "red", shape: "ring" });
      expect(status.text.startsWith(`${field}: `), status.text).to.equal(true);
      n1.receive(event("insight.created", modernInsight()));
      const [msg] = await caught.until(1);
      expect(msg.error.message).to.contain(`cse-xsoar "SOAR": invalid configuration: ${field}: `);
      expect(msg.error.message).to.match(problem);
      expect(peer.requests).to.have.length(0);
    });
  }

  for (const [lines, problem] of [
    ["X-Good: yes\nno colon here", /line 2 has no ":"/],
    ["X-Bad: a\rInjected: b", /line 1 has a control character/],
  ] as const) {
    it(`rejects extraHeaders ${JSON.stringify(lines)} at deploy`, async function () {
      const { n1, caught } = await start({ extraHeaders: lines });
      expect(n1.status.lastCall.args[0]).to.include({ fill: "red" });
      expect(n1.status.lastCall.args[0].text).to.match(/^extraHeaders: /);
      n1.receive(event("insight.created", modernInsight()));
      const [msg] = await caught.until(1);
      expect(msg.error.message).to.match(problem);
    });
  }

  it("keeps its own Authorization when extraHeaders try to replace it", async function () {
    const { n1, out } = await start({ extraHeaders: "authorization: someone-else\nX-Extra: 1" });
    n1.receive(event("insight.created", modernInsight()));
    await out.until(1);
    expect(peer.requests[0].headers).to.include({ authorization: API_KEY, "x-extra": "1" });
  });

  it("creates an incident for a sensor event on /incident", async function () {
    const { n1, out } = await start({ endpoint: "/incident" });
    n1.receive({ topic: "sensor.offline", payload: { sensorId: "s-1", sensorName: "dc-sensor", sensorZone: "dmz", lastSeen: "2026-11-28T03:00:00.000Z" } });
    await out.until(1);
    expect(peer.requests[0].json).to.include({ name: "Sensor offline - dc-sensor", type: "Sumo Logic Insight", occurred: "2026-11-28T03:00:00.000Z" });
  });

  it("creates the sample incident from the editor's Test button with the stored certificate", async function () {
    await start({});
    const res = await helper
      .request()
      .post("/cse-actions/test/cse-xsoar")
      .send({
        id: "n1",
        properties: { name: "SOAR", url: peer.url, endpoint: "/incident", extraHeaders: "", excludeRecords: true, timeout: "5000", maxAttempts: "5" },
        credentials: { apiKey: "__PWRD__", apiKeyId: "", clientCert: "__PWRD__", clientKey: "__PWRD__", ca: "__PWRD__" },
      });
    expect(res.body).to.include({ ok: true, status: 201 });
    expect(res.body.message).to.contain("XSOAR answered 201 (id 1001)");
    expect(peer.requests[0].headers).to.include({ authorization: API_KEY });
    expect(peer.requests[0].json.type).to.equal("Sumo Logic Insight");
  });

  it("reports a bad PEM typed into the Test dialog as a configuration error", async function () {
    await start({});
    const res = await helper
      .request()
      .post("/cse-actions/test/cse-xsoar")
      .send({ id: "n1", properties: { url: peer.url, endpoint: "/incident/json" }, credentials: { clientKey: pki.strangerKey } });
    expect(res.body.ok).to.equal(false);
    expect(res.body.message).to.equal("invalid configuration: clientKey: does not match the client certificate");
    expect(JSON.stringify(res.body)).to.not.contain("PRIVATE KEY");
    expect(peer.requests).to.have.length(0);
  });

  it("never shows the API key or the private key in errors, status or logs", async function () {
    const { n1, caught } = await start({}, { ...mtls(), apiKeyId: "key-id-9999" });
    peer.script({ status: 400, body: { error: `bad key ${API_KEY}`, detail: pki.clientKey } });
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    const seen = [msg.error.message, JSON.stringify(msg.delivery), JSON.stringify(n1.status.args), JSON.stringify(helper.log().args)].join("\n");
    expect(msg.error.message).to.contain("[redacted]");
    expect(seen).to.not.contain(API_KEY);
    expect(seen).to.not.contain("key-id-9999");
    expect(seen).to.not.contain("PRIVATE KEY");
  });
});

describe("XSOAR target (without Node-RED)", function () {
  const pki = testPki();

  it("puts back together a PEM whose line breaks were lost or escaped", function () {
    const flat = pki.clientCert.trim().replace(/\n/g, " ");
    const escaped = pki.clientKey.trim().replace(/\n/g, "\\n");
    const tls = xsoarTls({ clientCert: flat, clientKey: escaped, ca: `${pki.ca}\n${pki.ca}` });
    expect(tls?.cert).to.equal(pki.clientCert.trim());
    expect(tls?.key).to.equal(pki.clientKey.trim());
    expect(normalizePem(flat)).to.equal(pki.clientCert.trim());
  });

  it("refuses an expired client certificate and an encrypted key", function () {
    expect(() => xsoarTls({ clientCert: pki.clientCert, clientKey: pki.clientKey }, new Date("2200-01-01"))).to.throw(/clientCert: expired on/);
    const encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----";
    expect(() => xsoarTls({ clientCert: pki.clientCert, clientKey: encrypted })).to.throw(/clientKey: is encrypted/);
  });

  it("needs https for a client certificate, and one of the three endpoints", function () {
    const creds = { apiKey: "k", clientCert: pki.clientCert, clientKey: pki.clientKey };
    expect(() => xsoarConfig({ url: "http://xsoar.example" }, creds)).to.throw(/url: must start with https:\/\//);
    expect(() => xsoarConfig({ url: "https://xsoar.example", endpoint: "/incidents" }, creds)).to.throw(/endpoint: must be one of/);
    expect(xsoarConfig({ url: "https://xsoar.example/" }, creds)).to.include({ url: "https://xsoar.example", endpoint: "/incident/json", excludeRecords: false });
  });

  it("treats TLS handshake failures as permanent and a handshake timeout as the engine's", function () {
    const config = xsoarConfig({ url: "https://xsoar.example" }, { apiKey: "k" });
    const tlsError = (code: string) => Object.assign(new Error(code), { code });
    expect(classifyTlsError(tlsError("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), config)).to.include({ kind: "permanent" });
    expect(classifyTlsError(tlsError("ERR_TLS_CERT_ALTNAME_INVALID"), config)).to.have.property("reason").that.contains("does not name xsoar.example");
    expect(classifyTlsError(tlsError("CERT_HAS_EXPIRED"), config)).to.have.property("reason").that.contains("server certificate expired");
    expect(classifyTlsError(tlsError("ERR_TLS_HANDSHAKE_TIMEOUT"), config)).to.equal(undefined);
    expect(classifyTlsError(tlsError("ECONNRESET"), config)).to.equal(undefined);
  });
});
