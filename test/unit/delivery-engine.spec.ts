import { expect } from "chai";
import { DeliveryEngine, type DeliveryJob, type EngineState, newJob, QueueFullError } from "../../src/delivery/engine";
import type { AttemptContext, DeliveryEvent, Outcome, Target } from "../../src/targets/types";

const event: DeliveryEvent = {
  topic: "sensor.offline",
  payload: { sensorId: "s1", sensorName: "edge", sensorZone: "dmz", lastSeen: "2026-11-28T03:00:00Z" },
  cse: { event: "sensor.offline", key: "sensor:s1:offline", tactics: [], receivedAt: "2026-11-28T03:00:00Z" },
};

/** A send()-style target answering from a script; records each attempt's context. */
function scripted(steps: (Outcome | "hang" | Error)[], secret = "sup3r-s3cret") {
  const calls: AttemptContext<void>[] = [];
  const target: Target<{ secret: string }> = {
    name: "Fake",
    secrets: (c) => [c.secret],
    async send(_event, _config, ctx) {
      calls.push(ctx);
      const step = steps[Math.min(calls.length - 1, steps.length - 1)];
      if (step === "hang") return new Promise<Outcome>(() => undefined);
      if (step instanceof Error) throw step;
      return step;
    },
  };
  return { target, calls, config: { secret } };
}

function engineFor(t: ReturnType<typeof scripted>, extra: Partial<ConstructorParameters<typeof DeliveryEngine>[2]> = {}) {
  const waits: number[] = [];
  const states: EngineState[] = [];
  const engine = new DeliveryEngine(t.target, t.config, {
    label: 'cse-fake "mine"',
    sleep: async (ms) => void waits.push(ms),
    onState: (s) => states.push(s),
    ...extra,
  });
  return { engine, waits, states };
}

