import { expect } from "chai";
import { enrichmentBody, IndicatorCache, reputationOf, riskOf, type IndicatorRisk } from "../../src/targets/recorded-future";

const risk = (indicator: string, level: number | null, score: number | null = 50): IndicatorRisk => ({ indicator, type: "ip", score, level, riskString: null, rules: null });

describe("Recorded Future indicator cache", function () {
  it("keeps a result for the TTL, then forgets it", async function () {
    let now = 1000;
    const cache = new IndicatorCache(3600_000, 100, () => now);
    cache.put("ip:8.8.8.8", Promise.resolve(null));
    await Promise.resolve();
    await Promise.resolve();
    expect(cache.get("ip:8.8.8.8")).not.to.equal(undefined);
    now += 3599_999;
    expect(cache.get("ip:8.8.8.8")).not.to.equal(undefined);
    now += 1;
    expect(cache.get("ip:8.8.8.8")).to.equal(undefined);
    expect(cache.size).to.equal(0);
  });

  it("shares a pending look-up and forgets a failed one", async function () {
    const cache = new IndicatorCache(60_000);
    let fail!: (e: Error) => void;
    const pending = new Promise<null>((_, reject) => (fail = reject));
    pending.catch(() => undefined);
    cache.put("ip:1.1.1.1", pending);
    expect(cache.get("ip:1.1.1.1")).to.equal(pending);
    fail(new Error("boom"));
    await pending.catch(() => undefined);
    await Promise.resolve();
    expect(cache.get("ip:1.1.1.1")).to.equal(undefined);
  });

  it("with TTL 0 keeps nothing once settled, and drops the oldest beyond its size", async function () {
    const none = new IndicatorCache(0);
    const done = Promise.resolve(null);
    none.put("ip:1.1.1.1", done);
    await done;
    await Promise.resolve();
    expect(none.get("ip:1.1.1.1")).to.equal(undefined);
    const small = new IndicatorCache(60_000, 2);
    small.put("a", Promise.resolve(null));
    small.put("b", Promise.resolve(null));
    small.put("c", Promise.resolve(null));
    expect(small.get("a")).to.equal(undefined);
    expect(small.size).to.equal(2);
  });
});

describe("Recorded Future results", function () {
  it("maps a SOAR result, falling back to criticality and riskString of the single look-up API", function () {
    expect(riskOf({ entity: { id: "ip:1.2.3.4", name: "1.2.3.4", type: "IpAddress" }, risk: { score: 68, criticality: 3, riskString: "5/64", rules: 5 } })).to.deep.equal({
      indicator: "1.2.3.4", type: "ip", score: 68, level: 3, riskString: "5/64", rules: 5, intelCard: "https://app.recordedfuture.com/live/sc/entity/ip%3A1.2.3.4",
    });
    expect(riskOf({ entity: { id: "idn:Evil.Example", name: "Evil.Example", type: "InternetDomainName" }, risk: {} })).to.include({ indicator: "evil.example", type: "domain", score: null });
    expect(riskOf({ entity: { id: "url:x", name: "http://x", type: "URL" } })).to.equal(undefined);
    expect(riskOf(null)).to.equal(undefined);
  });

  it("takes the reputation from the highest level", function () {
    expect(reputationOf([risk("a", 1), risk("b", 4)])).to.equal("malicious");
    expect(reputationOf([risk("a", 2), risk("b", 0)])).to.equal("suspicious");
    expect(reputationOf([risk("a", 1), risk("b", null)])).to.equal("notflagged");
    expect(reputationOf([])).to.equal("notflagged");
  });

  it("builds the enrichment body with the riskiest indicator first", function () {
    const body = enrichmentBody([risk("1.1.1.1", 1, 10), { ...risk("2.2.2.2", 3, 90), intelCard: "https://app.recordedfuture.com/x" }], 5) as any;
    expect(body.reputation).to.equal("malicious");
    expect(body.externalUrl).to.equal("https://app.recordedfuture.com/x");
    expect(body.detail.indicators.map((i: any) => i.indicator)).to.deep.equal(["2.2.2.2", "1.1.1.1"]);
    expect(body.detail.indicatorsChecked).to.equal(5);
    expect(enrichmentBody([], 2)).to.not.have.property("externalUrl");
  });
});
