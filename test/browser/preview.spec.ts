/**
 * Real-browser test of the action nodes' Preview button: the packed package in a real Node-RED, chromium.
 * Needs `npm run build` first, like editor.spec.ts.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { NodeRedProcess, packPackage } from "../e2e/support/node-red-process";
import { RUNTIMES } from "../e2e/support/runtimes";
import { sampleInsight } from "../../src/events/sample-insight";
import { CHROMIUM_MISSING, addNodes, chromiumInstalled, closeDialog, launchBrowser, openDialog, openEditor } from "./support/editor";

const repoRoot = path.join(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
const allTypes = Object.keys(pkg["node-red"].nodes as Record<string, string>);
const actionTypes = allTypes.filter((t) => {
  const file = path.join(repoRoot, "nodes", `${t}.html`);
  return t !== "cse-trigger" && fs.existsSync(file) && !/category\s*:\s*["']config["']/.test(fs.readFileSync(file, "utf8"));
});

const TEAMS_URL = "https://example.webhook.office.com/webhookb2/Br0wserPreviewSecretPath/IncomingWebhook/abc";

for (const runtime of RUNTIMES) describe(`browser: the Preview button of the action nodes, on ${runtime.label}`, function () {
  this.timeout(120_000);
  let workDir = "";
  let nodeRed: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const errors: string[] = [];

  before(async function () {
    if (!chromiumInstalled()) {
      console.log(`    (skipped: ${CHROMIUM_MISSING})`);
      this.skip();
    }
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-preview-"));
    nodeRed = new NodeRedProcess(packPackage(workDir), { runtime });
    nodeRed.install();
    await nodeRed.start();
    browser = await launchBrowser();
    page = await openEditor(browser, `${nodeRed.url}/`, allTypes);
    page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  });

  after(async function () {
    await browser?.close();
    await nodeRed?.stop();
    nodeRed?.remove();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("is in the dialog of every action node, next to Test", async () => {
    const ids = await addNodes(
      page,
      actionTypes.map((type, i) => ({ id: `preview-${type}`, type, x: 200, y: 60 + i * 50 })),
    );
    const missing: string[] = [];
    for (const id of ids) {
      await openDialog(page, id);
      const count = await page.locator(".red-ui-tray #node-cse-test + #node-cse-preview").count();
      if (count !== 1) missing.push(id);
      await closeDialog(page, "#node-dialog-cancel");
    }
    expect(missing, "dialogs without one Preview button right after Test").to.deep.equal([]);
  });

  it("shows the exact body for the sample Insight with the dialog's values and its size against the limit, without the secret", async () => {
    await openDialog(page, "preview-cse-teams");
    await page.locator("#node-input-url").fill(TEAMS_URL);
    await page.locator("#node-cse-preview").click();
    const dialog = page.locator(".cse-preview-dialog");
    await dialog.waitFor({ state: "visible", timeout: 10_000 }).catch(async (error) => {
      const notes = await page.locator(".red-ui-notification").allInnerTexts();
      notes.push(...errors);
      throw new Error(`${(error as Error).message}\nnotifications and page errors: ${JSON.stringify(notes)}`);
    });
    const body = await dialog.locator("#cse-preview-body").innerText();
    const card = JSON.parse(body);
    expect(JSON.stringify(card)).to.include(sampleInsight().readableId as string);
    const text = await dialog.innerText();
    expect(text).to.match(new RegExp(`body: ${Buffer.byteLength(body, "utf8").toLocaleString("en-US")} bytes of 28,672 allowed`));
    expect(text).not.to.include("Br0wserPreviewSecretPath");
    await dialog.locator(".ui-dialog-buttonpane button", { hasText: "Close" }).click();
    await dialog.waitFor({ state: "detached" });
    await closeDialog(page, "#node-dialog-cancel");
    expect(errors, "script errors in the editor").to.deep.equal([]);
  });
});
