import { expect } from "chai";
import { summaryOf, type Summary } from "../../src/render/summary";
import { escapeMrkdwn, SLACK_LIMITS, slackMessage } from "../../src/render/slack-blocks";
import { TEAMS_BUDGET_BYTES, TEAMS_MAX_BYTES, teamsAdaptiveMessage, teamsMessageCard } from "../../src/render/teams-card";
import { PAGERDUTY_LIMITS, pagerDutyV1Event, pagerDutyV2Event } from "../../src/render/pagerduty-event";
import { HIPCHAT_MAX_CHARS, hipChatColour, hipChatHtml } from "../../src/render/hipchat-html";
import { emailContent, emailSubject } from "../../src/render/email";
import { TRUNCATION_MARKER, utf8Bytes } from "../../src/render/truncate";
import { compileTemplate, templateView } from "../../src/render/template";
import { cseMetaFor } from "../../src/events/meta";
import type { Insight } from "../../src/events/types";
import {
  closedModernInsight,
  hugeInsight,
  modernInsight,
  realInsight,
  ruleAutoDisabledPayload,
  sensorOfflinePayload,
} from "../fakes/insights";

const URL = "https://service.sumologic.com/sec/insight/8e1b2f3c?x=1&y=2";

const created = (insight: Insight = modernInsight()): Summary => summaryOf({ topic: "insight.created", payload: insight, cse: { url: URL } });
const closed = (insight: Insight = closedModernInsight()): Summary => summaryOf({ topic: "insight.closed", payload: insight, cse: { url: URL } });
const realClosed = (): Summary => summaryOf({ topic: "insight.closed", payload: realInsight(), cse: { url: URL } });
const sensor = (): Summary => summaryOf({ topic: "sensor.offline", payload: sensorOfflinePayload() });
const rule = (): Summary => summaryOf({ topic: "rule.autoDisabled", payload: ruleAutoDisabledPayload() });

/** Asserts a person reading `text` sees what SPEC §4 says a summary shows. */
function expectReadable(text: string, s: Summary): void {
  expect(text).to.contain(s.readableId);
  expect(text).to.contain(s.entity!.value);
  for (const tactic of s.tactics) expect(text).to.contain(tactic);
  if (s.resolution) expect(text).to.contain(s.resolution);
}

describe("Slack view (chat.postMessage text + blocks)", () => {
  it("shows readableId, name, entity, tactics and the link in blocks and fallback text", () => {
    const s = created();
    const m = slackMessage(s);
    const blocksText = JSON.stringify(m.blocks);
    expectReadable(blocksText, s);
    expectReadable(m.text, s);
    expect(m.blocks[0]).to.deep.include({ type: "header" });
    expect(blocksText).to.contain(s.name);
    expect(m.text).to.contain("<https://service.sumologic.com/sec/insight/8e1b2f3c?x=1&amp;y=2|Open in Cloud SIEM>");
  });

  it("shows the resolution of the real closed INSIGHT-220 (old entity shape)", () => {
    const s = realClosed();
    const m = slackMessage(s);
    expectReadable(m.text, s);
    expect(m.text).to.contain("testcomputer.somedomain.net");
    expect(m.text).to.contain("No Action");
  });

  it("escapes &, < and > in mrkdwn", () => {
    const m = slackMessage(created(modernInsight({ name: "a <b> & c" })));
    expect((m.blocks[0] as any).text).to.deep.include({ type: "plain_text", text: "INSIGHT-1234: a <b> & c" }); // plain text: no escaping
    expect(m.text).to.contain("a &lt;b&gt; &amp; c");
    expect(escapeMrkdwn("<&>")).to.equal("&lt;&amp;&gt;");
  });

  it("keeps a huge Insight within Slack's limits, marking what was cut", () => {
    const s = created(hugeInsight());
    const m = slackMessage(s);
    expect(m.text.length).to.be.at.most(SLACK_LIMITS.text);
    expect(m.text).to.contain(TRUNCATION_MARKER);
    expect(m.blocks.length).to.be.at.most(SLACK_LIMITS.blocks);
    const header = m.blocks[0] as any;
    expect(header.text.text.length).to.be.at.most(SLACK_LIMITS.header);
    expect(header.text.text).to.contain(TRUNCATION_MARKER);
    for (const block of m.blocks as any[]) {
      if (block.type === "section") expect(block.text.text.length).to.be.at.most(SLACK_LIMITS.section);
    }
    const all = JSON.stringify(m.blocks);
    expect(all).to.contain(TRUNCATION_MARKER);
    expect(all).to.contain("Initial Access, Command and Control");
    expect(all).to.contain("Open in Cloud SIEM");
    expect(all).not.to.match(/&(a|am|l|g)?…/); // no escape cut in half
  });

  it("says sensor name, zone and last seen; rule name and reason", () => {
    const ms = slackMessage(sensor());
    expect(ms.text).to.contain("edge-sensor-7").and.contain("dmz").and.contain("2026-11-28 02:00:00 UTC");
    const mr = slackMessage(rule());
    expect(mr.text).to.contain("Noisy login rule").and.contain("more than 100000 signals in one hour");
  });
});

