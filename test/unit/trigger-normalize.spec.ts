import { expect } from "chai";
import { InputError, normalizeInput, parsePayload, toIsoUtc } from "../../src/events/normalize";
import { closedModernInsight, modernInsight, realInsight, realInsightEnvelope } from "../fakes/insights";

const NOW = Date.parse("2026-11-28T04:00:00Z");

function fails(topic: unknown, payload: unknown): string {
  try {
    normalizeInput(topic, payload, NOW);
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(topic)} to fail`);
}

describe("trigger input normalisation", () => {
  it("reads a bare real Insight (closed) with any other topic as insight.closed, the payload the very same object", () => {
    const insight = realInsight();
    const input = normalizeInput("/cse/insight", insight, NOW);
    expect(input).to.deep.equal({ kind: "event", topic: "insight.closed", payload: realInsight() });
    expect(input.kind === "event" && input.payload).to.equal(insight);
  });

  it("unwraps the API's {data, errors} envelope and reads an open Insight as insight.created", () => {
    const envelope = { data: modernInsight(), errors: [] };
    expect(normalizeInput(undefined, envelope, NOW)).to.deep.equal({ kind: "event", topic: "insight.created", payload: modernInsight() });
    expect(normalizeInput("anything", realInsightEnvelope(), NOW)).to.deep.include({ topic: "insight.closed" });
  });

  it("takes an event topic at its word", () => {
    expect(normalizeInput("insight.closed", closedModernInsight(), NOW)).to.deep.include({ topic: "insight.closed" });
    expect(normalizeInput("insight.onDemand", { data: modernInsight() }, NOW)).to.deep.equal({ kind: "event", topic: "insight.onDemand", payload: modernInsight() });
  });

  it("parses a JSON string or Buffer payload and reports malformed JSON clearly", () => {
    const text = JSON.stringify(modernInsight());
    expect(normalizeInput("x", text, NOW)).to.deep.include({ topic: "insight.created" });
    expect(normalizeInput("x", Buffer.from(text), NOW)).to.deep.include({ topic: "insight.created" });
    expect(fails("x", '{"id": "abc",')).to.match(/^payload is not valid JSON: /);
    expect(parsePayload("INSIGHT-1")).to.equal("INSIGHT-1");
  });

  it("turns insight.onDemand with an Insight ID into a fetch, and refuses other strings", () => {
    expect(normalizeInput("insight.onDemand", " INSIGHT-123 ", NOW)).to.deep.equal({ kind: "fetchInsight", insightId: "INSIGHT-123" });
    expect(normalizeInput("insight.onDemand", "8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b", NOW)).to.deep.equal({ kind: "fetchInsight", insightId: "8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b" });
    expect(fails("insight.onDemand", "hello")).to.equal('insight.onDemand payload "hello" is not an Insight ID (INSIGHT-123 or a UUID)');
  });

  it("says an Insight has no id", () => {
    const { id: _id, ...noId } = modernInsight();
    expect(fails("whatever", noId)).to.equal('Insight INSIGHT-1234 has no id: an Insight needs its "id" field (the UUID the CSE API gives it)');
    expect(fails("insight.created", { data: noId, errors: [] })).to.match(/^Insight INSIGHT-1234 has no id/);
  });

  it("calls anything else not a Cloud SIEM event", () => {
    expect(fails("weather", { temperature: 21 })).to.equal('not a Cloud SIEM event: topic "weather" and the payload is an object that is not an Insight');
    expect(fails(undefined, 42)).to.match(/^not a Cloud SIEM event: no topic/);
    expect(fails("insight.created", "INSIGHT-1")).to.match(/^not a Cloud SIEM event: the payload of insight.created must be an Insight object, not a string/);
    expect(fails("insight.created", { name: "x" })).to.match(/^not a Cloud SIEM event: the payload of insight.created is not an Insight/);
    expect(fails("sensor.offline", [1])).to.match(/^not a Cloud SIEM event/);
  });

  it("normalises sensor.offline, filling defaults and making lastSeen ISO UTC", () => {
    expect(normalizeInput("sensor.offline", { sensorId: "s-1", lastSeen: "2026-11-28T03:00:00" }, NOW)).to.deep.equal({
      kind: "event",
      topic: "sensor.offline",
      payload: { sensorId: "s-1", sensorName: "s-1", sensorZone: "default", lastSeen: "2026-11-28T03:00:00.000Z" },
    });
    expect(normalizeInput("sensor.offline", { sensorId: "s-1", sensorName: "Edge", sensorZone: "dmz", lastSeen: 0 }, NOW)).to.deep.include({
      payload: { sensorId: "s-1", sensorName: "Edge", sensorZone: "dmz", lastSeen: "1970-01-01T00:00:00.000Z" },
    });
    expect(fails("sensor.offline", { sensorName: "x" })).to.equal("sensor.offline payload needs a sensorId (a non-empty string)");
    expect(fails("sensor.offline", { sensorId: "s", lastSeen: "yesterday" })).to.equal('lastSeen is not a valid time: "yesterday"');
  });

  it("normalises rule.autoDisabled", () => {
    expect(normalizeInput("rule.autoDisabled", { ruleId: "MATCH-S1", reason: "too many" }, NOW)).to.deep.equal({
      kind: "event",
      topic: "rule.autoDisabled",
      payload: { ruleId: "MATCH-S1", ruleName: "MATCH-S1", reason: "too many", disabledAt: "2026-11-28T04:00:00.000Z" },
    });
    expect(fails("rule.autoDisabled", {})).to.equal("rule.autoDisabled payload needs a ruleId (a non-empty string)");
  });

  it("reads heartbeats and signals", () => {
    expect(normalizeInput("sensor.heartbeat", { sensorId: "s-1", sensorZone: "dmz" }, NOW)).to.deep.equal({ kind: "heartbeat", heartbeat: { sensorId: "s-1", sensorZone: "dmz" } });
    expect(normalizeInput("sensor.heartbeat", "s-2", NOW)).to.deep.equal({ kind: "heartbeat", heartbeat: { sensorId: "s-2" } });
    expect(fails("sensor.heartbeat", {})).to.equal("sensor.heartbeat payload needs a sensorId (a non-empty string)");

    const signal = modernInsight().signals![0];
    expect(normalizeInput("signal", signal, NOW)).to.deep.equal({ kind: "signal", signal: { ruleId: "MATCH-S00475", ruleName: "Successful login from a new country", signal } });
    expect(normalizeInput("signal", { ruleId: "R1", ruleName: "Rule one", name: "sig" }, NOW)).to.deep.include({ signal: { ruleId: "R1", ruleName: "Rule one", signal: { ruleId: "R1", ruleName: "Rule one", name: "sig" } } });
    expect(fails("signal", { name: "x" })).to.equal("signal payload needs a ruleId (the rule that fired it)");
  });

  it("reads times without a zone as UTC", () => {
    expect(toIsoUtc("2021-03-23T20:06:51.511505", "closed")).to.equal("2021-03-23T20:06:51.511Z");
    expect(toIsoUtc("2026-11-28T05:00:00+01:00", "t")).to.equal("2026-11-28T04:00:00.000Z");
    expect(() => toIsoUtc(NaN, "t")).to.throw("t is not a valid time");
  });
});
