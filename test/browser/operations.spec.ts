/**
 * The editor's "Cloud SIEM" sidebar in a real Node-RED (packed package, admin authentication) and chromium: a
 * receiver rejecting with 401 → the failed message appears live → receiver fixed → Retry → delivered and gone;
 * the node's row reveals it in the workspace; a viewer sees everything with the buttons disabled; no secret.
 * Regenerates docs/images/sidebar.png for the README. Needs `npm run build` first, like editor.spec.ts.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { modernInsight } from "../fakes/insights";
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { NodeRedProcess, packPackage } from "../e2e/support/node-red-process";
import { adminAuthSettings, bearer, OPERATOR, operationsFlow, tokenFor, VIEWER } from "../e2e/support/operations";
import { CHROMIUM_MISSING, chromiumInstalled, launchBrowser, openEditor } from "./support/editor";
import { looksTheSame } from "./support/png";
import { RUNTIMES } from "../e2e/support/runtimes";

const repoRoot = path.join(__dirname, "..", "..");
const SIDEBAR_PNG = path.join(repoRoot, "docs", "images", "sidebar.png");
const PASSWORD = "SECRET-receiver-password-7f3a";
const BASIC = Buffer.from(`soc:${PASSWORD}`).toString("base64");
const TYPES = ["cse-trigger", "cse-http-post"];
/** Screenshots show the end state of every CSS transition. */
const SETTLED = "*, *::before, *::after { transition: none !important; }";