describe("Teams view (Workflows envelope + Adaptive Card 1.4, legacy MessageCard)", () => {
  it("wraps an Adaptive Card 1.4 with title, facts and an Open in Cloud SIEM button", () => {
    const s = created();
    const body = teamsAdaptiveMessage(s) as any;
    expect(body.type).to.equal("message");
    expect(body.attachments).to.have.length(1);
    const att = body.attachments[0];
    expect(att.contentType).to.equal("application/vnd.microsoft.card.adaptive");
    expect(att.content).to.include({ type: "AdaptiveCard", version: "1.4" });
    expect(att.content.actions).to.deep.equal([{ type: "Action.OpenUrl", title: "Open in Cloud SIEM", url: URL }]);
    const factSet = att.content.body.find((b: any) => b.type === "FactSet");
    expect(factSet.facts).to.deep.include({ title: "Entity", value: "10.0.0.5 (IP address)" });
    expect(factSet.facts).to.deep.include({ title: "MITRE tactics", value: "Initial Access, Command and Control" });
    expectReadable(JSON.stringify(body), s);
  });

  it("colours by severity and shows a closed Insight as resolved", () => {
    const colourOf = (s: Summary) => (teamsAdaptiveMessage(s) as any).attachments[0].content.body[0].style;
    expect(colourOf(created(modernInsight({ severity: "LOW" })))).to.equal("accent");
    expect(colourOf(created(modernInsight({ severity: "MEDIUM" })))).to.equal("warning");
    expect(colourOf(created(modernInsight({ severity: "CRITICAL" })))).to.equal("attention");
    const c = closed();
    expect(colourOf(c)).to.equal("good");
    expectReadable(JSON.stringify(teamsAdaptiveMessage(c)), c);
  });

  it("keeps the whole request body of a huge Insight within 24 KiB (under the 28,672-byte limit), marking the cut", () => {
    const s = created(hugeInsight());
    for (const body of [teamsAdaptiveMessage(s), teamsMessageCard(s)]) {
      const json = JSON.stringify(body);
      expect(utf8Bytes(json)).to.be.at.most(TEAMS_BUDGET_BYTES);
      expect(TEAMS_BUDGET_BYTES).to.be.below(TEAMS_MAX_BYTES);
      expect(utf8Bytes(json)).to.be.above(TEAMS_BUDGET_BYTES - 2_000); // uses the room it has
      expect(json).to.contain(TRUNCATION_MARKER);
      expect(json).to.contain("Initial Access, Command and Control");
      expect(json).to.contain(URL);
    }
  });

  it("renders a legacy MessageCard with facts, theme colour and an OpenUri action", () => {
    const s = realClosed();
    const card = teamsMessageCard(s) as any;
    expect(card["@type"]).to.equal("MessageCard");
    expect(card.themeColor).to.match(/^[0-9A-F]{6}$/i);
    expect(card.potentialAction[0]).to.deep.equal({ "@type": "OpenUri", name: "Open in Cloud SIEM", targets: [{ os: "default", uri: URL }] });
    expectReadable(JSON.stringify(card), s);
  });
});

