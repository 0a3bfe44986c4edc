import { expect } from "chai";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { NodeRedProcess, packPackage } from "./support/node-red-process";
import { RUNTIMES } from "./support/runtimes";
import { modernInsight } from "../fakes/insights";
import { previousFileOf } from "../../src/delivery/journal";

const EVENTS = 1000;
/** The receiver answers one request at a time, each after this long: the burst takes a few seconds to deliver. */
const RECEIVER_DELAY_MS = 3;

/** A slow receiver that records the Idempotency-Key and Insight id of every request that arrived in full. */
function startReceiver() {
  const arrivals: { key: string; id: string }[] = [];
  const queue: (() => void)[] = [];
  let busy = false;
  const work = () => {
    if (busy) return;
    const next = queue.shift();
    if (!next) return;
    busy = true;
    setTimeout(() => {
      next();
      busy = false;
      work();
    }, RECEIVER_DELAY_MS);
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      let id = "";
      try {
        id = JSON.parse(body).id;
      } catch {
        // counted with an empty id: the assertion on ids fails then
      }
      arrivals.push({ key: String(req.headers["idempotency-key"] ?? ""), id });
      queue.push(() => {
        if (!res.destroyed) res.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true}');
      });
      work();
    });
  });
  return new Promise<{ server: http.Server; port: number; arrivals: typeof arrivals }>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port, arrivals })),
  );
}

/** The text of a journal: its previous file, then its current one ("" for one that is not there, or not now). */
function journalText(file: string): string {
  const textOf = (f: string) => {
    try {
      return fs.readFileSync(f, "utf8");
    } catch {
      return ""; // not there, or being replaced by the node at this moment
    }
  };
  return textOf(previousFileOf(file)) + textOf(file);
}

