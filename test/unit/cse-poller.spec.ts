import { expect } from "chai";
import { CseClient } from "../../src/cse/client";
import { CsePoller, parseApiTime, toApiTime, type PollOutcome } from "../../src/cse/poller";
import { RateLimiter } from "../../src/cse/rate-limiter";
import { scaledRetryPolicy } from "../../src/cse/retry";
import type { Insight, RuleAutoDisabled } from "../../src/events/types";
import { startCsePeer, type CsePeer } from "../fakes/cse-peer";

/** One poll, committed as the poll loop does once its events are out. */
async function run(poller: CsePoller): Promise<PollOutcome> {
  const outcome = await poller.poll();
  poller.commit(outcome.checkpoint);
  return outcome;
}

const T0 = Date.UTC(2026, 10, 28, 3, 0, 0);
const at = (seconds: number) => new Date(T0 + seconds * 1000);

describe("CSE poller", function () {
  let peer: CsePeer;
  let client: CseClient;
  let now: number;
  const clock = () => new Date(now);
  const ids = (outcome: PollOutcome, topic: string) =>
    outcome.events.filter((e) => e.topic === topic).map((e) => (e.payload as Insight).readableId);

  beforeEach(async function () {
    peer = await startCsePeer();
    client = new CseClient({ apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: peer.accessKey, maxAttempts: 1, retry: scaledRetryPolicy(0.001), limiter: new RateLimiter({ perWindow: 1000 }) });
    now = T0;
  });
  afterEach(async function () {
    client.close();
    await peer.close();
  });

  it("writes times the way the API takes them", function () {
    expect(toApiTime(new Date("2026-11-28T03:00:00.999Z"))).to.equal("2026-11-28T03:00:00");
    expect(parseApiTime("2026-11-28T03:00:00.123456")).to.equal(Date.parse("2026-11-28T03:00:00.123Z"));
    expect(parseApiTime("2026-11-28T03:00:00Z")).to.equal(T0);
    expect(Number.isNaN(parseApiTime("yesterday"))).to.equal(true);
  });

  it("emits Insights created since it started, even before its first poll, and none created earlier", async function () {
    const before = peer.addInsight(at(-30));
    const poller = new CsePoller(client, { now: clock, rules: false, closed: false, apiUrl: peer.apiUrl });
    const after = peer.addInsight(at(5));
    now = T0 + 60_000;
    const first = await run(poller);
    expect(ids(first, "insight.created")).to.deep.equal([after.readableId]);
    expect(first.counts.created).to.equal(1);
    expect(peer.requests[0].query).to.deep.equal({ q: "created:>=2026-11-28T03:00:00", limit: "50", offset: "0" });
    expect(ids(first, "insight.created")).not.to.include(before.readableId);
  });

  it("overlaps the next window by 2 minutes but never reaches back before the start", async function () {
    const poller = new CsePoller(client, { now: clock, rules: false, closed: false });
    now = T0 + 60_000;
    await run(poller);
    now = T0 + 600_000;
    await run(poller);
    now = T0 + 660_000;
    await run(poller);
    expect(peer.requests.map((r) => r.query.q)).to.deep.equal([
      "created:>=2026-11-28T03:00:00",
      "created:>=2026-11-28T03:00:00",
      "created:>=2026-11-28T03:08:00",
    ]);
  });

  it("pages through more than 50 new Insights, oldest first", async function () {
    const poller = new CsePoller(client, { now: clock, rules: false, closed: false });
    for (let i = 1; i <= 73; i++) peer.addInsight(at(i));
    now = T0 + 120_000;
    const outcome = await run(poller);
    expect(outcome.counts.created).to.equal(73);
    expect(ids(outcome, "insight.created")[0]).to.equal("INSIGHT-1001");
    expect(ids(outcome, "insight.created")[72]).to.equal("INSIGHT-1073");
    expect(peer.requests.map((r) => r.query.offset)).to.deep.equal(["0", "50"]);
  });

  it("does not return an Insight again when the next window overlaps it, and forgets it once out of reach", async function () {
    const poller = new CsePoller(client, { now: clock, rules: false, closed: false });
    const a = peer.addInsight(at(10));
    now = T0 + 30_000;
    expect(ids(await run(poller), "insight.created")).to.deep.equal([a.readableId]);
    now = T0 + 60_000;
    const again = await run(poller);
    expect(again.events).to.deep.equal([]);
    expect(peer.requests[1].query.q).to.equal("created:>=2026-11-28T03:00:00"); // the window still covers it
    expect(again.checkpoint.recent).to.have.property(`${a.id}:insight.created`);
    now = T0 + 3_600_000;
    expect((await run(poller)).checkpoint.recent).to.deep.equal({});
  });

  it("finds the same Insights again when a poll was not committed (its events could not be sent)", async function () {
    const poller = new CsePoller(client, { now: clock, rules: false, closed: false });
    const a = peer.addInsight(at(10));
    now = T0 + 30_000;
    await poller.poll(); // not committed
    now = T0 + 600_000;
    expect(ids(await run(poller), "insight.created")).to.deep.equal([a.readableId]);
  });

  it("emits Insights closed since it started with status:\"closed\" closed:>=", async function () {
    const old = peer.addInsight(at(-3600));
    const oldClosedBefore = peer.addInsight(at(-3600));
    peer.closeInsight(oldClosedBefore.id, at(-10));
    const poller = new CsePoller(client, { now: clock, rules: false, created: false });
    peer.closeInsight(old.id, at(20), "False Positive");
    now = T0 + 60_000;
    const outcome = await run(poller);
    expect(peer.requests[0].query.q).to.equal('status:"closed" closed:>=2026-11-28T03:00:00');
    expect(ids(outcome, "insight.closed")).to.deep.equal([old.readableId]);
    const payload = outcome.events[0].payload as Insight;
    expect(payload.status?.name).to.equal("closed");
    expect(payload.resolution).to.equal("False Positive");
  });

  it("fires for a rule that turned FAILED, not for a hand-disabled one nor for one FAILED at the first poll", async function () {
    peer.addRule("MATCH-U00001", "Auto disabled later");
    peer.addRule("MATCH-U00002", "Switched off by hand");
    peer.addRule("MATCH-U00003", "Already failed");
    peer.setRuleStatus("MATCH-U00003", "FAILED", "old failure");
    const poller = new CsePoller(client, { now: clock, created: false, closed: false });
    now = T0 + 60_000;
    const first = await run(poller);
    expect(first.events).to.deep.equal([]);
    peer.setRuleStatus("MATCH-U00001", "FAILED", "Rule exceeded 100000 signals in an hour");
    peer.setRuleStatus("MATCH-U00002", "DISABLED", null, false);
    now = T0 + 120_000;
    const second = await run(poller);
    expect(second.events).to.deep.equal([
      {
        topic: "rule.autoDisabled",
        payload: { ruleId: "MATCH-U00001", ruleName: "Auto disabled later", reason: "Rule exceeded 100000 signals in an hour", disabledAt: new Date(now).toISOString() },
      },
    ]);
    expect(second.counts.autoDisabled).to.equal(1);
    now = T0 + 180_000;
    const third = await run(poller);
    expect(third.events).to.deep.equal([]);
    expect(third.checkpoint.rules).to.deep.equal({ "MATCH-U00001": "FAILED", "MATCH-U00002": "DISABLED", "MATCH-U00003": "FAILED" });
  });

  it("reports an outage once and the recovery once, and catches up on what it missed", async function () {
    const poller = new CsePoller(client, { now: clock, rules: true });
    peer.failAll({ status: 401, body: { errors: [{ code: "Unauthorized", message: "Unauthorized" }] } });
    const transitions: (string | undefined)[] = [];
    const missed = peer.addInsight(at(30));
    for (let i = 1; i <= 3; i++) {
      now = T0 + i * 60_000;
      const outcome = await run(poller);
      expect(outcome.error?.message).to.match(/check the access key/);
      expect(outcome.events).to.deep.equal([]);
      transitions.push(outcome.transition);
    }
    peer.failAll(undefined);
    now = T0 + 3_600_000;
    const back = await run(poller);
    transitions.push(back.transition);
    now = T0 + 3_660_000;
    transitions.push((await run(poller)).transition);
    expect(transitions).to.deep.equal(["outageStarted", undefined, undefined, "recovered", undefined]);
    expect(ids(back, "insight.created")).to.deep.equal([missed.readableId]);
  });

  it("keeps going with the other queries when one fails", async function () {
    const poller = new CsePoller(client, { now: clock });
    const fresh = peer.addInsight(at(10));
    peer.fail({ status: 400, body: { errors: [{ code: "Bad", message: "bad query" }] } }); // the created query
    now = T0 + 60_000;
    const outcome = await run(poller);
    expect(outcome.transition).to.equal("outageStarted");
    expect(outcome.checkpoint.createdSince).to.equal(new Date(T0).toISOString());
    expect(outcome.checkpoint.rules).to.deep.equal({});
    now = T0 + 120_000;
    const next = await run(poller);
    expect(next.transition).to.equal("recovered");
    expect(ids(next, "insight.created")).to.deep.equal([fresh.readableId]);
  });

  it("continues from a saved checkpoint: what was created while stopped is found", async function () {
    const first = new CsePoller(client, { now: clock, rules: false, apiUrl: peer.apiUrl });
    now = T0 + 60_000;
    await run(first);
    const saved = JSON.parse(JSON.stringify(first.checkpoint));
    const whileStopped = peer.addInsight(at(600));
    now = T0 + 3_600_000;
    const restarted = new CsePoller(client, { now: clock, rules: false, apiUrl: peer.apiUrl, checkpoint: saved });
    const outcome = await run(restarted);
    expect(ids(outcome, "insight.created")).to.deep.equal([whileStopped.readableId]);
    expect(restarted.checkpoint.origin).to.equal(new Date(T0).toISOString());
  });

  it("starts afresh with a checkpoint of another tenant or a damaged one", function () {
    now = T0 + 5000;
    const saved = { version: 1, apiUrl: "https://api.eu.sumologic.com/api/sec/v1", origin: "2020-01-01T00:00:00.000Z", createdSince: "2020-01-01T00:00:00.000Z", closedSince: "2020-01-01T00:00:00.000Z" };
    const other = new CsePoller(client, { now: clock, apiUrl: peer.apiUrl, checkpoint: saved });
    expect(other.checkpoint.origin).to.equal(new Date(now).toISOString());
    const damaged = new CsePoller(client, { now: clock, apiUrl: peer.apiUrl, checkpoint: { version: 1, origin: "soon" } });
    expect(damaged.checkpoint.createdSince).to.equal(new Date(now).toISOString());
  });

  it("a rule payload has the SPEC's fields", async function () {
    peer.addRule("THRESHOLD-S00096", "Beacon");
    const poller = new CsePoller(client, { now: clock, created: false, closed: false });
    await run(poller);
    peer.setRuleStatus("THRESHOLD-S00096", "FAILED", null);
    const outcome = await run(poller);
    const payload = outcome.events[0].payload as RuleAutoDisabled;
    expect(Object.keys(payload).sort()).to.deep.equal(["disabledAt", "reason", "ruleId", "ruleName"]);
    expect(payload.reason).to.equal("automatically disabled by Cloud SIEM");
  });
});
