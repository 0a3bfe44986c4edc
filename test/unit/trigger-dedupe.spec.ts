import { expect } from "chai";
import { DedupeLog } from "../../src/events/dedupe";

const DAY = 86_400_000;

describe("trigger dedupe log", () => {
  it("refuses a key within the window and accepts it again after", () => {
    const log = new DedupeLog(DAY);
    expect(log.isDuplicate("a:insight.created", 1000)).to.equal(false);
    log.remember("a:insight.created", 1000);
    expect(log.isDuplicate("a:insight.created", 1000 + DAY - 1)).to.equal(true);
    expect(log.isDuplicate("a:insight.closed", 2000)).to.equal(false);
    expect(log.isDuplicate("a:insight.created", 1000 + DAY)).to.equal(false);
  });

  it("prunes keys that left the window, so it stays small", () => {
    const log = new DedupeLog(1000);
    for (let i = 0; i < 100; i++) log.remember(`k${i}`, i * 100);
    expect(log.size).to.be.at.most(11);
    expect(Object.keys(log.toJSON())).to.include("k99").and.not.include("k0");
  });

  it("never holds more than its cap", () => {
    const log = new DedupeLog(DAY, undefined, 5);
    for (let i = 0; i < 20; i++) log.remember(`k${i}`, i);
    expect(Object.keys(log.toJSON())).to.deep.equal(["k15", "k16", "k17", "k18", "k19"]);
  });

  it("restores saved keys, ignoring junk", () => {
    const log = new DedupeLog(DAY, { b: 20, a: 10, bad: "x", worse: null });
    expect(log.toJSON()).to.deep.equal({ a: 10, b: 20 });
    expect(log.isDuplicate("b", 30)).to.equal(true);
    expect(new DedupeLog(DAY, "nonsense").size).to.equal(0);
  });

  it("with a window of 0 deduplicates nothing and remembers nothing", () => {
    const log = new DedupeLog(0);
    log.remember("a", 1);
    expect(log.isDuplicate("a", 1)).to.equal(false);
    expect(log.size).to.equal(0);
  });
});