describe("PagerDuty view (Events API v2 and v1)", () => {
  it("triggers with dedup_key = readableId, mapped severity, summary, links and details", () => {
    const s = created();
    const e = pagerDutyV2Event(s, "R0UTING", "acme") as any;
    expect(e).to.include({ routing_key: "R0UTING", event_action: "trigger", dedup_key: "INSIGHT-1234" });
    expect(e.payload).to.include({ severity: "error", source: "10.0.0.5", timestamp: "2026-11-28T03:12:45.123Z" });
    expect(e.payload.summary).to.contain("INSIGHT-1234").and.contain("10.0.0.5").and.contain("Initial Access, Command and Control");
    expect(e.payload.custom_details.tactics).to.deep.equal(["Initial Access", "Command and Control"]);
    expect(e.links).to.deep.equal([
      { href: URL, text: "Open INSIGHT-1234 in Cloud SIEM" },
      { href: "https://acme.pagerduty.com", text: "PagerDuty" },
    ]);
    expect((pagerDutyV2Event(s, "R0UTING") as any).links).to.have.length(1);
  });

  it("maps LOW→info, MEDIUM→warning, HIGH→error, CRITICAL→critical", () => {
    const sev = (severity: string) => (pagerDutyV2Event(created(modernInsight({ severity })), "k") as any).payload.severity;
    expect(["LOW", "MEDIUM", "HIGH", "CRITICAL"].map(sev)).to.deep.equal(["info", "warning", "error", "critical"]);
  });

  it("resolves the same dedup_key when the Insight is closed (v2 and v1)", () => {
    expect(pagerDutyV2Event(closed(), "k")).to.deep.equal({ routing_key: "k", event_action: "resolve", dedup_key: "INSIGHT-1234" });
    const v1 = pagerDutyV1Event(closed(), "svc") as any;
    expect(v1).to.include({ service_key: "svc", event_type: "resolve", incident_key: "INSIGHT-1234" });
  });

  it("gives sensor and rule events their own keys", () => {
    expect(pagerDutyV2Event(sensor(), "k")).to.deep.include({ dedup_key: "sensor:sensor-7", event_action: "trigger" });
    expect((pagerDutyV2Event(sensor(), "k") as any).payload.summary).to.contain("edge-sensor-7").and.contain("dmz");
    expect(pagerDutyV1Event(rule(), "k")).to.deep.include({ incident_key: "rule:MATCH-S00475", event_type: "trigger" });
    expect((pagerDutyV1Event(rule(), "k") as any).description).to.contain("Noisy login rule").and.contain("100000 signals");
  });

  it("renders v1 with service_key, incident_key, description, details and link contexts", () => {
    const s = created();
    const e = pagerDutyV1Event(s, "svc", "acme") as any;
    expect(e).to.include({ service_key: "svc", event_type: "trigger", incident_key: "INSIGHT-1234" });
    expect(e.description).to.contain("10.0.0.5");
    expect(e.details).to.include({ severity: "error", readableId: "INSIGHT-1234" });
    expect(e.contexts[0]).to.deep.equal({ type: "link", href: URL, text: "Open INSIGHT-1234 in Cloud SIEM" });
  });

  it("keeps a huge Insight's summary within 1,024 characters, marked", () => {
    const e = pagerDutyV2Event(created(hugeInsight()), "k") as any;
    expect(e.payload.summary.length).to.be.at.most(PAGERDUTY_LIMITS.summary);
    expect(e.payload.summary).to.contain(TRUNCATION_MARKER);
    expect((pagerDutyV1Event(created(hugeInsight()), "k") as any).description.length).to.be.at.most(PAGERDUTY_LIMITS.summary);
    expect(utf8Bytes(JSON.stringify(e))).to.be.below(512 * 1024);
  });
});