describe("delivery: engine", function () {
  it("retries a retryable outcome and reports the attempts", async function () {
    const t = scripted([{ kind: "retry", status: 503, reason: "HTTP 503" }, { kind: "ok", status: 200, id: "abc" }]);
    const { engine, waits, states } = engineFor(t, { random: () => 1 });
    const result = await engine.submit(newJob(event));
    expect(result).to.include({ ok: true, status: 200, attempts: 2, id: "abc" });
    expect(waits).to.deep.equal([1000]);
    expect(states.map((s) => s.phase)).to.deep.equal(["sending", "retrying", "sending", "sent"]);
    expect(states[1]).to.include({ attempt: 2, maxAttempts: 5 });
    await engine.close();
  });

  it("backs off exponentially and gives up after maxAttempts", async function () {
    const t = scripted([{ kind: "retry", status: 500, reason: "HTTP 500" }]);
    const { engine, waits } = engineFor(t, { random: () => 1, maxAttempts: 4 });
    const result = await engine.submit(newJob(event));
    expect(result).to.include({ ok: false, status: 500, attempts: 4 });
    expect(waits).to.deep.equal([1000, 2000, 4000]);
    expect(result.error).to.equal('cse-fake "mine": Fake answered HTTP 500, gave up after 4 attempts');
    await engine.close();
  });

  it("scales waits by delayScale", async function () {
    const t = scripted([{ kind: "retry", status: 500, reason: "HTTP 500" }, { kind: "ok" }]);
    const { engine, waits } = engineFor(t, { random: () => 1, delayScale: 0.01 });
    await engine.submit(newJob(event));
    expect(waits).to.deep.equal([10]);
    await engine.close();
  });

  it("waits what Retry-After asks, and fails instead of waiting more than 5 minutes", async function () {
    const t = scripted([{ kind: "retry", status: 429, reason: "HTTP 429", retryAfterMs: 7000 }, { kind: "retry", status: 429, reason: "HTTP 429", retryAfterMs: 301_000 }]);
    const { engine, waits } = engineFor(t);
    const result = await engine.submit(newJob(event));
    expect(waits).to.deep.equal([7000]);
    expect(result).to.include({ ok: false, status: 429, attempts: 2 });
    expect(result.error).to.include("retry after 301 s").and.include("more than 5 minutes");
    await engine.close();
  });

  it("fails a permanent outcome at once, with the target's code", async function () {
    const t = scripted([{ kind: "permanent", status: 400, code: "no_text", reason: "HTTP 400 no_text" }]);
    const { engine, waits, states } = engineFor(t);
    const result = await engine.submit(newJob(event));
    expect(result).to.include({ ok: false, status: 400, code: "no_text", attempts: 1 });
    expect(result.error).to.equal('cse-fake "mine": Fake answered HTTP 400 no_text');
    expect(waits).to.deep.equal([]);
    expect(states.at(-1)).to.deep.equal({ phase: "failed", reason: "HTTP 400 no_text" });
    await engine.close();
  });

  it("times out a hung attempt, aborts its signal and retries", async function () {
    const t = scripted(["hang", { kind: "ok", status: 200 }]);
    const { engine } = engineFor(t, { timeoutMs: 50 });
    const result = await engine.submit(newJob(event));
    expect(result).to.include({ ok: true, attempts: 2 });
    expect(t.calls[0].signal.aborted).to.equal(true);
    await engine.close();
  });

  it("reports the timeout when every attempt hangs", async function () {
    const t = scripted(["hang"]);
    const { engine } = engineFor(t, { timeoutMs: 30, maxAttempts: 2 });
    const result = await engine.submit(newJob(event));
    expect(result).to.include({ ok: false, status: null, attempts: 2, code: "ETIMEDOUT" });
    expect(result.error).to.include("did not answer within 30 ms");
    await engine.close();
  });

  it("classifies thrown errors: network errors retry, others fail", async function () {
    const t = scripted([Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), new Error("bad things")]);
    const { engine } = engineFor(t);
    const result = await engine.submit(newJob(event));
    expect(result).to.include({ ok: false, attempts: 2 });
    expect(result.error).to.include("bad things");
    await engine.close();
  });

  it("redacts the node's secrets from every reason and error", async function () {
    const t = scripted([{ kind: "permanent", status: 401, code: "sup3r-s3cret", reason: "HTTP 401 for sup3r-s3cret" }]);
    const { engine, states } = engineFor(t);
    const result = await engine.submit(newJob(event));
    expect(JSON.stringify(result)).to.not.include("sup3r-s3cret");
    expect(JSON.stringify(states)).to.not.include("sup3r-s3cret");
    await engine.close();
  });

  it("runs at most `concurrency` jobs at once and refuses jobs beyond the queue limit", async function () {
    const t = scripted(["hang"]);
    const accepted: DeliveryJob[] = [];
    const { engine } = engineFor(t, { concurrency: 2, queueLimit: 3, hooks: { accepted: (j) => accepted.push(j) } });
    const results = Array.from({ length: 5 }, () => engine.submit(newJob(event)));
    await new Promise((r) => setImmediate(r));
    expect(t.calls.length).to.equal(2);
    expect(engine.size).to.equal(5);
    expect(() => engine.submit(newJob(event))).to.throw(QueueFullError, /queue full \(3 messages waiting\)/);
    expect(accepted.length).to.equal(5);
    const started = Date.now();
    await engine.close();
    expect(Date.now() - started).to.be.below(1000);
    const all = await Promise.all(results);
    expect(all.every((r) => r.ok === false && r.closed === true)).to.equal(true);
    expect(t.calls.every((c) => c.signal.aborted)).to.equal(true);
    expect(() => engine.submit(newJob(event))).to.throw(QueueFullError, /closing/);
  });

  it("calls the journal hooks once per job, with the result", async function () {
    const t = scripted([{ kind: "ok", status: 202 }]);
    const seen: string[] = [];
    const { engine } = engineFor(t, {
      hooks: { accepted: (j) => seen.push(`accepted ${j.id}`), completed: (j, r) => seen.push(`completed ${j.id} ${r.ok}`) },
    });
    const job = newJob(event);
    expect(JSON.parse(JSON.stringify(job))).to.deep.equal(job);
    await engine.submit(job);
    expect(seen).to.deep.equal([`accepted ${job.id}`, `completed ${job.id} true`]);
    await engine.close();
  });

  it("opens the target's resources once and closes them on close", async function () {
    const log: string[] = [];
    const target: Target<object, { n: number }> = {
      name: "Res",
      secrets: () => [],
      open: () => (log.push("open"), { n: 1 }),
      close: (r) => void log.push(`close ${r.n}`),
      send: async (_e, _c, ctx) => (log.push(`send ${ctx.resources.n}`), { kind: "ok" }),
    };
    const engine = new DeliveryEngine(target, {}, { label: "x" });
    await engine.submit(newJob(event));
    await engine.submit(newJob(event));
    await engine.close();
    expect(log).to.deep.equal(["open", "send 1", "send 1", "close 1"]);
  });

  it("queues 10,000 waiting messages by default before refusing", async function () {
    const t = scripted(["hang"]);
    const { engine } = engineFor(t);
    const results: Promise<unknown>[] = [];
    for (let i = 0; i < 10_004; i++) results.push(engine.submit(newJob(event)));
    await new Promise((r) => setImmediate(r));
    expect(t.calls.length).to.equal(4);
    expect(engine.size).to.equal(10_004);
    expect(() => engine.submit(newJob(event))).to.throw(QueueFullError, /10000 messages waiting/);
    await engine.close();
    await Promise.all(results);
  });

  it("gives each accepted job an idempotency key: cse.key, or for an on-demand run its own id", function () {
    const created = newJob(event);
    expect(created.event.idempotencyKey).to.equal("sensor:s1:offline");
    const onDemand: DeliveryEvent = {
      topic: "insight.onDemand",
      payload: { id: "i-1" } as any,
      cse: { event: "insight.onDemand", key: "i-1:insight.onDemand", tactics: [], receivedAt: "2026-11-28T03:00:00Z" },
    };
    const first = newJob(onDemand);
    const second = newJob(onDemand);
    expect(first.event.idempotencyKey).to.equal(first.id);
    expect(second.event.idempotencyKey).to.not.equal(first.event.idempotencyKey);
    const replayed = newJob(onDemand, new Date(first.acceptedAt), first.id);
    expect(replayed).to.deep.equal(first);
    expect(JSON.parse(JSON.stringify(replayed))).to.deep.equal(first);
  });

  it("passes the keyed event to the target on every attempt", async function () {
    const seen: (string | undefined)[] = [];
    const target: Target<object> = {
      name: "Keys",
      secrets: () => [],
      send: async (e, _c, ctx) => (seen.push((e as any).idempotencyKey), ctx.attempt < 3 ? { kind: "retry", reason: "again" } : { kind: "ok" }),
    };
    const engine = new DeliveryEngine(target, {}, { label: "x", sleep: async () => undefined });
    const job = newJob(event);
    await engine.submit(job);
    expect(seen).to.deep.equal(["sensor:s1:offline", "sensor:s1:offline", "sensor:s1:offline"]);
    await engine.close();
  });

  it("takes back resumed jobs even beyond the queue limit, and says when it would refuse a new one", async function () {
    const t = scripted(["hang"]);
    const { engine } = engineFor(t, { concurrency: 1, queueLimit: 1 });
    const results = [engine.submit(newJob(event)), engine.submit(newJob(event))];
    expect(() => engine.assertAccepting()).to.throw(QueueFullError, /queue full/);
    results.push(engine.submit(newJob(event), { resumed: true }), engine.submit(newJob(event), { resumed: true }));
    expect(engine.size).to.equal(4);
    await engine.close();
    expect(() => engine.assertAccepting()).to.throw(QueueFullError, /closing/);
    expect(() => engine.submit(newJob(event), { resumed: true })).to.throw(QueueFullError, /closing/);
    expect((await Promise.all(results)).every((r) => r.closed)).to.equal(true);
  });

  it("wakes retries sleeping after a network error or 5xx once another job gets through, but not a Retry-After wait", async function () {
    let up = false;
    const attemptsOf = new Map<string, number>();
    const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    const target: Target<{ secret: string }> = {
      name: "Fake",
      secrets: () => [],
      async send(ev, _config, ctx) {
        const who = String((ev.payload as { sensorId: string }).sensorId);
        attemptsOf.set(who, ctx.attempt);
        if (who === "polite") return { kind: "retry", status: 503, reason: "HTTP 503", retryAfterMs: 60_000 };
        if (who === "stubborn") throw refused();
        if (up) return { kind: "ok", status: 200 };
        if (who === "down") throw refused();
        return { kind: "retry", status: 502, reason: "HTTP 502" };
      },
    };
    const sleeping: number[] = [];
    const engine = new DeliveryEngine(target, { secret: "" }, {
      label: 'cse-fake "mine"',
      concurrency: 5,
      maxAttempts: 2,
      random: () => 1,
      // A backoff here only ends when the engine ends it: nothing waits for a clock.
      sleep: (ms, signal) =>
        new Promise<void>((_resolve, reject) => {
          sleeping.push(ms);
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        }),
    });
    const jobFor = (sensorId: string) => newJob({ ...event, payload: { ...event.payload, sensorId } as DeliveryEvent["payload"] });
    const [down, badGateway, stubborn, polite] = ["down", "bad-gateway", "stubborn", "polite"].map((who) => engine.submit(jobFor(who)));
    while (sleeping.length < 4) await new Promise((r) => setImmediate(r));
    expect([...sleeping].sort((a, b) => a - b)).to.deep.equal([1000, 1000, 1000, 60_000]);

    up = true;
    expect(await engine.submit(jobFor("fresh"))).to.include({ ok: true, attempts: 1 });
    // Woken at once: each one's next attempt is its second, and maxAttempts still holds.
    expect(await down).to.include({ ok: true, attempts: 2 });
    expect(await badGateway).to.include({ ok: true, attempts: 2 });
    const gaveUp = await stubborn;
    expect(gaveUp).to.include({ ok: false, attempts: 2 });
    expect(gaveUp.error).to.match(/ECONNREFUSED.*gave up after 2 attempts$/);
    expect(attemptsOf.get("polite")).to.equal(1);

    await engine.close();
    expect(await polite).to.include({ ok: false, closed: true, attempts: 1 });
    expect(sleeping).to.have.length(4);
  });

  it("attempts a long backlog in the order it was accepted", async function () {
    const order: string[] = [];
    const target: Target<{ secret: string }> = {
      name: "Fake",
      secrets: () => [],
      async send(ev) {
        order.push(String((ev.payload as { sensorId: string }).sensorId));
        return { kind: "ok", status: 200 };
      },
    };
    const engine = new DeliveryEngine(target, { secret: "" }, { label: 'cse-fake "mine"', concurrency: 1 });
    const ids = Array.from({ length: 3000 }, (_, i) => `s${i}`);
    const results = ids.map((sensorId) => engine.submit(newJob({ ...event, payload: { ...event.payload, sensorId } as DeliveryEvent["payload"] })));
    expect(engine.size).to.equal(3000);
    await Promise.all(results);
    expect(order).to.deep.equal(ids);
    expect(engine.size).to.equal(0);
    await engine.close();
  });
});
