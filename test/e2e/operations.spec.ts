/**
 * The operations admin API in a real Node-RED with admin authentication: nothing without a token, reading with
 * the viewer's read permission, changes refused to the viewer (cse-actions.write), the failed list kept across a
 * restart of Node-RED and retried after it through a loopback receiver; no secret in any answer.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { modernInsight } from "../fakes/insights";
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { NodeRedProcess, packPackage } from "./support/node-red-process";
import { adminAuthSettings, bearer, OPERATOR, operationsFlow, RESENDER, SCRAPER_TOKEN, tokenFor, VIEWER } from "./support/operations";
import { RUNTIMES } from "./support/runtimes";

const PASSWORD = "SECRET-receiver-password-7f3a";

for (const runtime of RUNTIMES) describe(`e2e: the operations admin API behind Node-RED's admin authentication, on ${runtime.label}`, function () {
  this.timeout(120_000);
  let workDir = "";
  let nodeRed: NodeRedProcess;
  let receiver: HttpPeer;
  let operator = "";
  let viewer = "";

  before(async function () {
    receiver = await startHttpPeer();
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-ops-e2e-"));
    nodeRed = new NodeRedProcess(packPackage(workDir), { settings: adminAuthSettings(`cseHttpPostAllowedPorts: [${receiver.port}],`), runtime });
    nodeRed.install();
    await nodeRed.start();
    operator = await tokenFor(nodeRed.url, OPERATOR);
    viewer = await tokenFor(nodeRed.url, VIEWER);
    await nodeRed.deploy(operationsFlow(receiver.port, PASSWORD), bearer(operator));
  });

  after(async function () {
    await nodeRed?.stop();
    nodeRed?.remove();
    await receiver?.close();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  const api = (method: string, route: string, token?: string) =>
    fetch(`${nodeRed.url}/cse-actions/${route}`, { method, headers: token ? bearer(token) : {} });

  async function failedList(): Promise<any[]> {
    const res = await api("GET", "failed", viewer);
    expect(res.status).to.equal(200);
    return (await res.json()) as any[];
  }

  async function post(n: number): Promise<void> {
    const insight = modernInsight({ id: `eeeeeeee-0000-4000-8000-${String(n).padStart(12, "0")}`, readableId: `INSIGHT-${n}` });
    const res = await fetch(`${nodeRed.url}/ops/insight`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(insight) });
    expect(res.status, nodeRed.log).to.equal(202);
  }

  async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const value = await fn();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${nodeRed.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("answers nothing without a token", async () => {
    for (const [method, route] of [
      ["GET", "status"],
      ["GET", "failed"],
      ["GET", "metrics"],
      ["POST", "failed/ops.post/retry"],
      ["DELETE", "failed/ops.post/x"],
    ]) {
      expect((await api(method, route)).status, `${method} ${route}`).to.equal(401);
    }
  });

  it("lets the viewer read status, failed messages and metrics, and refuses the viewer retry and discard", async () => {
    receiver.script({ status: 401, body: { error: "invalid credentials" } });
    await post(1);
    const [entry] = await until("a failed message", async () => {
      const list = await failedList();
      return list.length > 0 ? list : undefined;
    });
    expect(entry).to.include({ node: "ops.post", type: "cse-http-post", topic: "insight.created", key: "eeeeeeee-0000-4000-8000-000000000001:insight.created", status: 401 });

    const status = await api("GET", "status", viewer);
    expect(status.status).to.equal(200);
    const statuses = (await status.json()) as any[];
    expect(statuses.find((s) => s.id === "ops.post")).to.include({ type: "cse-http-post", name: "SOC receiver", failed: 1 });
    const metrics = await api("GET", "metrics", viewer);
    expect(metrics.status).to.equal(200);
    const text = await metrics.text();
    expect(text).to.include('cse_deliveries_total{type="cse-http-post",node="ops.post",outcome="failed"} 1');
    expect(text).to.include('cse_trigger_events_total{node="ops.trigger",event="insight.created"} 1');

    expect((await api("POST", `failed/ops.post/${entry.id}/retry`, viewer)).status, "refused to the viewer").to.equal(401);
    expect((await api("POST", "failed/ops.post/retry", viewer)).status, "refused to the viewer").to.equal(401);
    expect((await api("DELETE", `failed/ops.post/${entry.id}`, viewer)).status, "refused to the viewer").to.equal(401);
    expect((await failedList()).map((e) => e.id)).to.deep.equal([entry.id]);
    expect(receiver.requests).to.have.length(1);

    // no answer holds the receiver's password (nor its Basic auth header)
    const basic = Buffer.from(`soc:${PASSWORD}`).toString("base64");
    const detail = await (await api("GET", `failed/ops.post/${entry.id}`, viewer)).text();
    for (const answer of [JSON.stringify(statuses), text, JSON.stringify(await failedList()), detail]) {
      expect(answer).to.not.include("SECRET").and.not.include(basic);
    }
  });

  it("lets a scraper with a fixed token of only cse-actions.read (adminAuth.tokens) read the metrics, nothing else", async () => {
    const metrics = await api("GET", "metrics", SCRAPER_TOKEN);
    expect(metrics.status).to.equal(200);
    expect(await metrics.text()).to.include("# TYPE cse_queue_depth gauge");
    expect((await api("GET", "failed", SCRAPER_TOKEN)).status).to.equal(200);
    expect((await api("POST", "failed/ops.post/retry", SCRAPER_TOKEN)).status).to.equal(401);
    const flows = await fetch(`${nodeRed.url}/flows`, { headers: bearer(SCRAPER_TOKEN) });
    expect(flows.status, "no other admin API").to.equal(401);
  });

  it('lets a user with ["read", "cse-actions.write"] change the failed list but not deploy', async () => {
    const resender = await tokenFor(nodeRed.url, RESENDER);
    expect((await api("DELETE", "failed/ops.post/no-such-id", resender)).status, "permitted, and unknown").to.equal(404);
    expect((await api("POST", "failed/ops.post/no-such-id/retry", resender)).status).to.equal(404);
    const deploy = await fetch(`${nodeRed.url}/flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-API-Version": "v2", ...bearer(resender) },
      body: JSON.stringify({ flows: [] }),
    });
    expect(deploy.status).to.equal(401);
  });

  it("keeps the failed list across a restart of Node-RED and delivers it on the operator's retry, with the same key", async () => {
    const [entry] = await failedList();
    await nodeRed.restart();
    operator = await tokenFor(nodeRed.url, OPERATOR);
    viewer = await tokenFor(nodeRed.url, VIEWER);
    const after = await until("the node running again", async () => {
      const res = await api("GET", "status", viewer);
      const list = (await res.json()) as any[];
      return list.some((s) => s.id === "ops.post") ? failedList() : undefined;
    });
    expect(after).to.deep.equal([entry]);

    receiver.script({ status: 200, body: "ok" });
    const res = await api("POST", `failed/ops.post/${entry.id}/retry`, operator);
    expect(res.status).to.equal(202);
    await receiver.waitForRequests(2);
    expect(receiver.requests[1].json.readableId).to.equal("INSIGHT-1");
    expect(receiver.requests[1].headers["idempotency-key"]).to.equal(receiver.requests[0].headers["idempotency-key"]);
    await until("the list to empty", async () => ((await failedList()).length === 0 ? true : undefined));
    const statuses = (await (await api("GET", "status", viewer)).json()) as any[];
    expect(statuses.find((s) => s.id === "ops.post")).to.include({ delivered: 1, failed: 0 });
  });

  it("lets the operator discard a failed message", async () => {
    receiver.script({ status: 400, body: { error: "bad request" } });
    await post(2);
    const [entry] = await until("a failed message", async () => {
      const list = await failedList();
      return list.length > 0 ? list : undefined;
    });
    expect((await api("DELETE", `failed/ops.post/${entry.id}`, operator)).status).to.equal(204);
    expect(await failedList()).to.deep.equal([]);
  });
});
