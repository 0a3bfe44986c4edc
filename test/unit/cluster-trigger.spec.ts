import { expect } from "chai";
import { ClusterConnection } from "../../src/cluster/connection";
import { readClusterSettings } from "../../src/cluster/settings";
import { ClusterTriggerBackend } from "../../src/cluster/trigger-backend";
import { RedisRuleSignals } from "../../src/cluster/trigger-rules";
import { CseClient } from "../../src/cse/client";
import { PollLoop } from "../../src/cse/poll-loop";
import type { PollSource } from "../../src/cse/poller";
import { RateLimiter } from "../../src/cse/rate-limiter";
import { scaledRetryPolicy } from "../../src/cse/retry";
import { RuleGuard } from "../../src/events/rule-guard";
import type { PollRunner } from "../../src/nodes/trigger/backend";
import type { CallbackContext } from "../../src/nodes/trigger/emitted-keys";
import { TriggerRuntime, type TriggerStatus } from "../../src/nodes/trigger/runtime";
import { readTriggerSettings } from "../../src/nodes/trigger/settings";
import { startCsePeer, type CsePeer } from "../fakes/cse-peer";
import { modernInsight } from "../fakes/insights";
import { RedisServer } from "../support/redis-server";
import { until } from "../support/until";

/** Lease and retry of the poller in these tests (ms): a takeover takes at most about their sum. */
const LEASE_MS = 600;
const RETRY_MS = 100;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cluster mode keeps nothing in the node's context: any use of it fails the test. */
const noContext: CallbackContext = {
  get: () => {
    throw new Error("cluster mode read the node context");
  },
  set: () => {
    throw new Error("cluster mode wrote the node context");
  },
};

