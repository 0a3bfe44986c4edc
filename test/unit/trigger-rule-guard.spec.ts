import { expect } from "chai";
import { RuleGuard } from "../../src/events/rule-guard";

const T0 = Date.parse("2026-11-28T00:00:00Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function feed(guard: RuleGuard, count: number, at: (i: number) => number, ruleId = "MATCH-S1") {
  const events = [];
  for (let i = 0; i < count; i++) {
    const event = guard.signal(ruleId, "Rule one", at(i));
    if (event) events.push({ i, event });
  }
  return events;
}

describe("trigger rule guard", () => {
  it("reports a rule once when it passes the hourly limit, as CSE does", () => {
    const guard = new RuleGuard({ perHour: 100, perDay: 1000 });
    const events = feed(guard, 300, (i) => T0 + i * 1000);
    expect(events).to.deep.equal([
      { i: 100, event: { ruleId: "MATCH-S1", ruleName: "Rule one", reason: "more than 100 signals in one hour", disabledAt: new Date(T0 + 100_000).toISOString() } },
    ]);
  });

  it("counts any 60 minutes, not clock hours", () => {
    const guard = new RuleGuard({ perHour: 100, perDay: 1000 });
    // 60 signals in the last 10 minutes of one hour and 41 in the first minutes of the next: 101 within 60 minutes.
    expect(feed(guard, 60, (i) => T0 + 50 * MINUTE + i * 5000)).to.deep.equal([]);
    const events = feed(guard, 41, (i) => T0 + HOUR + i * 1000);
    expect(events.map((e) => e.event.reason)).to.deep.equal(["more than 100 signals in one hour"]);
  });

  it("does not count signals that have left the hour", () => {
    const guard = new RuleGuard({ perHour: 100, perDay: 1000 });
    expect(feed(guard, 100, (i) => T0 + i * 1000)).to.deep.equal([]);
    expect(feed(guard, 100, (i) => T0 + HOUR + i * 1000)).to.deep.equal([]);
  });

  it("reports the daily limit once when no hour is over its limit", () => {
    const guard = new RuleGuard({ perHour: 100, perDay: 500 });
    // 50 signals an hour for 24 hours: 1200 a day, never 100 an hour.
    const events = feed(guard, 1200, (i) => T0 + i * 72_000);
    expect(events).to.have.length(1);
    expect(events[0].i).to.equal(500);
    expect(events[0].event.reason).to.equal("more than 500 signals in 24 hours");
  });

  it("keeps rules apart and reports a disabled rule again only after a quiet day", () => {
    const guard = new RuleGuard({ perHour: 3, perDay: 100 });
    expect(feed(guard, 5, (i) => T0 + i, "A")).to.have.length(1);
    expect(feed(guard, 3, (i) => T0 + i, "B")).to.have.length(0);
    expect(feed(guard, 10, (i) => T0 + 2 * HOUR + i, "A")).to.have.length(0);
    expect(feed(guard, 5, (i) => T0 + 2 * HOUR + 24 * HOUR + i, "A")).to.have.length(1);
  });

  it("keeps at most one day of minute buckets per rule and forgets quiet rules", () => {
    const guard = new RuleGuard({ perHour: 1_000_000, perDay: 10_000_000 });
    feed(guard, 3 * 24 * 60, (i) => T0 + i * MINUTE, "A");
    const buckets = (guard as any).rules.get("A").minutes.length;
    expect(buckets).to.equal(24 * 60);
    guard.signal("B", "b", T0 + 5 * 24 * HOUR);
    expect(guard.tracked).to.equal(1);
  });
});