/** How many messages the node has accepted so far: the accept lines of its journal (nothing is compacted mid-burst). */
function acceptedIn(file: string): number {
  return journalText(file)
    .split("\n")
    .filter((line) => line.startsWith('{"id":')).length;
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

for (const runtime of RUNTIMES) describe(`e2e: kill -9 (and a clean stop) in the middle of a burst, on ${runtime.label}`, function () {
  this.timeout(180_000);
  let nodeRed: NodeRedProcess;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-kill9-"));

  before(async () => {
    receiver = await startReceiver();
    nodeRed = new NodeRedProcess(packPackage(workDir), { settings: `cseHttpPostAllowedPorts: [${receiver.port}],`, runtime });
    nodeRed.install();
    await nodeRed.start();
  });

  after(async () => {
    await nodeRed?.stop();
    nodeRed?.remove();
    receiver?.server.closeAllConnections();
    receiver?.server.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("delivers all 1,000 Insights after Node-RED is killed and started again (each Idempotency-Key at least once)", async () => {
    const flows = [
      { id: "k9.tab", type: "tab", label: "kill -9" },
      { id: "k9.in", type: "http in", z: "k9.tab", url: "/burst", method: "post", x: 100, y: 100, wires: [["k9.split", "k9.ok"]] },
      { id: "k9.ok", type: "http response", z: "k9.tab", statusCode: "202", x: 300, y: 160, wires: [] },
      { id: "k9.split", type: "split", z: "k9.tab", splt: "\\n", spltType: "str", arraySplt: 1, arraySpltType: "len", stream: false, addname: "", x: 250, y: 100, wires: [["k9.trigger"]] },
      {
        id: "k9.trigger", type: "cse-trigger", z: "k9.tab", name: "", onInsightCreated: true, onInsightClosed: true, onDemand: true,
        onSensorOffline: false, onRuleAutoDisabled: false, active: true, tenant: "", pollInterval: "0", sensorTimeout: "900",
        signalLimitHour: "100000", signalLimitDay: "1000000", dedupeWindow: "86400", store: "", x: 400, y: 100, wires: [["k9.post"]],
      },
      {
        id: "k9.post", type: "cse-http-post", z: "k9.tab", name: "slow receiver", url: `http://127.0.0.1:${receiver.port}/insights`,
        extraHeaders: "", includeSignals: false, includeRecords: false, recordFields: "", timeout: "10000", maxAttempts: "5",
        credentials: { username: "", password: "" }, x: 600, y: 100, wires: [],
      },
    ];
    await nodeRed.deploy(flows);
    const journal = path.join(nodeRed.userDir, "cse-actions-journal", "k9.post.jsonl");

    const insights = Array.from({ length: EVENTS }, (_, i) => {
      const insight = modernInsight({ id: `kill9-${i}`, readableId: `INSIGHT-${i}` } as any, 1) as any;
      delete insight.signals; // small events: the burst is about numbers, not size
      return insight;
    });
    const res = await fetch(`${nodeRed.url}/burst`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(insights) });
    expect(res.status).to.equal(202);

    // Kill once every event is accepted (journalled) and a few hundred have arrived: deliveries are mid-flight.
    // (An event still between `http in` and the action node would be the sender's to resend; none is here.)
    await until("the burst to be accepted and partly delivered", () => acceptedIn(journal) >= EVENTS && receiver.arrivals.length >= 200, 30_000);
    await nodeRed.kill9();
    const beforeKill = new Set(receiver.arrivals.map((a) => a.key)).size;
    expect(beforeKill, "killed in the middle of the burst").to.be.within(200, EVENTS - 1);

    await nodeRed.restart(); // same user directory: the flows, credentials and journal
    await until("every key to arrive", () => new Set(receiver.arrivals.map((a) => a.key)).size >= EVENTS, 60_000);
    await until("the journal to empty", () => fs.existsSync(journal) && journalText(journal).trim() === "", 10_000).catch(() => undefined);

    const perKey = new Map<string, number>();
    for (const { key } of receiver.arrivals) perKey.set(key, (perKey.get(key) ?? 0) + 1);
    const expected = insights.map((i) => `${i.id}:insight.created`);
    for (const key of expected) expect(perKey.get(key) ?? 0, `arrivals of ${key}`).to.be.at.least(1);
    expect([...perKey.keys()].sort()).to.deep.equal([...expected].sort());
    for (const { key, id } of receiver.arrivals) expect(key).to.equal(`${id}:insight.created`);
    const duplicates = [...perKey.values()].reduce((sum, n) => sum + n - 1, 0);
    console.log(
      `      kill -9 after ${beforeKill} of ${EVENTS} arrived; after the restart all ${EVENTS} arrived; ` +
        `${receiver.arrivals.length} requests, ${duplicates} duplicate(s) by Idempotency-Key ` +
        `(${[...perKey.entries()].filter(([, n]) => n > 1).map(([k]) => k.replace(":insight.created", "")).join(", ") || "none"})`,
    );
    expect(journalText(journal).trim(), "the journal is empty once all is delivered").to.equal("");
  });

  it("keeps what was not delivered across a clean stop (SIGTERM) and delivers it after the start", async () => {
    const journal = path.join(nodeRed.userDir, "cse-actions-journal", "k9.post.jsonl");
    const count = 300;
    const insights = Array.from({ length: count }, (_, i) => {
      const insight = modernInsight({ id: `stop-${i}`, readableId: `INSIGHT-${5000 + i}` } as any, 1) as any;
      delete insight.signals;
      return insight;
    });
    const key = (a: { key: string }) => a.key.startsWith("stop-");
    const res = await fetch(`${nodeRed.url}/burst`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(insights) });
    expect(res.status).to.equal(202);
    await until("the burst to be accepted and partly delivered", () => acceptedIn(journal) >= count && receiver.arrivals.filter(key).length >= 50, 30_000);
    const started = Date.now();
    await nodeRed.stop();
    const stopMs = Date.now() - started;
    expect(stopMs, "Node-RED stopped well inside its 15 s close limit").to.be.below(10_000);
    const beforeStop = new Set(receiver.arrivals.filter(key).map((a) => a.key)).size;
    expect(beforeStop, "stopped in the middle of the burst").to.be.within(50, count - 1);
    expect(nodeRed.log).to.not.include("the node closed before the message was delivered");

    await nodeRed.start();
    await until("every key to arrive", () => new Set(receiver.arrivals.filter(key).map((a) => a.key)).size >= count, 60_000);
    const seen = new Set(receiver.arrivals.filter(key).map((a) => a.key));
    for (const insight of insights) expect(seen.has(`${insight.id}:insight.created`), insight.id).to.equal(true);
    const duplicates = receiver.arrivals.filter(key).length - seen.size;
    console.log(`      clean stop in ${stopMs} ms after ${beforeStop} of ${count} arrived; all ${count} arrived after the start; ${duplicates} duplicate(s)`);
  });
});
