import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import helper from "node-red-node-test-helper";
import type { EventTopic, Insight } from "../../src/events/types";
import { closedModernInsight, modernInsight, realInsight, ruleAutoDisabledPayload, sensorOfflinePayload } from "../fakes/insights";
import { startSmtpPeer, type SmtpPeer } from "../fakes/smtp-peer";
import { testPki } from "../fakes/pki";
import { Inbox, eventMessage } from "../support/node-test";
import { BROKEN_TEMPLATE, expectBrokenTemplateRefused, EVERY_EVENT_TEMPLATE, EXAMPLE_TEMPLATE, exampleText, HOSTILE_NAME, hostileInsight } from "../support/templates";

helper.init(require.resolve("node-red"));

/** The shipped example flow, with the core and trigger nodes it needs. */
const CORE = path.join(path.dirname(require.resolve("@node-red/nodes/package.json")), "core", "common");
function example(file: string): { flow: any[]; modules: unknown[] } {
  const flow = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "examples", `${file}.json`), "utf8"));
  const modules = ["20-inject.js", "21-debug.js", "90-comment.js"].map((f) => require(path.join(CORE, f)));
  return { flow, modules: [...modules, require("../../src/nodes/cse-trigger")] };
}

const emailNode = require("../../src/nodes/cse-email");
const smtpNode = require("../../src/nodes/cse-smtp");

const UI = "https://service.sumologic.com";
const PASSWORD = "smtpPa55wordSECRET";

const event = (topic: EventTopic, payload: Insight | object) => eventMessage(topic, payload, UI);

