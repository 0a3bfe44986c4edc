import { expect } from "chai";
import { cseMetaFor } from "../../src/events/meta";
import type { EventTopic, Insight } from "../../src/events/types";
import { classifySlack, slackRequest } from "../../src/targets/slack";
import { classifyTeams, teamsRequest } from "../../src/targets/teams";
import { checkSecureUrl } from "../../src/delivery/http";
import { classifyPagerDuty, pagerDutyRequest, type PagerDutyConfig } from "../../src/targets/pagerduty";
import { classifyHipChat, hipChatRequest } from "../../src/targets/hipchat";
import { classifySmtpError, emailTarget, parseRecipients, sendEmail, smtpConnection, smtpSettings, transportOptions } from "../../src/targets/email";
import { ConfigError, type AttemptContext, type DeliveryEvent, type HttpAnswer } from "../../src/targets/types";
import { closedModernInsight, modernInsight } from "../fakes/insights";
import { startSmtpPeer, type SmtpPeer } from "../fakes/smtp-peer";

const UI = "https://service.sumologic.com";

function event(topic: EventTopic = "insight.created", payload: Insight = modernInsight()): DeliveryEvent {
  return { topic, payload, cse: cseMetaFor(topic, payload, { uiUrl: UI }) };
}

const answer = (status: number, body = "", headers: Record<string, string> = {}): HttpAnswer => ({ status, body, headers });

describe("Slack target", () => {
  const config = { channel: "C0123", apiUrl: "https://slack.example/api/", apiKey: "xoxb-secret" };

  it("posts channel, text and blocks as JSON with a Bearer token", () => {
    const req = slackRequest(event(), config);
    expect(req.url).to.equal("https://slack.example/api/chat.postMessage");
    expect(req.headers).to.include({ Authorization: "Bearer xoxb-secret", "Content-Type": "application/json; charset=utf-8" });
    const body = JSON.parse(String(req.body));
    expect(body.channel).to.equal("C0123");
    expect(body.text).to.contain("INSIGHT-1234").and.contain("10.0.0.5").and.contain("Initial Access");
    expect(body.blocks).to.be.an("array").with.length.above(2);
  });

  it("treats HTTP 200 ok:false as a failure with Slack's code, retrying transient ones", () => {
    expect(classifySlack(answer(200, '{"ok":true,"ts":"1700000000.000100"}'))).to.deep.equal({ kind: "ok", status: 200, id: "1700000000.000100" });
    expect(classifySlack(answer(200, '{"ok":false,"error":"channel_not_found"}'))).to.include({ kind: "permanent", code: "channel_not_found" });
    for (const code of ["ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"]) {
      expect(classifySlack(answer(200, `{"ok":false,"error":"${code}"}`))).to.include({ kind: "retry", code });
    }
    expect(classifySlack(answer(429, '{"ok":false,"error":"ratelimited"}', { "retry-after": "7" }))).to.include({ kind: "retry", retryAfterMs: 7000 });
    expect(classifySlack(answer(200, "<html>"))).to.include({ kind: "permanent" });
  });
});