describe("HipChat view (HTML notification)", () => {
  it("shows entity, tactics, resolution and the link, HTML-escaped", () => {
    const s = closed(closedModernInsight());
    const html = hipChatHtml(s);
    expectReadable(html, s);
    expect(html).to.contain(`<a href="${URL.replace(/&/g, "&amp;")}">Open in Cloud SIEM</a>`);
    expect(hipChatHtml(created(modernInsight({ name: "<script>x</script>" })))).to.contain("&lt;script&gt;x&lt;/script&gt;");
  });

  it("colours by severity", () => {
    expect(hipChatColour(created(modernInsight({ severity: "LOW" })))).to.equal("gray");
    expect(hipChatColour(created(modernInsight({ severity: "MEDIUM" })))).to.equal("yellow");
    expect(hipChatColour(created())).to.equal("red");
    expect(hipChatColour(created(modernInsight({ severity: "CRITICAL" })))).to.equal("purple");
    expect(hipChatColour(closed())).to.equal("green");
    expect(hipChatColour(sensor())).to.equal("yellow");
  });

  it("keeps a huge Insight within 10,000 characters with the link and a marker", () => {
    const html = hipChatHtml(created(hugeInsight()));
    expect(html.length).to.be.at.most(HIPCHAT_MAX_CHARS);
    expect(html).to.contain(TRUNCATION_MARKER);
    expect(html).to.contain("Open in Cloud SIEM");
    expect(html).to.contain("Initial Access, Command and Control");
    expect(html).not.to.match(/&(a|am|l|g|q|qu|quo)?…/);
  });
});

describe("E-mail view (subject, text and HTML)", () => {
  it("names the readableId and name in the default subject", () => {
    expect(emailSubject(created())).to.equal("[Cloud SIEM] New Insight INSIGHT-1234: Initial Access with Command and Control");
    expect(emailSubject(sensor())).to.contain("edge-sensor-7");
    expect(emailSubject(rule())).to.contain("Noisy login rule");
  });

  it("fills a subject template (Mustache: a missing value prints nothing) and keeps the subject on one line", () => {
    const event = { topic: "insight.created" as const, payload: modernInsight(), cse: cseMetaFor("insight.created", modernInsight()) };
    const subject = compileTemplate("{{severity}} {{readableId}} on {{entity}}{{unknown}}\r\nBcc: x@y");
    expect(emailSubject(summaryOf(event), { subject, view: templateView(event, summaryOf(event)) })).to.equal("HIGH INSIGHT-1234 on 10.0.0.5 Bcc: x@y");
    expect(emailSubject(created(modernInsight({ name: "a\r\nBcc: x@y" })))).not.to.match(/[\r\n]/);
  });

  it("says entity, tactics, resolution and the link in both bodies", () => {
    const s = realClosed();
    const mail = emailContent(s);
    expectReadable(mail.text, s);
    expectReadable(mail.html, s);
    expect(mail.text).to.contain(`Open in Cloud SIEM: ${URL}`);
    expect(mail.html).to.contain(`href="${URL.replace(/&/g, "&amp;")}"`);
  });

  it("escapes HTML and limits a huge Insight", () => {
    const mail = emailContent(created(hugeInsight()));
    expect(mail.html).not.to.contain("<markup>");
    expect(mail.html).to.contain("&lt;markup&gt;");
    expect(mail.text).to.contain(TRUNCATION_MARKER);
    expect(mail.text).to.contain("and 200 more");
    expect(mail.subject.length).to.be.at.most(200);
  });
});