describe("cse-trigger in cluster mode: two replicas, one real Redis", function () {
  this.timeout(30_000);
  const redis = new RedisServer();
  let prefix = "";
  let tests = 0;
  let peer: CsePeer | undefined;
  const replicas: Replica[] = [];

  before(() => redis.start());
  after(() => redis.remove());
  beforeEach(() => {
    prefix = `trigger-test-${++tests}`;
  });
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.close()));
    await peer?.close();
    peer = undefined;
  });

  interface Replica {
    name: string;
    connection: ClusterConnection;
    runtime: TriggerRuntime;
    sent: any[];
    errors: Error[];
    statuses: TriggerStatus[];
    logs: string[];
    /** When this replica's poll loops asked the tenant for new Insights. */
    polledAt: number[];
    poll?: PollRunner;
    close(): Promise<void>;
  }

  /** One replica of the flow: its own Redis connection, runtime and (with `poll`) poller, node id "n1". */
  function replica(name: string, config: Record<string, unknown> = {}, options: { poll?: boolean; now?: () => number } = {}): Replica {
    const connection = new ClusterConnection(readClusterSettings({ cseCluster: { url: redis.url, prefix, lockMs: LEASE_MS, stalledCheckMs: RETRY_MS } })!);
    const settings = readTriggerSettings({ tenant: options.poll ? "t1" : undefined, pollInterval: "0.02", onInsightClosed: true, onSensorOffline: true, onRuleAutoDisabled: true, ...config });
    const statuses: TriggerStatus[] = [];
    const logs: string[] = [];
    const sent: any[] = [];
    const errors: Error[] = [];
    const polledAt: number[] = [];
    const backend = new ClusterTriggerBackend(
      { connection, leave: () => connection.close() },
      { nodeId: "n1", settings, context: noContext, status: (s) => statuses.push(s), log: (t) => logs.push(t) },
    );
    const runtime = new TriggerRuntime(settings, {
      context: noContext,
      emittedKeys: backend.emittedKeys,
      sensors: backend.sensors,
      rules: backend.rules,
      send: (msg) => sent.push(msg),
      status: (s) => statuses.push(s),
      reportError: (err) => errors.push(err),
      uiUrl: () => undefined,
      now: options.now,
    });
    let client: CseClient | undefined;
    let poll: PollRunner | undefined;
    if (options.poll) {
      client = new CseClient({ apiUrl: peer!.apiUrl, accessId: peer!.accessId, accessKey: peer!.accessKey, maxAttempts: 1, retry: scaledRetryPolicy(0.001), limiter: new RateLimiter({ perWindow: 1000 }) });
      const source: PollSource & { apiUrl: string } = {
        apiUrl: client.apiUrl,
        listInsights: (q, signal) => {
          if (q.startsWith("created:")) polledAt.push(Date.now());
          return client!.listInsights(q, signal);
        },
        listRules: (signal) => client!.listRules(signal),
      };
      poll = backend.polling(
        (checkpoints) =>
          new PollLoop(
            {
              source: () => source,
              ...checkpoints,
              emit: (topic, payload) => runtime.emit(topic, payload, {}),
              status: (s) => statuses.push(s),
              reportError: (err) => errors.push(err),
            },
            { intervalMs: settings.pollIntervalMs, created: true, closed: true, rules: true },
          ),
      );
      poll.start();
    }
    let closed = false;
    const r: Replica = {
      name,
      connection,
      runtime,
      sent,
      errors,
      statuses,
      logs,
      polledAt,
      poll,
      async close() {
        if (closed) return;
        closed = true;
        await poll?.stop();
        runtime.close();
        client?.close();
        await backend.close();
      },
    };
    replicas.push(r);
    return r;
  }

  /** An input message on a replica; what it emits goes to the replica's `sent`. */
  const feed = (r: Replica, topic: string, payload: unknown) => r.runtime.input({ topic, payload }, (msg) => r.sent.push(msg));
  const polling = (r: Replica) => r.logs.at(-1) === "this replica polls the tenant now";
  const ids = (...rs: Replica[]) => rs.flatMap((r) => r.sent.map((m) => `${m.topic} ${m.payload.id ?? m.payload.sensorId ?? m.payload.ruleId}`));

  describe("the dedupe window", () => {
    it("emits an event received by both replicas once, whichever claims it first", async () => {
      const a = replica("a");
      const b = replica("b");
      const outcomes = await Promise.all([0, 1, 2, 3].flatMap(() => [a.runtime.emit("insight.created", modernInsight()), b.runtime.emit("insight.created", modernInsight())]));
      expect(outcomes.filter((o) => o === "sent")).to.have.length(1);
      expect(outcomes.filter((o) => o === "duplicate")).to.have.length(7);
      expect(ids(a, b)).to.deep.equal([`insight.created ${modernInsight().id}`]);
      // another event of the same Insight is its own key
      expect(await b.runtime.emit("insight.closed", modernInsight())).to.equal("sent");
      expect(await a.runtime.emit("insight.closed", modernInsight())).to.equal("duplicate");
    });

    it("keeps a key for the window only, in Redis, and is off with a window of 0", async () => {
      const a = replica("a", { dedupeWindow: "0.3" });
      const b = replica("b", { dedupeWindow: "0.3" });
      expect(await a.runtime.emit("insight.created", modernInsight())).to.equal("sent");
      const key = a.connection.key("trigger", "n1", "emitted", `${modernInsight().id}:insight.created`);
      const ttl = await a.connection.client.pttl(key);
      expect(ttl).to.be.within(1, 300);
      expect(await b.runtime.emit("insight.created", modernInsight())).to.equal("duplicate");
      await sleep(350);
      expect(await b.runtime.emit("insight.created", modernInsight())).to.equal("sent");

      const c = replica("c", { dedupeWindow: "0" });
      const d = replica("d", { dedupeWindow: "0" });
      expect(await c.runtime.emit("insight.closed", modernInsight())).to.equal("sent");
      expect(await d.runtime.emit("insight.closed", modernInsight())).to.equal("sent");
    });
  });

  describe("sensor heartbeats", () => {
    /** The sensor.offline events of these replicas, oldest first. */
    const offline = (...rs: Replica[]) =>
      rs.flatMap((r) => r.sent.filter((m) => m.topic === "sensor.offline")).sort((x, y) => x.cse.receivedAt.localeCompare(y.cse.receivedAt));

    it("reports one outage per silence, whichever replica got the heartbeats, and a new one after the sensor reports again", async () => {
      const a = replica("a", { sensorTimeout: "0.2" });
      const b = replica("b", { sensorTimeout: "0.2" });
      await feed(a, "sensor.heartbeat", { sensorId: "s-1", sensorName: "edge", sensorZone: "dmz" });
      await feed(b, "sensor.heartbeat", "s-1"); // keeps the name and zone
      await until("the outage", () => offline(a, b).length === 1);
      await sleep(400); // both replicas keep checking: no second report
      expect(offline(a, b)).to.have.length(1);
      expect(offline(a, b)[0].payload).to.include({ sensorId: "s-1", sensorName: "edge", sensorZone: "dmz" });

      await feed(b, "sensor.heartbeat", "s-1");
      await until("the second outage (within the dedupe window)", () => offline(a, b).length === 2);
      expect(offline(a, b)[1].payload).to.include({ sensorId: "s-1", sensorName: "s-1", sensorZone: "default" });
      await sleep(300);
      expect(offline(a, b)).to.have.length(2);
      expect(a.errors.concat(b.errors)).to.deep.equal([]);
    });

    it("is reported by a replica that never got a heartbeat when the one that did is gone", async () => {
      const a = replica("a", { sensorTimeout: "0.3" });
      const b = replica("b", { sensorTimeout: "0.3" });
      await feed(a, "sensor.heartbeat", "s-7");
      await feed(a, "sensor.heartbeat", "s-8");
      await a.close();
      await until("both outages on the other replica", () => offline(b).length === 2);
      expect(offline(b).map((m) => m.payload.sensorId).sort()).to.deep.equal(["s-7", "s-8"]);
      expect(offline(a)).to.deep.equal([]);
    });

    it("does not report a sensor that keeps beating on either replica", async () => {
      const a = replica("a", { sensorTimeout: "0.3" });
      const b = replica("b", { sensorTimeout: "0.3" });
      for (let i = 0; i < 8; i++) {
        await feed((i % 2 ? a : b), "sensor.heartbeat", "s-2");
        await sleep(100);
      }
      expect(offline(a, b)).to.deep.equal([]);
      await until("the outage once the beats stop", () => offline(a, b).length === 1);
    });
  });

  describe("rule signals", () => {
    const limits = { perHour: 4, perDay: 9 };
    const MINUTE = 60_000;

    it("counts the signals of both replicas as one, and reports a breach once", async () => {
      const a = replica("a", { signalLimitHour: "4", signalLimitDay: "9" });
      const b = replica("b", { signalLimitHour: "4", signalLimitDay: "9" });
      for (let i = 0; i < 4; i++) await feed((i % 2 ? a : b), "signal", { ruleId: "R-1", ruleName: "Noisy" });
      expect(ids(a, b)).to.deep.equal([]);
      // the fifth signal crosses the limit, whichever replica counts it; the breach is reported once
      const both = [a, b].flatMap((r) => [0, 1, 2].map(() => feed(r, "signal", { ruleId: "R-1", ruleName: "Noisy" })));
      await Promise.all(both);
      const events = [a, b].flatMap((r) => r.sent);
      expect(events).to.have.length(1);
      expect(events[0]).to.deep.include({ topic: "rule.autoDisabled" });
      expect(events[0].payload).to.include({ ruleId: "R-1", ruleName: "Noisy", reason: "more than 4 signals in one hour" });
    });

    it("decides exactly as the in-process rule guard, signal by signal, over days of traffic", async () => {
      const local = new RuleGuard(limits);
      const connections = [0, 1].map(() => new ClusterConnection(readClusterSettings({ cseCluster: { url: redis.url, prefix } })!));
      try {
        const shared = connections.map((c) => new RedisRuleSignals(c, "n1", limits));
        let seed = 12345;
        const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
        let now = Date.UTC(2026, 11, 1);
        const decisions: { local: string; cluster: string }[] = [];
        for (let i = 0; i < 600; i++) {
          // mostly bursts within minutes, sometimes hours apart, now and then a quiet day or more
          const r = random();
          now += r < 0.6 ? random() * 20_000 : r < 0.9 ? random() * 90 * MINUTE : r < 0.97 ? random() * 8 * 60 * MINUTE : (24 * 60 + random() * 60) * MINUTE;
          const rule = random() < 0.8 ? "R-1" : "R-2";
          const l = local.signal(rule, rule, now);
          const c = await shared[i % 2].signal(rule, rule, now);
          decisions.push({ local: l ? l.reason : "-", cluster: c ? c.reason : "-" });
        }
        expect(decisions.map((d) => d.cluster)).to.deep.equal(decisions.map((d) => d.local));
        const reported = decisions.filter((d) => d.local !== "-").map((d) => d.local);
        expect(reported).to.include("more than 4 signals in one hour");
        expect(reported).to.include("more than 9 signals in 24 hours");
      } finally {
        await Promise.all(connections.map((c) => c.close()));
      }
    });

    it("reports a rule again only after a day without signals", async () => {
      let now = Date.UTC(2026, 11, 1, 12);
      const a = replica("a", { signalLimitHour: "2", signalLimitDay: "100", dedupeWindow: "0" }, { now: () => now });
      const b = replica("b", { signalLimitHour: "2", signalLimitDay: "100", dedupeWindow: "0" }, { now: () => now });
      const signal = (r: Replica) => feed(r, "signal", { ruleId: "R-9", ruleName: "Loud" });
      for (let i = 0; i < 3; i++) await signal(i % 2 ? a : b);
      expect(ids(a, b)).to.deep.equal(["rule.autoDisabled R-9"]);
      now += 23 * 60 * MINUTE; // a signal within the day keeps the rule reported
      for (let i = 0; i < 3; i++) await signal(i % 2 ? b : a);
      expect(ids(a, b)).to.have.length(1);
      now += 24 * 60 * MINUTE; // a full day without signals: a new breach
      for (let i = 0; i < 3; i++) await signal(i % 2 ? b : a);
      expect(ids(a, b)).to.deep.equal(["rule.autoDisabled R-9", "rule.autoDisabled R-9"]);
    });
  });

  describe("polling the tenant", () => {
    beforeEach(async () => {
      peer = await startCsePeer();
    });

    it("is done by one replica; the other stands by; each Insight is emitted once", async () => {
      const a = replica("a", {}, { poll: true });
      const b = replica("b", {}, { poll: true });
      await until("one replica to poll and the other to stand by", () => (polling(a) || polling(b)) && a.logs.length + b.logs.length === 2);
      const [holder, standby] = polling(a) ? [a, b] : [b, a];
      expect(standby.logs).to.deep.equal(["another replica polls the tenant: this one stands by"]);
      expect(standby.statuses.at(-1)).to.deep.equal({ fill: "blue", shape: "ring", text: "standing by: another replica polls" });
      const made = [];
      for (let i = 0; i < 5; i++) {
        made.push(peer!.addInsight(new Date(Date.now() + 100)));
        await sleep(60);
      }
      await until("five Insights", () => ids(a, b).length === 5);
      const polls = holder.polledAt.length;
      await until("five more polls", () => holder.polledAt.length >= polls + 5);
      expect(ids(a, b).sort()).to.deep.equal(made.map((i) => `insight.created ${i.id}`).sort());
      expect(standby.polledAt).to.deep.equal([]);
      expect(standby.sent).to.deep.equal([]);
      const checkpoint = JSON.parse((await a.connection.client.get(a.connection.key("trigger", "n1", "checkpoint")))!);
      expect(checkpoint).to.include({ version: 1, apiUrl: peer!.apiUrl });
    });

    /** Replica a polls (and has emitted one Insight, `first`), b stands by. */
    async function pollingOnA() {
      const a = replica("a", {}, { poll: true });
      await until("a to poll", () => polling(a));
      const b = replica("b", {}, { poll: true });
      await until("b to stand by", () => b.logs.length === 1);
      const first = peer!.addInsight(new Date(Date.now() + 100));
      await until("the first Insight", () => ids(a).length === 1);
      return { a, b, first };
    }

    it("moves to the other replica when the poller closes, from the checkpoint, missing and repeating nothing", async () => {
      const { a, b, first } = await pollingOnA();
      await a.close();
      const closedAt = Date.now();
      const meanwhile = peer!.addInsight(new Date()); // created while nobody polls
      await until("b to take over", () => polling(b));
      // a closing replica gives the lease up: the other takes it at its next try
      expect(Date.now() - closedAt).to.be.below(RETRY_MS + 400);
      const later = peer!.addInsight(new Date(Date.now() + 100));
      await until("both Insights on b", () => ids(b).length === 2);
      const polls = b.polledAt.length;
      await until("five more polls", () => b.polledAt.length >= polls + 5);
      expect(ids(a)).to.deep.equal([`insight.created ${first.id}`]);
      expect(ids(b).sort()).to.deep.equal([`insight.created ${meanwhile.id}`, `insight.created ${later.id}`].sort());
      expect(a.polledAt.at(-1)!).to.be.below(b.polledAt[0]);
    });

    it("stops polling on a replica cut off from Redis before another takes over; nothing is missed or repeated", async () => {
      const { a, b, first } = await pollingOnA();
      a.connection.client.disconnect(); // no reconnection: as if a died or lost the network, without giving the lease up
      const cutAt = Date.now();
      const meanwhile = peer!.addInsight(new Date(Date.now() + 50));
      await until("b to take over", () => polling(b));
      const takeover = Date.now() - cutAt;
      expect(takeover).to.be.within(LEASE_MS / 2, LEASE_MS + RETRY_MS + 500);
      expect(a.logs.at(-1)).to.equal("Redis did not renew the poll lease in time: polling paused until it does");
      expect(a.statuses.some((s) => s.fill === "red" && /^Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/.test(s.text ?? ""))).to.equal(true);
      await until("the Insight created meanwhile", () => ids(b).length === 1);
      const polls = b.polledAt.length;
      await until("five more polls", () => b.polledAt.length >= polls + 5);
      expect(ids(a)).to.deep.equal([`insight.created ${first.id}`]);
      expect(ids(b)).to.deep.equal([`insight.created ${meanwhile.id}`]);
      expect(a.polledAt.at(-1)!, "a stopped polling before b started").to.be.below(b.polledAt[0]);
    });

    it("pauses while Redis is killed, and resumes by itself from its append-only file once it is back", async () => {
      const a = replica("a", {}, { poll: true });
      await until("a to poll", () => polling(a));
      const before = peer!.addInsight(new Date(Date.now() + 100));
      await until("the first Insight", () => ids(a).length === 1);
      await redis.kill9();
      try {
        await until("the status to say Redis is away", () => a.statuses.some((s) => s.fill === "red" && /Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/.test(s.text ?? "")));
        await until("polling to pause", () => a.logs.at(-1) === "Redis did not renew the poll lease in time: polling paused until it does");
        const during = peer!.addInsight(new Date(Date.now() - 10));
        await sleep(300);
        await redis.start();
        await until("the Insight created while Redis was away", () => ids(a).length === 2);
        expect(ids(a)).to.deep.equal([`insight.created ${before.id}`, `insight.created ${during.id}`]);
        expect(a.logs.at(-1)).to.equal("this replica polls the tenant now");
      } finally {
        await redis.start();
      }
    });
  });
});