for (const runtime of RUNTIMES) describe(`browser: the Cloud SIEM sidebar, on ${runtime.label}`, function () {
  this.timeout(120_000);
  let workDir = "";
  let nodeRed: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  let receiver: HttpPeer;
  let page: Page;
  let operator = "";
  const pageErrors: string[] = [];

  before(async function () {
    if (!chromiumInstalled()) {
      console.log(`    (skipped: ${CHROMIUM_MISSING})`);
      this.skip();
    }
    receiver = await startHttpPeer();
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-sidebar-"));
    nodeRed = new NodeRedProcess(packPackage(workDir), { settings: adminAuthSettings(`cseHttpPostAllowedPorts: [${receiver.port}],`), runtime });
    nodeRed.install();
    await nodeRed.start();
    operator = await tokenFor(nodeRed.url, OPERATOR);
    // A first, empty tab: the editor opens on it, so revealing the node has to switch tabs.
    await nodeRed.deploy([{ id: "other.tab", type: "tab", label: "Other" }, ...operationsFlow(receiver.port, PASSWORD)], bearer(operator));
    browser = await launchBrowser();
    page = await openSidebar(operator);
  });

  after(async function () {
    await browser?.close();
    await nodeRed?.stop();
    nodeRed?.remove();
    await receiver?.close();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  /** The editor signed in with `token` (the editor takes `?access_token=` as it is, undecoded: base64 is safe there). */
  async function openSidebar(token: string): Promise<Page> {
    const opened = await openEditor(browser!, `${nodeRed!.url}/?access_token=${token}`, TYPES);
    opened.on("pageerror", (error) => pageErrors.push(error.message));
    await opened.evaluate(() => (globalThis as any).RED.sidebar.show("cse-actions"));
    await opened.locator(".cse-ops").waitFor({ state: "visible" });
    return opened;
  }

  async function postInsight(n: number): Promise<void> {
    const insight = modernInsight({ id: `dddddddd-0000-4000-8000-${String(n).padStart(12, "0")}`, readableId: `INSIGHT-${n}`, name: `Brute force then login ${n}` });
    const res = await fetch(`${nodeRed!.url}/ops/insight`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(insight) });
    expect(res.status).to.equal(202);
  }

  const counter = (p: Page, name: string) => p.locator(`.cse-ops-node[data-node-id="ops.post"] [data-counter="${name}"] .cse-ops-counter-value`);

  it('is a sidebar tab "Cloud SIEM" listing every action node with its counters', async () => {
    const label = await page.locator("#red-ui-tab-cse-actions .red-ui-tab-label").innerText();
    expect(label.trim()).to.equal("Cloud SIEM");
    await page.locator('.cse-ops-node[data-node-id="ops.post"]').waitFor({ state: "visible" });
    expect(await page.locator(".cse-ops-node").count()).to.equal(1);
    expect(await page.locator('.cse-ops-node[data-node-id="ops.post"] .cse-ops-node-label').innerText()).to.equal("SOC receiver");
    expect(await counter(page, "delivered").innerText()).to.equal("0");
    expect(await page.locator(".cse-ops-empty").last().innerText()).to.equal("Nothing failed.");
  });

  it("shows a message the receiver rejected (401) as it fails, with its event, and no secret", async () => {
    receiver.script({ status: 401, body: { error: "invalid_auth" } });
    await postInsight(1);
    const entry = page.locator('.cse-ops-group[data-node-id="ops.post"] .cse-ops-entry');
    await entry.waitFor({ state: "visible", timeout: 10_000 });
    expect(await counter(page, "failed").innerText()).to.equal("1");
    expect(await entry.locator(".cse-ops-error").innerText()).to.include("401");
    expect(await entry.locator(".cse-ops-entry-key").innerText()).to.equal("dddddddd-0000-4000-8000-000000000001:insight.created");

    await entry.locator(".cse-ops-entry-line").click();
    const details = entry.locator(".cse-ops-event");
    await details.waitFor({ state: "visible" });
    const text = await details.innerText();
    expect(text).to.include("INSIGHT-1").and.include("Brute force then login 1").and.include("10.0.0.5");

    await page.mouse.move(10, 1070);
    // The README's image shows a fixed time, so that it does not change with every run.
    await page.evaluate(() => (globalThis as any).$(".cse-ops .cse-ops-time").text("09:41:07"));
    const png = await page.locator("#red-ui-sidebar").screenshot({ animations: "disabled", caret: "hide", style: SETTLED });
    if (runtime.isDefault && (!fs.existsSync(SIDEBAR_PNG) || !looksTheSame(fs.readFileSync(SIDEBAR_PNG), png))) {
      fs.mkdirSync(path.dirname(SIDEBAR_PNG), { recursive: true });
      fs.writeFileSync(SIDEBAR_PNG, png);
    }

    const html = await page.locator(".cse-ops").innerHTML();
    expect(html).to.not.include("SECRET").and.not.include(BASIC);
  });

  it("reveals the node in the workspace when its row is clicked", async () => {
    expect(await page.evaluate(() => (globalThis as any).RED.workspaces.active())).to.equal("other.tab");
    await page.locator('.cse-ops-node[data-node-id="ops.post"]').click();
    await page.waitForFunction(() => (globalThis as any).RED.workspaces.active() === "ops.tab");
  });

  it("sends the message again on Retry once the receiver is fixed: delivered, and gone from the list", async () => {
    receiver.script({ status: 200, body: "ok" });
    await page.locator('.cse-ops-entry .cse-ops-retry').click();
    await receiver.waitForRequests(2);
    expect(receiver.requests[1].json.readableId).to.equal("INSIGHT-1");
    await page.locator(".cse-ops-entry").waitFor({ state: "detached", timeout: 10_000 });
    await page.waitForFunction(() => {
      const el = (globalThis as any).document.querySelector('.cse-ops-node[data-node-id="ops.post"] [data-counter="delivered"] .cse-ops-counter-value');
      return el && el.textContent === "1";
    });
    expect(await page.locator(".cse-ops-empty").last().innerText()).to.equal("Nothing failed.");
  });

  it("shows a viewer (read permission only) the same, with Retry, Retry all and Discard disabled", async () => {
    receiver.script({ status: 401, body: { error: "invalid_auth" } });
    await postInsight(2);
    await page.locator(".cse-ops-entry").waitFor({ state: "visible", timeout: 10_000 });
    const viewerPage = await openSidebar(await tokenFor(nodeRed!.url, VIEWER));
    try {
      const entry = viewerPage.locator(".cse-ops-entry");
      await entry.waitFor({ state: "visible", timeout: 10_000 });
      for (const button of [".cse-ops-retry", ".cse-ops-discard", ".cse-ops-retry-all"]) {
        expect(await viewerPage.locator(button).isDisabled(), button).to.equal(true);
      }
      expect(await counter(viewerPage, "failed").innerText()).to.equal("2");
    } finally {
      await viewerPage.context().close();
    }
    // the operator discards it
    await page.locator(".cse-ops-entry .cse-ops-discard").click();
    await page.locator(".cse-ops-entry").waitFor({ state: "detached" });
    expect(receiver.requests).to.have.length(3);
    expect(pageErrors).to.deep.equal([]);
  });
});
