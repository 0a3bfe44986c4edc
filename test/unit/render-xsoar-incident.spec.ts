import { expect } from "chai";
import { rfc3339, xsoarBody, xsoarIncident, xsoarSeverity } from "../../src/render/xsoar-incident";
import { modernInsight, realInsight } from "../fakes/insights";

describe("XSOAR incident rendering", () => {
  it("posts the raw Insight to /incident/json", () => {
    const insight = realInsight();
    expect(xsoarBody("/incident/json", "insight.closed", insight)).to.equal(JSON.stringify(insight));
  });

  it("leaves records out when excludeRecords is set, on every endpoint", () => {
    const insight = modernInsight();
    const raw = JSON.parse(xsoarBody("/incident/json", "insight.created", insight, true));
    expect(raw.signals).to.have.length(2);
    for (const s of raw.signals) expect(s).to.not.have.property("allRecords");
    const structured = JSON.parse(xsoarBody("/incident", "insight.created", insight, true));
    expect(JSON.parse(structured.rawJSON).signals[0]).to.not.have.property("allRecords");
    expect(insight.signals![0].allRecords).to.have.length(6);
  });

  it("builds the structured incident for /incident and XSOAR 8", () => {
    const insight = modernInsight();
    for (const endpoint of ["/incident", "/xsoar/public/v1/incident"] as const) {
      const body = JSON.parse(xsoarBody(endpoint, "insight.created", insight));
      expect(body).to.deep.equal({
        name: "Initial Access with Command and Control - INSIGHT-1234",
        type: "Sumo Logic Insight",
        severity: 3,
        details: "Initial Access, Command and Control",
        occurred: "2026-11-28T03:12:45.123456Z",
        rawJSON: JSON.stringify(insight),
      });
    }
  });

  it("maps severities LOW 1 … CRITICAL 4", () => {
    expect(["LOW", "MEDIUM", "HIGH", "CRITICAL", "critical", "BOGUS", undefined].map(xsoarSeverity)).to.deep.equal([1, 2, 3, 4, 4, 0, 0]);
  });

  it("writes API times as RFC 3339 UTC", () => {
    expect(rfc3339("2021-02-22T16:28:25.003256")).to.equal("2021-02-22T16:28:25.003256Z");
    expect(rfc3339("2021-02-22T16:28:25")).to.equal("2021-02-22T16:28:25Z");
    expect(rfc3339("2021-02-22T16:28:25Z")).to.equal("2021-02-22T16:28:25Z");
    expect(rfc3339("2021-02-22T16:28:25+02:00")).to.equal("2021-02-22T16:28:25+02:00");
    expect(rfc3339("yesterday")).to.equal(undefined);
    expect(xsoarIncident("insight.closed", realInsight()).occurred).to.equal("2021-02-22T16:28:25.003256Z");
  });

  it("describes sensor and rule events", () => {
    const sensor = xsoarIncident("sensor.offline", { sensorId: "s-1", sensorName: "dc-sensor", sensorZone: "dmz", lastSeen: "2026-11-28T03:00:00.000Z" });
    expect(sensor).to.include({ name: "Sensor offline - dc-sensor", severity: 2, occurred: "2026-11-28T03:00:00.000Z" });
    expect(sensor.details).to.contain("dmz");
    const rule = xsoarIncident("rule.autoDisabled", { ruleId: "r", ruleName: "Noisy rule", reason: "over 100000 signals in an hour", disabledAt: "2026-11-28T03:00:00Z" });
    expect(rule).to.include({ name: "Rule automatically disabled - Noisy rule", details: "over 100000 signals in an hour" });
    expect(JSON.parse(rule.rawJSON).ruleId).to.equal("r");
  });
});
