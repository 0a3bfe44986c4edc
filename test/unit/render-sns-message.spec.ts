import { expect } from "chai";
import { renderSnsMessage, snsMessageBytes, snsSubject, SNS_MAX_BYTES, SnsMessageTooLargeError } from "../../src/render/sns-message";
import { modernInsight, realInsight } from "../fakes/insights";

describe("SNS message rendering", () => {
  it("sends the Insight JSON as the API returns it, with the event attribute", () => {
    const insight = realInsight();
    const m = renderSnsMessage("insight.closed", insight);
    expect(m.message).to.equal(JSON.stringify(insight));
    expect(JSON.parse(m.message)).to.deep.equal(insight);
    expect(m.attributes).to.deep.equal({ event: "insight.closed" });
    expect(m.dropped).to.equal(undefined);
  });

  it("sends the payload object for sensor and rule events", () => {
    const sensor = { sensorId: "s-1", sensorName: "dc-sensor", sensorZone: "dmz", lastSeen: "2026-11-28T03:00:00Z" };
    const m = renderSnsMessage("sensor.offline", sensor);
    expect(JSON.parse(m.message)).to.deep.equal(sensor);
    expect(m.subject).to.equal("Cloud SIEM sensor.offline: dc-sensor");
    const rule = { ruleId: "MATCH-S00475", ruleName: "New country login", reason: "more than 100000 signals in an hour", disabledAt: "2026-11-28T03:00:00Z" };
    expect(renderSnsMessage("rule.autoDisabled", rule).subject).to.equal("Cloud SIEM rule.autoDisabled: New country login");
  });

  describe("subject", () => {
    it("names the event, readable id and Insight name", () => {
      expect(snsSubject("insight.created", modernInsight())).to.equal(
        "Cloud SIEM insight.created INSIGHT-1234: Initial Access with Command and Control",
      );
    });

    it("is at most 100 printable ASCII characters without line breaks", () => {
      const name = "Évasion\r\nde défense — 攻撃 " + "x".repeat(200);
      const subject = snsSubject("insight.created", modernInsight({ name }));
      expect(subject.length).to.be.at.most(100);
      expect(subject).to.match(/^[\x20-\x7e]+$/);
      expect(subject).to.match(/^Cloud SIEM insight\.created INSIGHT-1234: Evasion de defense \? \?\? x+\.\.\.$/);
    });

    it("falls back to the id when there is no readable id or name", () => {
      expect(snsSubject("insight.onDemand", { id: "abc" })).to.equal("Cloud SIEM insight.onDemand abc");
    });
  });

  describe("256 KiB guard", () => {
    it("counts the body and every attribute's name, type and value", () => {
      expect(snsMessageBytes("héllo", { event: "insight.created" })).to.equal(6 + 5 + 6 + 15);
    });

    it("keeps a message that fits exactly", () => {
      const insight = modernInsight();
      const bytes = snsMessageBytes(JSON.stringify(insight), { event: "insight.created" });
      expect(renderSnsMessage("insight.created", insight, bytes).dropped).to.equal(undefined);
      expect(renderSnsMessage("insight.created", insight, bytes - 1).dropped).to.equal("records");
    });

    it("drops records first and marks the message truncated", () => {
      const insight = modernInsight({}, 400);
      expect(Buffer.byteLength(JSON.stringify(insight))).to.be.greaterThan(300 * 1024);
      const m = renderSnsMessage("insight.created", insight);
      expect(m.dropped).to.equal("records");
      expect(m.attributes).to.deep.equal({ event: "insight.created", truncated: "true" });
      expect(snsMessageBytes(m.message, m.attributes)).to.be.at.most(SNS_MAX_BYTES);
      const sent = JSON.parse(m.message);
      expect(sent.signals).to.have.length(2);
      expect(sent.signals[0]).to.not.have.property("allRecords");
      expect(sent.signals[0].name).to.equal(insight.signals![0].name);
      expect(sent.readableId).to.equal("INSIGHT-1234");
      expect(insight.signals![0].allRecords).to.have.length(400); // the message's own payload is untouched
    });

    it("then drops signals", () => {
      const signals = Array.from({ length: 40 }, (_, i) => ({ id: `s-${i}`, name: "n", description: "d".repeat(8000) }));
      const m = renderSnsMessage("insight.created", modernInsight({ signals }));
      expect(m.dropped).to.equal("signals");
      expect(m.attributes.truncated).to.equal("true");
      expect(JSON.parse(m.message)).to.not.have.property("signals");
    });

    it("fails only when even the bare Insight is too big", () => {
      const insight = modernInsight({ description: "x".repeat(SNS_MAX_BYTES) });
      expect(() => renderSnsMessage("insight.created", insight)).to.throw(SnsMessageTooLargeError, /over the SNS limit of 262144 bytes/);
      const sensor = { sensorId: "s", sensorName: "x".repeat(SNS_MAX_BYTES), sensorZone: "", lastSeen: "" };
      expect(() => renderSnsMessage("sensor.offline", sensor)).to.throw(SnsMessageTooLargeError);
    });
  });
});
