import { expect } from "chai";
import { cseMetaFor } from "../../src/events/meta";
import type { Insight } from "../../src/events/types";
import { SLACK_WEBHOOK_TEXT_LIMIT, slackWebhookBody } from "../../src/render/slack-webhook";
import { closedModernInsight, modernInsight, realInsight } from "../fakes/insights";

function insightEvent(insight: Insight, topic: "insight.created" | "insight.closed" = "insight.created") {
  return { topic, payload: insight, cse: { ...cseMetaFor(topic, insight), url: "https://siem.example/sec/insight/x?a=1&b=2" } };
}

function codeBlock(text: string): unknown {
  const json = /```\n([\s\S]*)\n```$/.exec(text)![1];
  return JSON.parse(json.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"));
}

describe("render: Slack webhook body", function () {
  it("holds a summary line and the whole Insight JSON in a code block", function () {
    const insight = modernInsight();
    const { text } = slackWebhookBody(insightEvent(insight));
    const first = text.split("\n")[0];
    expect(first).to.include("INSIGHT-1234").and.include("HIGH").and.include("10.0.0.5").and.include("Initial Access");
    expect(first).to.include("<https://siem.example/sec/insight/x?a=1&amp;b=2|");
    expect(codeBlock(text)).to.deep.equal(insight);
  });

  it("escapes &, < and > so Slack shows them as written", function () {
    const insight = modernInsight({ description: "a <b> & c" });
    const { text } = slackWebhookBody(insightEvent(insight));
    expect(text).to.include("a &lt;b&gt; &amp; c");
    expect(codeBlock(text)).to.deep.equal(insight);
  });

  it("names the resolution of a closed Insight", function () {
    const { text } = slackWebhookBody(insightEvent(closedModernInsight(), "insight.closed"));
    expect(text.split("\n")[0]).to.include("Resolved");
  });

  it("drops records first, then signals, to stay under 40,000 characters, and says so", function () {
    const big = modernInsight({}, 60);
    const full = slackWebhookBody(insightEvent(big), 1_000_000).text;
    expect(full.length).to.be.greaterThan(SLACK_WEBHOOK_TEXT_LIMIT);
    const { text } = slackWebhookBody(insightEvent(big));
    expect(text.length).to.be.at.most(SLACK_WEBHOOK_TEXT_LIMIT);
    expect(text).to.include("Records left out");
    const shown = codeBlock(text) as Insight;
    expect(shown.signals).to.have.length(2);
    expect(shown.signals![0]).to.not.have.property("allRecords");

    const huge = modernInsight({ signals: Array.from({ length: 400 }, (_, i) => ({ id: `s${i}`, name: "x".repeat(200), stage: "Impact" })) }, 0);
    const second = slackWebhookBody(insightEvent(huge)).text;
    expect(second.length).to.be.at.most(SLACK_WEBHOOK_TEXT_LIMIT);
    expect(second).to.include("Signals and records left out");
    expect(codeBlock(second)).to.not.have.property("signals");
  });

  it("cuts the JSON with a marker when even the bare Insight is too big", function () {
    const monster = modernInsight({ description: "<&>".repeat(30_000) });
    const { text } = slackWebhookBody(insightEvent(monster));
    expect(text.length).to.be.at.most(SLACK_WEBHOOK_TEXT_LIMIT);
    expect(text).to.include("JSON cut");
    expect(text).to.include("[truncated]");
    expect(text.endsWith("\n```")).to.equal(true);
    expect(text).to.not.match(/&(a|am|l|g)?\n/);
  });

  it("sends the payload object for sensor and rule events", function () {
    const sensor = { sensorId: "s-1", sensorName: "edge-1", sensorZone: "dmz", lastSeen: "2026-11-28T02:00:00Z" };
    const s = slackWebhookBody({ topic: "sensor.offline", payload: sensor, cse: cseMetaFor("sensor.offline", sensor) }).text;
    expect(s.split("\n")[0]).to.include("edge-1").and.include("dmz");
    expect(codeBlock(s)).to.deep.equal(sensor);
    const rule = { ruleId: "MATCH-S1", ruleName: "Noisy rule", reason: "more than 100000 signals in an hour", disabledAt: "2026-11-28T02:00:00Z" };
    const r = slackWebhookBody({ topic: "rule.autoDisabled", payload: rule, cse: cseMetaFor("rule.autoDisabled", rule) }).text;
    expect(r.split("\n")[0]).to.include("Noisy rule").and.include("100000");
    expect(codeBlock(r)).to.deep.equal(rule);
  });

  it("works on the real fixture", function () {
    const { text } = slackWebhookBody(insightEvent(realInsight(), "insight.closed"));
    expect(codeBlock(text)).to.deep.equal(realInsight());
  });
});
