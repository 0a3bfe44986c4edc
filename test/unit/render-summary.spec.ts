import { expect } from "chai";
import { summaryOf, isoUtc } from "../../src/render/summary";
import { eventOfMessage as eventOf } from "../../src/events/event-message";
import { fitWithin, TRUNCATION_MARKER, truncateBytes, truncateRendered, truncateText, utf8Bytes } from "../../src/render/truncate";
import { closedModernInsight, modernInsight, realInsight, realInsightEnvelope, ruleAutoDisabledPayload, sensorOfflinePayload } from "../fakes/insights";

const URL = "https://service.sumologic.com/sec/insight/8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b";

describe("summary model", () => {
  it("names readableId, name, severity, entity, tactics and link of a modern Insight", () => {
    const s = summaryOf({ topic: "insight.created", payload: modernInsight(), cse: { url: URL } });
    expect(s).to.include({ event: "insight.created", kind: "insight", readableId: "INSIGHT-1234", severity: "HIGH", link: URL, closed: false });
    expect(s.name).to.equal("Initial Access with Command and Control");
    expect(s.title).to.equal("INSIGHT-1234: Initial Access with Command and Control");
    expect(s.entity).to.deep.include({ type: "_ip", value: "10.0.0.5" });
    expect(s.tactics).to.deep.equal(["Initial Access", "Command and Control"]);
    expect(s.resolution).to.equal(undefined);
    expect(s.facts.map((f) => f.label)).to.include.members(["Severity", "Entity", "MITRE tactics"]);
    expect(s.subjectKey).to.equal("INSIGHT-1234");
    expect(s.timestamp).to.equal("2026-11-28T03:12:45.123Z");
  });

  it("reads the old entity shape and the signals' stages of the real INSIGHT-220, computing msg.cse when missing", () => {
    const s = summaryOf({ topic: "insight.closed", payload: realInsight() });
    expect(s.entity).to.deep.include({ type: "_hostname", value: "testcomputer.somedomain.net" });
    expect(s.tactics).to.include.members(["Initial Access", "Execution", "Defense Evasion", "Command and Control"]);
    expect(s.resolution).to.equal("No Action");
    expect(s.facts).to.deep.include({ label: "Resolution", value: "No Action" });
    expect(s.link).to.equal(undefined);
  });

  it("shows the resolution of a closed Insight", () => {
    const s = summaryOf({ topic: "insight.closed", payload: closedModernInsight(), cse: { url: URL } });
    expect(s.closed).to.equal(true);
    expect(s.resolution).to.equal("Resolved");
    expect(s.facts).to.deep.include({ label: "Closed by", value: "analyst@example.com" });
  });

  it("prefers msg.cse's entity and tactics when the trigger set them", () => {
    const s = summaryOf({
      topic: "insight.created",
      payload: modernInsight(),
      cse: { url: URL, entity: { type: "_username", value: "bob" }, tactics: [{ id: "TA0040", name: "Impact" }] },
    });
    expect(s.entity?.value).to.equal("bob");
    expect(s.tactics).to.deep.equal(["Impact"]);
  });

  it("takes a bare Insight or an API envelope as insight.onDemand", () => {
    expect(eventOf({ topic: "whatever", payload: modernInsight() }).topic).to.equal("insight.onDemand");
    const s = summaryOf({ payload: realInsightEnvelope() });
    expect(s.event).to.equal("insight.onDemand");
    expect(s.readableId).to.equal("INSIGHT-220");
  });

  it("summarises an offline sensor with its name, zone and last report", () => {
    const s = summaryOf({ topic: "sensor.offline", payload: sensorOfflinePayload() });
    expect(s.sensor).to.deep.equal({ id: "sensor-7", name: "edge-sensor-7", zone: "dmz", lastSeen: "2026-11-28 02:00:00 UTC" });
    expect(s.title).to.contain("edge-sensor-7");
    expect(s.subjectKey).to.equal("sensor:sensor-7");
    expect(s.facts).to.deep.include({ label: "Zone", value: "dmz" });
  });

  it("summarises an automatically disabled rule with its name and reason", () => {
    const s = summaryOf({ topic: "rule.autoDisabled", payload: ruleAutoDisabledPayload() });
    expect(s.rule).to.include({ name: "Noisy login rule", reason: "more than 100000 signals in one hour" });
    expect(s.subjectKey).to.equal("rule:MATCH-S00475");
    expect(s.facts).to.deep.include({ label: "Reason", value: "more than 100000 signals in one hour" });
  });

  it("refuses what is not a Cloud SIEM event", () => {
    expect(() => summaryOf({ topic: "hello", payload: "world" })).to.throw(/^not a Cloud SIEM event/);
    expect(() => summaryOf({ topic: "sensor.offline", payload: {} })).to.throw(/sensorId/);
    expect(() => summaryOf({ topic: "insight.created", payload: { foo: 1 } })).to.throw(/not an Insight/);
  });

  it("reads CSE times (UTC without Z) as UTC", () => {
    expect(isoUtc("2026-11-28T03:12:45.123456")).to.equal("2026-11-28T03:12:45.123Z");
    expect(isoUtc("2026-11-28T03:12:45+01:00")).to.equal("2026-11-28T02:12:45.000Z");
    expect(isoUtc("not a time")).to.equal(undefined);
  });
});

describe("truncation helpers", () => {
  it("keeps text that fits and marks text that does not", () => {
    expect(truncateText("short", 10)).to.equal("short");
    const cut = truncateText("x".repeat(100), 50);
    expect(cut).to.have.length(50);
    expect(cut.endsWith(TRUNCATION_MARKER)).to.equal(true);
  });

  it("never splits a surrogate pair", () => {
    const cut = truncateText("😀".repeat(20), 16, "…");
    expect(cut).to.equal("😀".repeat(7) + "…");
  });

  it("never cuts an escape sequence in half", () => {
    const esc = (s: string) => s.replace(/&/g, "&amp;");
    for (let max = 14; max < 40; max++) {
      const out = truncateRendered("&&&&&&&&&&&&&&&&&&&&", max, esc, "…");
      expect(out.length).to.be.at.most(max);
      expect(out).to.match(/^(&amp;)*…$/);
    }
  });

  it("truncates by UTF-8 bytes", () => {
    const out = truncateBytes("é".repeat(1000), 101);
    expect(utf8Bytes(out)).to.be.at.most(101);
    expect(out.endsWith(TRUNCATION_MARKER)).to.equal(true);
  });

  it("finds the largest field budget that fits", () => {
    const r = fitWithin(100, (b) => "y".repeat(Math.min(b, 500)) + "z".repeat(Math.min(b, 30)), (s) => s.length, 1000);
    expect(r.fits).to.equal(true);
    expect(r.built.length).to.equal(100);
    expect(fitWithin(5, () => "too long", (s) => s.length, 10).fits).to.equal(false);
  });
});