describe("cse-email node", function () {
  let peer: SmtpPeer | undefined;

  beforeEach(async function () {
    helper.settings({ cseDelayScale: 0.001 } as any);
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });

  afterEach(async function () {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    helper.settings({});
    await peer?.close();
    peer = undefined;
  });

  async function load(email: Record<string, unknown> = {}, smtp: Record<string, unknown> = {}, login = true) {
    const flow = [
      { id: "f1", type: "tab" },
      {
        id: "s1",
        type: "cse-smtp",
        host: "127.0.0.1",
        port: peer?.port ?? 1,
        tls: "none",
        rejectUnauthorized: true,
        from: "Cloud SIEM <siem@example.com>",
        ...smtp,
      },
      {
        id: "n1",
        type: "cse-email",
        z: "f1",
        name: "SOC mail",
        recipients: "soc@example.com, SOC Lead <lead@example.com>",
        smtp: "s1",
        subject: "",
        timeout: 5000,
        maxAttempts: 4,
        ...email,
        wires: [["out"]],
      },
      { id: "out", type: "helper", z: "f1" },
      { id: "c1", type: "catch", z: "f1", scope: ["n1"], uncaught: false, wires: [["caught"]] },
      { id: "caught", type: "helper", z: "f1" },
    ];
    await helper.load([smtpNode, emailNode], flow, login ? { s1: { user: "alice", password: PASSWORD } } : {});
    return { out: new Inbox("out"), caught: new Inbox("caught") };
  }

  it("mails the real INSIGHT-220 as text + HTML to every recipient, with entity, tactics, resolution and link", async function () {
    peer = await startSmtpPeer({ users: { alice: PASSWORD } });
    const { out } = await load();
    const insight = realInsight();
    helper.getNode("n1").receive(event("insight.closed", insight));
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ action: "cse-email", ok: true, status: 250, attempts: 1 });
    expect(msg.delivery.id).to.match(/^<.+>$/);

    const [mail] = peer.mails;
    expect(mail.user).to.equal("alice");
    expect(mail.mailFrom).to.equal("siem@example.com");
    expect(mail.rcptTo).to.deep.equal(["soc@example.com", "lead@example.com"]);
    expect(mail.parsed.messageId).to.equal(msg.delivery.id);
    expect(mail.parsed.subject).to.equal("[Cloud SIEM] Insight closed INSIGHT-220: Command and Control with Defense Evasion and Execution");
    const link = `${UI}/sec/insight/${insight.id}`;
    for (const body of [mail.parsed.text!, mail.parsed.html as string]) {
      expect(body).to.contain("testcomputer.somedomain.net");
      expect(body).to.contain("Initial Access, Execution, Defense Evasion, Command and Control");
      expect(body).to.contain("No Action");
      expect(body).to.contain(link);
    }
  });

  it("reports partly rejected recipients in msg.delivery", async function () {
    peer = await startSmtpPeer({ rejectRecipients: { "gone@example.com": 550 } });
    const { out } = await load({ recipients: "soc@example.com, gone@example.com", subject: "{{severity}} {{readableId}} on {{entity}}" }, {}, false);
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ action: "cse-email", ok: true, status: 250 });
    expect(msg.delivery.rejected).to.deep.equal(["gone@example.com"]);
    expect(msg.delivery.accepted).to.deep.equal(["soc@example.com"]);
    expect(peer.mails[0].rcptTo).to.deep.equal(["soc@example.com"]);
    expect(peer.mails[0].parsed.subject).to.equal("HIGH INSIGHT-1234 on 10.0.0.5");
  });

  it("retries SMTP 4xx, then delivers once", async function () {
    peer = await startSmtpPeer({ dataReplies: [451, 421, 250] });
    const { out } = await load({}, {}, false);
    helper.getNode("n1").receive(event("sensor.offline", sensorOfflinePayload()));
    const [msg] = await out.until(1);
    expect(msg.delivery).to.include({ ok: true, attempts: 3, status: 250 });
    expect(peer.mails).to.have.length(1);
    expect(peer.mails[0].parsed.text).to.contain("edge-sensor-7").and.contain("dmz").and.contain("2026-11-28 02:00:00 UTC");
  });

  it("fails SMTP 5xx at once: all recipients refused reaches Catch with the code", async function () {
    peer = await startSmtpPeer({ rejectRecipients: { "soc@example.com": 550, "lead@example.com": 550 } });
    const { caught } = await load({}, {}, false);
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain('cse-email "SOC mail"').and.contain("550");
    expect(msg.delivery).to.include({ ok: false, attempts: 1, status: 550 });
    expect(peer.mails).to.have.length(0);
  });

  it("fails a wrong login permanently without the password in error, status or logs", async function () {
    peer = await startSmtpPeer({ users: { alice: "another-password" } });
    const { caught } = await load();
    helper.getNode("n1").receive(event("insight.closed", closedModernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain("535");
    expect(msg.delivery).to.include({ ok: false, attempts: 1 });
    const node = helper.getNode("n1") as any;
    const visible = [msg.error.message, ...node.status.args.map((a: any[]) => JSON.stringify(a[0])), ...helper.log().args.map((a: any[]) => JSON.stringify(a[0]))].join("\n");
    expect(visible).not.to.contain(PASSWORD);
  });

  it("STARTTLS and implicit TLS: logs in over TLS; an untrusted certificate fails at once when verified", async function () {
    const pki = testPki();
    peer = await startSmtpPeer({ users: { alice: PASSWORD }, tls: { key: pki.serverKey, cert: pki.serverCert } });
    let loaded = await load({}, { tls: "starttls", rejectUnauthorized: false });
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    await loaded.out.until(1);
    expect(peer.mails[0]).to.include({ secure: true, user: "alice" });
    await helper.unload();

    loaded = await load({}, { tls: "starttls", rejectUnauthorized: true });
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [failed] = await loaded.caught.until(1);
    expect(failed.delivery).to.include({ ok: false, attempts: 1 });
    expect(failed.error.message).to.match(/certificate/i);
    expect(failed.error.message).not.to.contain(PASSWORD);
    await helper.unload();
    await peer.close();

    peer = await startSmtpPeer({ users: { alice: PASSWORD }, tls: { key: pki.serverKey, cert: pki.serverCert, secure: true } });
    loaded = await load({}, { tls: "tls", rejectUnauthorized: false });
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    await loaded.out.until(1);
    expect(peer.mails[0]).to.include({ secure: true, user: "alice" });
  });

  it("retries a refused connection and reports it to Catch after maxAttempts", async function () {
    const { caught } = await load({ maxAttempts: 2 }, { port: 1 }, false);
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.match(/ECONNREFUSED|ESOCKET|ECONNECTION/);
    expect(msg.delivery).to.include({ ok: false, attempts: 2 });
  });

  it("names a malformed recipient at deploy and fails each message clearly", async function () {
    peer = await startSmtpPeer();
    const { caught } = await load({ recipients: "soc@example.com, bob@" });
    const node = helper.getNode("n1") as any;
    expect(node.status.args[0][0]).to.include({ fill: "red", shape: "ring" });
    expect(node.status.args[0][0].text).to.match(/^recipients: "bob@" is not/);
    node.receive(event("insight.created", modernInsight()));
    node.receive(event("insight.created", modernInsight()));
    const msgs = await caught.until(2);
    for (const msg of msgs) expect(msg.error.message).to.contain('invalid configuration: recipients: "bob@" is not an e-mail address');
    expect(peer.dataCommands).to.equal(0);
  });

  it("names a bad SMTP server setting on the e-mail node", async function () {
    const { caught } = await load({}, { host: "" });
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain("invalid configuration: smtp host: is required");
  });

  it("Test button: mails a sample Insight through the deployed SMTP server", async function () {
    peer = await startSmtpPeer({ users: { alice: PASSWORD } });
    await load();
    const res = await helper
      .request()
      .post("/cse-actions/test/cse-email")
      .send({ id: "n1", properties: { recipients: "test@example.com", smtp: "s1" }, credentials: {} });
    expect(res.body).to.include({ ok: true, status: 250 });
    const [mail] = await peer.waitForMails(1);
    expect(mail.rcptTo).to.deep.equal(["test@example.com"]);
    expect(mail.parsed.text).to.contain("10.0.0.5");
    const bad = await helper.request().post("/cse-actions/test/cse-email").send({ id: "n1", properties: { recipients: "test@example.com", smtp: "nope" } });
    expect(bad.body.ok).to.equal(false);
    expect(bad.body.message).to.contain("smtp: the selected SMTP server is not deployed");
  });

  it("shares one pooled transport per SMTP server and closes it on redeploy", async function () {
    peer = await startSmtpPeer();
    const { out } = await load({}, {}, false);
    const smtp = helper.getNode("s1") as any;
    const first = smtp.connection.transport();
    expect(first.transporter.constructor.name).to.equal("SMTPPool");
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    helper.getNode("n1").receive(event("insight.created", modernInsight()));
    await out.until(2);
    expect(smtp.connection.transport()).to.equal(first);
    let closed = false;
    const origClose = first.close.bind(first);
    first.close = () => {
      closed = true;
      origClose();
    };
    await helper.unload();
    expect(closed).to.equal(true);
  });

  for (const setting of [undefined, 8]) {
    it(`opens at most 4 SMTP connections at once, with cseConcurrency ${setting ?? "unset"}`, async function () {
      peer = await startSmtpPeer({ dataDelayMs: 150 });
      helper.settings({ cseDelayScale: 0.001, ...(setting ? { cseConcurrency: setting } : {}) } as any);
      const { out } = await load({}, {}, false);
      for (let i = 0; i < 12; i++) helper.getNode("n1").receive(event("insight.created", modernInsight({ id: `INSIGHT-${i}` })));
      const sent = await out.until(12);
      expect(sent.every((msg) => msg.delivery.status === 250)).to.equal(true);
      expect(peer.received).to.equal(12);
      expect(peer.peakSessions).to.equal(4);
    });
  }

  it("runs the example flow: inject → cse-trigger → cse-email, the mail names entity, tactics and link", async function () {
    peer = await startSmtpPeer({ users: { alice: PASSWORD } });
    const { flow, modules } = example("Email - mail Insight summaries");
    const smtp = flow.find((n: any) => n.type === "cse-smtp");
    Object.assign(smtp, { host: "127.0.0.1", port: peer.port, tls: "none" });
    await helper.load([...modules, smtpNode, emailNode], flow, { [smtp.id]: { user: "alice", password: PASSWORD } });
    (helper.getNode(flow.find((n: any) => n.type === "inject").id) as any).receive({});
    const [mail] = await peer.waitForMails(1);
    expect(mail.rcptTo).to.deep.equal(["soc@example.com", "lead@example.com"]);
    expect(mail.parsed.subject).to.equal("[Cloud SIEM] New Insight INSIGHT-1234: Initial Access with Command and Control");
    expect(mail.parsed.text).to.contain("10.0.0.5").and.contain("Initial Access, Command and Control");
    expect(mail.parsed.text).to.contain(`Open in Cloud SIEM: ${"https://service.sumologic.com/sec/insight/8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"}`);
  });

  it("template: subject and text body exactly as rendered, the HTML body the same text escaped, for every event type", async function () {
    peer = await startSmtpPeer({ users: { alice: PASSWORD } });
    const { out } = await load({ subject: "[{{severity}}] {{insight.name}}", template: `${EXAMPLE_TEMPLATE}\n` });
    const insight = hostileInsight();
    helper.getNode("n1").receive(event("insight.created", insight));
    await out.until(1);
    const [mail] = await peer.waitForMails(1);
    const text = exampleText(HOSTILE_NAME, `${UI}/sec/insight/${insight.id}`);
    expect(mail.parsed.subject).to.equal(`[HIGH] ${HOSTILE_NAME}`);
    expect(mail.parsed.text).to.equal(`${text}\n`);
    expect(mail.parsed.html).to.contain("Beacon &lt;b&gt;to&lt;/b&gt; C2 &amp; {{cse.key}}").and.not.contain("<b>to");
    await helper.unload();
    const again = await load({ subject: EVERY_EVENT_TEMPLATE, template: "" });
    helper.getNode("n1").receive(event("sensor.offline", sensorOfflinePayload()));
    helper.getNode("n1").receive(event("rule.autoDisabled", ruleAutoDisabledPayload()));
    await again.out.until(2);
    const mails = await peer.waitForMails(3);
    expect(mails.slice(1).map((m) => m.parsed.subject).sort()).to.deep.equal([
      "rule.autoDisabled|Noisy login rule: more than 100000 signals in one hour",
      "sensor.offline|edge-sensor-7 in dmz",
    ]);
    for (const m of mails.slice(1)) expect(m.parsed.text, "an empty body template is the default body").to.match(/\nLast seen: |\nReason: /);
  });

  it("template: one that does not parse is a red status and a refusal naming node, field and line", async function () {
    const { caught } = await load({ subject: BROKEN_TEMPLATE }, {}, false);
    await expectBrokenTemplateRefused(helper.getNode("n1"), caught, event("insight.created", modernInsight()), "subject", 'cse-email "SOC mail"');
  });
});
