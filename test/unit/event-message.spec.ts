import { expect } from "chai";
import { eventOfMessage as eventOf } from "../../src/events/event-message";
import { modernInsight, realInsight, realInsightEnvelope } from "../fakes/insights";

describe("delivery: which messages are Cloud SIEM events", function () {
  const now = new Date("2026-11-28T05:00:00Z");

  it("takes an event topic with a fitting payload, keeping the trigger's msg.cse", function () {
    const insight = modernInsight();
    const cse = { event: "insight.created", key: "k", tactics: [], receivedAt: "x", url: "https://siem.example/i" };
    const event = eventOf({ topic: "insight.created", payload: insight, cse }, now);
    expect(event.topic).to.equal("insight.created");
    expect(event.payload).to.equal(insight);
    expect(event.cse).to.equal(cse);
  });

  it("builds msg.cse when it is missing or belongs to another event", function () {
    const event = eventOf({ topic: "insight.closed", payload: realInsight(), cse: { event: "insight.created", key: "x", tactics: [] } }, now);
    expect(event.cse).to.include({ event: "insight.closed", key: `${realInsight().id}:insight.closed`, receivedAt: now.toISOString() });
  });

  it("treats a bare Insight or an envelope without an event topic as an on-demand run", function () {
    for (const msg of [{ payload: modernInsight() }, { topic: "cse/insight", payload: realInsightEnvelope() }]) {
      const event = eventOf(msg, now);
      expect(event.topic).to.equal("insight.onDemand");
      expect(event.payload).to.have.property("readableId");
      expect(event.cse.event).to.equal("insight.onDemand");
    }
  });

  it("takes sensor and rule events", function () {
    expect(eventOf({ topic: "sensor.offline", payload: { sensorId: "s", sensorName: "n", sensorZone: "z", lastSeen: "2026-11-28T02:00:00Z" } }).cse.key).to.equal("sensor:s:offline");
    expect(eventOf({ topic: "rule.autoDisabled", payload: { ruleId: "r", ruleName: "n", reason: "x", disabledAt: "2026-11-28T02:00:00Z" } }).cse.key).to.equal("rule:r:autoDisabled");
  });

  it("refuses anything else with 'not a Cloud SIEM event'", function () {
    const bad = [
      { topic: "hello", payload: "world" },
      { payload: { some: "object" } },
      { topic: "insight.created", payload: "INSIGHT-1" },
      { topic: "insight.created", payload: { readableId: "INSIGHT-1" } },
      { topic: "sensor.offline", payload: { sensorName: "x" } },
      { topic: "rule.autoDisabled", payload: {} },
      { payload: { ...modernInsight(), id: undefined } },
    ];
    for (const msg of bad) expect(() => eventOf(msg), JSON.stringify(msg).slice(0, 60)).to.throw(/^not a Cloud SIEM event: /);
  });
});
