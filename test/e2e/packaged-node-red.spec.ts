import { expect } from "chai";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { NodeRedProcess, PACKAGE_NAME, packPackage, packedFiles } from "./support/node-red-process";
import { RUNTIMES } from "./support/runtimes";
import { realInsightEnvelope } from "../fakes/insights";

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
const nodeTypes = Object.keys(pkg["node-red"].nodes as Record<string, string>);

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

function startReceiver(): Promise<{ server: http.Server; port: number; received: Received[]; next: () => Promise<Received> }> {
  const received: Received[] = [];
  const waiters: ((r: Received) => void)[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const entry = { headers: req.headers, body };
      received.push(entry);
      waiters.shift()?.(entry);
      res.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        server,
        port: (server.address() as { port: number }).port,
        received,
        next: () => new Promise<Received>((r) => (received.length > waiters.length ? r(received[waiters.length]) : waiters.push(r))),
      }),
    ),
  );
}

for (const runtime of RUNTIMES) describe(`e2e: the packed package in a real ${runtime.label}`, function () {
  this.timeout(180_000);
  let nodeRed: NodeRedProcess;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const password = "e2e-Pa55word-that-must-stay-secret";
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-pack-"));

  before(async () => {
    receiver = await startReceiver();
    nodeRed = new NodeRedProcess(packPackage(workDir), { settings: `cseHttpPostAllowedPorts: [${receiver.port}],`, runtime });
    nodeRed.install();
    await nodeRed.start();
  });

  after(async () => {
    await nodeRed?.stop();
    nodeRed?.remove();
    receiver?.server.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it(`starts Node-RED v${runtime.redVersion} on Node.js v${runtime.nodeVersion}`, () => {
    expect(nodeRed.log).to.include(`Node-RED version: v${runtime.redVersion}`);
    expect(nodeRed.log).to.include(`Node.js  version: v${runtime.nodeVersion}`);
  });

  it("ships only what users need", () => {
    const files = packedFiles();
    expect(files).to.include.members(["package.json", "README.md", "LICENSE", "resources/cse-editor.js"]);
    for (const type of nodeTypes) {
      expect(files).to.include(`dist/nodes/${type}.js`);
      expect(files).to.include(`dist/nodes/${type}.html`);
    }
    expect(files.filter((f) => /^(src|test|scripts|\.ci)\//.test(f) || f.endsWith(".map"))).to.deep.equal([]);
  });

  it("loads every node of the package, in the Cloud SIEM palette category", async () => {
    const res = await fetch(`${nodeRed.url}/nodes/${PACKAGE_NAME}`, { headers: { Accept: "application/json" } });
    expect(res.status).to.equal(200);
    const module = (await res.json()) as { nodes: { types: string[]; enabled: boolean; err?: string }[] };
    expect(module.nodes.flatMap((n) => n.types)).to.include.members(nodeTypes);
    for (const set of module.nodes) expect(set.err, `node set ${set.types} failed to load`).to.equal(undefined);

    const editor = await (await fetch(`${nodeRed.url}/nodes`, { headers: { Accept: "text/html" } })).text();
    for (const type of nodeTypes) {
      const registration = new RegExp(`registerType\\(\\s*["']${type}["']\\s*,\\s*\\{[\\s\\S]*?category:\\s*["'](config|Cloud SIEM)["']`);
      expect(editor, `editor definition of ${type}`).to.match(registration);
    }
  });

  it("serves the editor helpers every dialog loads", async () => {
    const res = await fetch(`${nodeRed.url}/resources/${PACKAGE_NAME}/cse-editor.js`);
    expect(res.status).to.equal(200);
    expect(await res.text()).to.include("window.CseActions");
  });

  it("offers the examples under Import > Examples", async () => {
    const res = await fetch(`${nodeRed.url}/library/examples/flows/${PACKAGE_NAME}`);
    const listing = JSON.stringify(await res.json());
    for (const file of fs.readdirSync(path.join(__dirname, "..", "..", "examples"))) {
      if (file.endsWith(".json")) expect(listing).to.include(file.replace(/\.json$/, ""));
    }
  });

  it("delivers a real Insight posted to http in, through cse-trigger and cse-http-post, byte for byte", async () => {
    const flows = [
      { id: "e2e.tab", type: "tab", label: "e2e" },
      { id: "e2e.in", type: "http in", z: "e2e.tab", url: "/e2e/insight", method: "post", x: 100, y: 100, wires: [["e2e.trigger", "e2e.ok"]] },
      { id: "e2e.ok", type: "http response", z: "e2e.tab", statusCode: "202", x: 300, y: 160, wires: [] },
      {
        id: "e2e.trigger", type: "cse-trigger", z: "e2e.tab", name: "", onInsightCreated: true, onInsightClosed: true, onDemand: true,
        onSensorOffline: false, onRuleAutoDisabled: false, active: true, tenant: "", pollInterval: "0", sensorTimeout: "900",
        signalLimitHour: "100000", signalLimitDay: "1000000", dedupeWindow: "86400", store: "", x: 300, y: 100, wires: [["e2e.post"]],
      },
      {
        id: "e2e.post", type: "cse-http-post", z: "e2e.tab", name: "to receiver", url: `http://127.0.0.1:${receiver.port}/insights`,
        extraHeaders: "X-Test: e2e", includeSignals: true, includeRecords: true, recordFields: "", timeout: "30000", maxAttempts: "5",
        credentials: { username: "soc", password }, x: 500, y: 100, wires: [],
      },
    ];
    await nodeRed.deploy(flows);

    const envelope = realInsightEnvelope();
    const arrival = receiver.next();
    const res = await fetch(`${nodeRed.url}/e2e/insight`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(envelope.data),
    });
    expect(res.status, nodeRed.log).to.equal(202);
    const got = await arrival;
    expect(got.body).to.equal(JSON.stringify(envelope.data));
    expect(got.headers["x-test"]).to.equal("e2e");
    expect(got.headers.authorization).to.equal(`Basic ${Buffer.from(`soc:${password}`).toString("base64")}`);

    const exported = await (await fetch(`${nodeRed.url}/flows`)).text();
    expect(exported).to.not.include(password);
    expect(nodeRed.log).to.not.include(password);
  });
});
