import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startCsePeer, type CsePeer } from "../fakes/cse-peer";
import { modernInsight } from "../fakes/insights";
import { startRfPeer, type RfPeer } from "../fakes/rf-peer";
import { RedisServer } from "../support/redis-server";
import { NodeRedProcess, packPackage } from "./support/node-red-process";
import { RUNTIMES } from "./support/runtimes";
import { until } from "../support/until";

const PER_REPLICA = 12;
const IPS = ["185.220.101.4", "45.33.32.156", "80.82.77.139"];
/** Each write-back is held this long by the CSE API: long enough for 10 to be open at once at 4 starts per second. */
const CSE_DELAY_MS = 3000;
/** Arrival jitter between a start counted in Redis and its arrival at the peer (two busy Node-RED processes). */
const JITTER_MS = 100;


/**
 * Two real Node-RED processes (the packed package, one user directory each, the same flows) and one Redis:
 * both enrich Insights with Recorded Future and write the results back through a cse-tenant with the same
 * access ID. The loopback CSE API must see its limits kept by the two together, and Recorded Future one
 * look-up per indicator.
 */
for (const runtime of RUNTIMES) describe(`e2e: two replicas keep the CSE API limits together and share the Recorded Future cache, on ${runtime.label}`, function () {
  this.timeout(180_000);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-cluster-limits-"));
  const redis = new RedisServer();
  let cse: CsePeer;
  let rf: RfPeer;
  const replicas: NodeRedProcess[] = [];

  before(async () => {
    await redis.start();
    cse = await startCsePeer();
    rf = await startRfPeer();
    for (const ip of IPS) rf.know("ip", ip, 80, 3);
    const tarball = packPackage(workDir);
    for (let i = 0; i < 2; i++) {
      const replica = new NodeRedProcess(tarball, { settings: `cseCluster: { url: "${redis.url}", prefix: "e2e-limits" }, cseConcurrency: 12,`, runtime });
      replicas.push(replica);
      replica.install();
    }
    await Promise.all(replicas.map((r) => r.start()));
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    for (const r of replicas) r.remove();
    await cse?.close();
    await rf?.close();
    await redis.remove();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  /** `count` Insights numbered from `first`, each with one of the public IPs in its records. */
  function insights(first: number, count: number) {
    return Array.from({ length: count }, (_, i) => {
      const n = first + i;
      const insight = modernInsight({ id: `c1a55e00-0000-4000-8000-${String(n).padStart(12, "0")}`, readableId: `INSIGHT-${n}` } as any, 0) as any;
      insight.signals = [{ id: `sig-${n}`, name: "s", allRecords: [{ srcDevice_ip: "10.0.0.5", dstDevice_ip: IPS[i % IPS.length] }] }];
      return insight;
    });
  }

  it("two replicas writing enrichments back with one access ID: at most 4 starts in any second and 10 open at the tenant", async () => {
    const flows = [
      { id: "cl.tab", type: "tab", label: "cluster limits" },
      { id: "cl.in", type: "http in", z: "cl.tab", url: "/enrich", method: "post", wires: [["cl.split", "cl.ok"]] },
      { id: "cl.ok", type: "http response", z: "cl.tab", statusCode: "202", wires: [] },
      { id: "cl.split", type: "split", z: "cl.tab", splt: "\\n", spltType: "str", arraySplt: 1, arraySpltType: "len", stream: false, addname: "", wires: [["cl.rf"]] },
      {
        id: "cl.rf", type: "cse-recorded-future", z: "cl.tab", name: "RF", apiUrl: rf.apiUrl, tenant: "cl.tenant", enrichInsights: true, enrichSignals: false,
        cacheTtl: "3600", timeout: "60000", maxAttempts: "1", credentials: { apiToken: rf.token }, wires: [],
      },
      { id: "cl.tenant", type: "cse-tenant", name: "SOC", apiUrl: cse.apiUrl, uiUrl: "", credentials: { accessId: cse.accessId, accessKey: cse.accessKey } },
    ];
    await Promise.all(replicas.map((r) => r.deploy(flows)));
    cse.delayMs = CSE_DELAY_MS;
    rf.delayMs = 200;

    const batch = (replica: number) => insights(replica * 100, PER_REPLICA);
    const began = Date.now();
    const answers = await Promise.all(
      replicas.map((r, i) => fetch(`${r.url}/enrich`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(batch(i)) })),
    );
    expect(answers.map((a) => a.status)).to.deep.equal([202, 202]);

    const puts = () => cse.requests.filter((r) => r.method === "PUT");
    await until(`${2 * PER_REPLICA} enrichments written back`, () => cse.enrichments.size >= 2 * PER_REPLICA, 90_000);
    const took = Date.now() - began;
    expect(puts()).to.have.length(2 * PER_REPLICA);
    const busiest = cse.maxArrivalsWithin(1000 - JITTER_MS);
    console.log(
      `      ${2 * PER_REPLICA} write-backs from 2 replicas (CSE answers after ${CSE_DELAY_MS} ms) in ${took} ms; ` +
        `at most ${busiest} started within ${1000 - JITTER_MS} ms, at most ${cse.maxConcurrent} open at once; ` +
        `Recorded Future asked ${rf.asked().length} times for ${IPS.length} indicators`,
    );
    expect(busiest).to.be.at.most(4);
    expect(cse.maxConcurrent).to.be.at.most(10);
    expect(cse.maxConcurrent, "the in-flight limit was reached, not just the start rate").to.be.at.least(9);
    expect(rf.asked().sort()).to.deep.equal(IPS.map((ip) => `ip:${ip}`).sort());
    for (const r of replicas) expect(r.log).not.to.contain(cse.accessKey).and.not.to.contain(rf.token);
  });

  it("kill -9 of a replica holding CSE slots: the other one gets them back when their lease ends", async () => {
    const [dying, survivor] = replicas;
    cse.delayMs = 60_000; // write-backs started now stay open for a minute (or until their replica dies)
    const before = cse.requests.length;
    // Accepted by `dying`; in cluster mode both replicas' workers take jobs from the node's queue, so both
    // hold some of the 10 slots: the survivor's stay taken for the minute, the dead one's come back by lease.
    const held = await fetch(`${dying.url}/enrich`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(insights(1000, 12)) });
    expect(held.status).to.equal(202);
    await until("10 write-backs open at the tenant", () => cse.requests.length - before >= 10, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(cse.requests.length - before, "no 11th request while 10 are open").to.equal(10);

    await dying.kill9();
    const killedAt = Date.now();
    cse.delayMs = 0;
    const next = await fetch(`${survivor.url}/enrich`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(insights(2000, 1)) });
    expect(next.status).to.equal(202);
    const newPut = () => cse.requests.find((r) => r.method === "PUT" && r.at >= killedAt);
    await until("a write-back after the kill", () => !!newPut(), 40_000);
    const back = newPut()!.at - killedAt;
    console.log(`      kill -9 of a replica holding CSE slots: the next request started ${back} ms later (lease 15 s, renewed every 5 s)`);
    // The dead replica renewed its leases at most 5 s before it died: they end 10 to 15 s after.
    expect(back).to.be.within(9_000, 17_000);
  });
});