describe("Teams target", () => {
  const url = "https://prod.westeurope.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?sig=SECRET";

  it("posts the Workflows envelope, or a MessageCard on request", () => {
    const adaptive = JSON.parse(String(teamsRequest(event(), { format: "adaptive", url }).body));
    expect(adaptive.attachments[0].content.version).to.equal("1.4");
    const card = JSON.parse(String(teamsRequest(event(), { format: "messagecard", url }).body));
    expect(card["@type"]).to.equal("MessageCard");
  });

  it("accepts any 2xx; a connector's 200 with error text fails; 429 in the text is retried", () => {
    expect(classifyTeams(answer(202), { format: "adaptive", url })).to.include({ kind: "ok", status: 202 });
    expect(classifyTeams(answer(200, "whatever"), { format: "adaptive", url })).to.include({ kind: "ok" });
    expect(classifyTeams(answer(200, "1"), { format: "messagecard", url })).to.include({ kind: "ok" });
    expect(classifyTeams(answer(200, "Summary or Text is required."), { format: "messagecard", url })).to.include({ kind: "permanent" });
    expect(classifyTeams(answer(200, "Microsoft Teams endpoint returned HTTP error 429 with ContextId x"), { format: "messagecard", url })).to.include({ kind: "retry" });
    expect(classifyTeams(answer(400, "Bad payload"), { format: "adaptive", url })).to.include({ kind: "permanent", status: 400 });
  });

  it("requires https except to loopback, without echoing the URL", () => {
    expect(() => checkSecureUrl("http://teams.example/hook?sig=SECRET", "url")).to.throw(ConfigError, /^url: must start with https:\/\//);
    try {
      checkSecureUrl("http://teams.example/hook?sig=SECRET", "url");
    } catch (e) {
      expect(String(e)).not.to.contain("SECRET");
    }
    expect(checkSecureUrl("http://127.0.0.1:8080/hook", "url").port).to.equal("8080");
    expect(checkSecureUrl("http://[::1]:8080/hook", "url").hostname).to.equal("[::1]");
    expect(() => checkSecureUrl("", "url")).to.throw(/url: is required/);
  });
});

describe("PagerDuty target", () => {
  const v2: PagerDutyConfig = { apiVersion: "v2", apiUrl: "https://events.pagerduty.com", serviceKey: "R0UT1NGKEY" };
  const v1: PagerDutyConfig = { ...v2, apiVersion: "v1" };

  it("posts v2 to /v2/enqueue and v1 to create_event.json; a close resolves", () => {
    expect(pagerDutyRequest(event(), v2).url).to.equal("https://events.pagerduty.com/v2/enqueue");
    expect(pagerDutyRequest(event(), v1).url).to.equal("https://events.pagerduty.com/generic/2010-04-15/create_event.json");
    const resolve = JSON.parse(String(pagerDutyRequest(event("insight.closed", closedModernInsight()), v2).body));
    expect(resolve).to.deep.equal({ routing_key: "R0UT1NGKEY", event_action: "resolve", dedup_key: "INSIGHT-1234" });
  });

  it("classifies 202, 429, 400 (v2) and 200, 403 throttle (v1)", () => {
    expect(classifyPagerDuty(answer(202, '{"status":"success","dedup_key":"INSIGHT-1234"}'), event(), v2)).to.deep.equal({ kind: "ok", status: 202, id: "INSIGHT-1234" });
    expect(classifyPagerDuty(answer(429, ""), event(), v2)).to.include({ kind: "retry", status: 429 });
    const bad = classifyPagerDuty(answer(400, '{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'routing_key\' is incorrect"]}'), event(), v2);
    expect(bad).to.include({ kind: "permanent", status: 400, code: "invalid event" });
    expect((bad as any).reason).to.contain("routing_key");
    expect(classifyPagerDuty(answer(200, '{"status":"success","incident_key":"INSIGHT-1234"}'), event(), v1)).to.include({ kind: "ok", id: "INSIGHT-1234" });
    expect(classifyPagerDuty(answer(403, '{"status":"throttle exceeded","message":"Requests for this service are arriving too quickly."}'), event(), v1)).to.include({ kind: "retry", status: 403 });
    expect(classifyPagerDuty(answer(403, ""), event(), v2)).to.include({ kind: "permanent" });
  });
});

describe("HipChat target", () => {
  it("posts an HTML notification to the URL-encoded room with a Bearer token", () => {
    const req = hipChatRequest(event(), { server: "https://hipchat.corp/", room: "SOC alerts", apiKey: "tok3n" });
    expect(req.url).to.equal("https://hipchat.corp/v2/room/SOC%20alerts/notification");
    expect(req.headers).to.include({ Authorization: "Bearer tok3n" });
    const body = JSON.parse(String(req.body));
    expect(body).to.include({ message_format: "html", color: "red", notify: true });
    expect(body.message).to.contain("10.0.0.5");
  });

  it("accepts 204 and waits for X-Ratelimit-Reset on a 429", () => {
    expect(classifyHipChat(answer(204))).to.include({ kind: "ok", status: 204 });
    const now = new Date("2026-11-28T05:00:00Z");
    const r = classifyHipChat(answer(429, "", { "x-ratelimit-reset": String(now.getTime() / 1000 + 12) }), now);
    expect(r).to.include({ kind: "retry", retryAfterMs: 12_000 });
    expect(classifyHipChat(answer(404, '{"error":{"code":404,"message":"Room not found","type":"Not Found"}}'))).to.include({ kind: "permanent" });
  });
});

describe("E-mail target", () => {
  it("parses the recipient list and names a malformed address", () => {
    expect(parseRecipients("a@b.example, SOC Team <soc@corp.example>; \"Smith, J\" <j@x.org>")).to.deep.equal([
      "a@b.example",
      "SOC Team <soc@corp.example>",
      '"Smith, J" <j@x.org>',
    ]);
    expect(() => parseRecipients("a@b.example, bob@")).to.throw(ConfigError, 'recipients: "bob@" is not an e-mail address');
    expect(() => parseRecipients("alice@x.example bob@x.example")).to.throw(/is not an e-mail address/);
    expect(() => parseRecipients(" ")).to.throw(/recipients: is required/);
  });

  it("checks the SMTP settings and maps the TLS modes", () => {
    const s = smtpSettings({ host: "smtp.example", port: "", tls: "starttls", from: "siem@example.com" }, {});
    expect(s).to.include({ port: 587, rejectUnauthorized: true });
    expect(transportOptions(s)).to.include({ secure: false, requireTLS: true, ignoreTLS: false, pool: true });
    expect(transportOptions({ ...s, tls: "tls" })).to.include({ secure: true });
    expect(transportOptions({ ...s, tls: "none" })).to.include({ ignoreTLS: true, requireTLS: false });
    expect(() => smtpSettings({ host: "", from: "a@b.c" }, {})).to.throw(/^host: is required/);
    expect(() => smtpSettings({ host: "h", port: 70000, from: "a@b.c" }, {})).to.throw(/^port:/);
    expect(() => smtpSettings({ host: "h", tls: "ssl", from: "a@b.c" }, {})).to.throw(/^tls:/);
    expect(() => smtpSettings({ host: "h", from: "nobody" }, {})).to.throw(/^from:/);
  });

  it("retries SMTP 4xx and connection errors, fails 5xx and certificate errors", () => {
    expect(classifySmtpError({ code: "EENVELOPE", responseCode: 451, message: "451 try later" })).to.include({ kind: "retry", status: 451 });
    expect(classifySmtpError({ code: "EENVELOPE", responseCode: 550, message: "550 no such user" })).to.include({ kind: "permanent", status: 550 });
    expect(classifySmtpError({ code: "ESOCKET", message: "connect ECONNREFUSED 127.0.0.1:1" })).to.include({ kind: "retry" });
    expect(classifySmtpError({ code: "ESOCKET", message: "certificate has expired" })).to.include({ kind: "permanent" });
    expect(classifySmtpError({ code: "EAUTH", responseCode: 535, message: "Invalid login" })).to.include({ kind: "permanent", status: 535 });
  });

  describe("against a real SMTP server", () => {
    let peer: SmtpPeer;
    let pool: ReturnType<typeof smtpConnection> | undefined;
    const ctx = (): AttemptContext<unknown> => ({
      signal: new AbortController().signal,
      timeoutMs: 5000,
      attempt: 1,
      maxAttempts: 1,
      resources: undefined,
      http: () => Promise.reject(new Error("no HTTP here")),
      checkHost: () => Promise.resolve(),
    });

    afterEach(async () => {
      pool?.close();
      pool = undefined;
      await peer?.close();
    });

    function config(recipients: string, user?: string) {
      pool = smtpConnection(smtpSettings({ host: peer.host, port: peer.port, tls: "none", from: "Cloud SIEM <siem@example.com>" }, { user, password: user ? "pa55word" : undefined }));
      return { recipients: parseRecipients(recipients), smtp: pool };
    }

    it("sends one multipart mail to all recipients, reporting the rejected ones", async () => {
      peer = await startSmtpPeer({ rejectRecipients: { "gone@example.com": 550 }, users: { alice: "pa55word" } });
      const outcome: any = await sendEmail(event(), config("soc@example.com, gone@example.com, lead@example.com", "alice"), ctx());
      expect(outcome).to.include({ kind: "ok", status: 250 });
      expect(outcome.id).to.match(/^<.+@.+>$/);
      expect(outcome.msg.delivery.rejected).to.deep.equal(["gone@example.com"]);
      const [mail] = await peer.waitForMails(1);
      expect(mail.rcptTo).to.deep.equal(["soc@example.com", "lead@example.com"]);
      expect(mail.user).to.equal("alice");
      expect(mail.parsed.subject).to.contain("INSIGHT-1234");
      expect(mail.parsed.text).to.contain("10.0.0.5").and.contain("Initial Access, Command and Control");
      expect(mail.parsed.html).to.contain(`${UI}/sec/insight/8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b`);
    });

    it("classifies a 451 DATA reply as retry and a 554 as permanent", async () => {
      peer = await startSmtpPeer({ dataReplies: [451, 554] });
      const c = config("soc@example.com");
      expect(await sendEmail(event(), c, ctx())).to.include({ kind: "retry", status: 451 });
      expect(await sendEmail(event(), c, ctx())).to.include({ kind: "permanent", status: 554 });
    });

    it("fails a wrong password permanently without the password in the reason", async () => {
      peer = await startSmtpPeer({ users: { alice: "other" } });
      const c = config("soc@example.com", "alice");
      const outcome: any = await sendEmail(event(), c, ctx());
      expect(outcome).to.include({ kind: "permanent", status: 535 });
      expect(outcome.reason).not.to.contain("pa55word");
      expect(emailTarget.secrets(c)).to.deep.equal(["pa55word"]);
    });
  });
});
