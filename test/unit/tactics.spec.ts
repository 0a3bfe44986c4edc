import { expect } from "chai";
import { ENTERPRISE_TACTICS, tacticsOf } from "../../src/events/tactics";
import { entityOf, insightUrl, unwrapEnvelope } from "../../src/events/insight";
import { modernInsight, realInsight, realInsightEnvelope } from "../fakes/insights";

describe("MITRE tactics", () => {
  it("names all 14 enterprise tactics", () => {
    expect(ENTERPRISE_TACTICS).to.have.length(14);
    expect(new Set(ENTERPRISE_TACTICS.map((t) => t.id)).size).to.equal(14);
  });

  it("reads tactic tags from the insight and its signals, in kill-chain order", () => {
    const insight = modernInsight({ tags: ["_mitreAttackTactic:TA0011"] });
    expect(tacticsOf(insight)).to.deep.equal([
      { id: "TA0001", name: "Initial Access" },
      { id: "TA0011", name: "Command and Control" },
    ]);
  });

  it("falls back to the signals' stage names when there are no tactic tags", () => {
    const insight = realInsight();
    expect(insight.tags).to.deep.equal([]);
    expect(tacticsOf(insight).map((t) => t.name)).to.include.members(["Initial Access", "Execution"]);
  });

  it("falls back to the tactic names in the Insight name", () => {
    expect(tacticsOf({ id: "x", name: "Lateral Movement with Exfiltration", signals: [] }).map((t) => t.id)).to.deep.equal(["TA0008", "TA0010"]);
  });
});

describe("Insight helpers", () => {
  it("unwraps the API envelope", () => {
    expect(unwrapEnvelope(realInsightEnvelope())).to.have.property("readableId", "INSIGHT-220");
  });

  it("finds the entity in every shape tenants send", () => {
    expect(entityOf(modernInsight())).to.deep.equal({ type: "_ip", value: "10.0.0.5" });
    expect(entityOf(realInsight())).to.deep.equal({ type: "_hostname", value: "testcomputer.somedomain.net" });
    expect(entityOf({ entity: { id: "x", name: "10.1.1.1", ip: { address: "10.1.1.1" } } })).to.deep.equal({ type: "_ip", value: "10.1.1.1" });
    expect(entityOf({ entity: { id: "x", name: "bob", username: "bob" } })).to.deep.equal({ type: "_username", value: "bob" });
  });

  it("links to the Insight in the tenant UI, else its own sumoUrl", () => {
    expect(insightUrl({ id: "abc" }, "https://service.sumologic.com/")).to.equal("https://service.sumologic.com/sec/insight/abc");
    expect(insightUrl({ id: "abc", sumoUrl: "https://x/sec/insight/abc" })).to.equal("https://x/sec/insight/abc");
    expect(insightUrl({ id: "abc" })).to.equal(undefined);
  });
});
