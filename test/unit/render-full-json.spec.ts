import { expect } from "chai";
import { fullInsight, fullJson, parseFieldList } from "../../src/render/full-json";
import { modernInsight, realInsight } from "../fakes/insights";

describe("render: full JSON (HTTP POST v2)", function () {
  it("without options drops only `signals`, byte for byte otherwise", function () {
    const insight = realInsight();
    const expected = JSON.parse(JSON.stringify(insight));
    delete expected.signals;
    expect(fullJson(insight)).to.equal(JSON.stringify(expected));
    expect(insight.signals).to.be.an("array").with.length.greaterThan(0);
  });

  it("with includeSignals keeps signals but drops their allRecords", function () {
    const insight = modernInsight();
    const expected = JSON.parse(JSON.stringify(insight));
    for (const s of expected.signals) delete s.allRecords;
    expect(fullJson(insight, { includeSignals: true })).to.equal(JSON.stringify(expected));
  });

  it("with includeSignals and includeRecords is the API object itself", function () {
    for (const insight of [realInsight(), modernInsight()]) {
      expect(fullJson(insight, { includeSignals: true, includeRecords: true })).to.equal(JSON.stringify(insight));
      expect(fullJson(insight, { includeSignals: true, includeRecords: true, recordFields: [] })).to.equal(JSON.stringify(insight));
      // the fast path (no copy) and the shaped copy serialise to the same text
      expect(fullJson(insight, { includeSignals: true, includeRecords: true })).to.equal(
        JSON.stringify(fullInsight(insight, { includeSignals: true, includeRecords: true })),
      );
    }
  });

  it("recordFields keeps only those record keys, in their original order", function () {
    const insight = modernInsight();
    const shaped = fullInsight(insight, { includeSignals: true, includeRecords: true, recordFields: ["dstDevice_ip", "srcDevice_ip", "nope"] });
    for (const signal of shaped.signals!) {
      for (const record of signal.allRecords!) expect(Object.keys(record)).to.deep.equal(["srcDevice_ip", "dstDevice_ip"]);
    }
    expect(insight.signals![0].allRecords![0]).to.have.property("uid");
  });

  it("recordFields does nothing without includeRecords", function () {
    const shaped = fullInsight(modernInsight(), { includeSignals: true, recordFields: ["uid"] });
    expect(shaped.signals![0]).to.not.have.property("allRecords");
  });

  it("parses the comma list", function () {
    expect(parseFieldList(" a, b ,,c\nd ")).to.deep.equal(["a", "b", "c", "d"]);
    expect(parseFieldList(undefined)).to.deep.equal([]);
  });
});
