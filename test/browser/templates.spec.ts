/**
 * Real-browser test of message templates (SPEC §8) in a summary node's dialog: the code editor, the "Insert the
 * default template" button and the Preview that follows the edits, for the sample Insight and a sensor event, and
 * shows a template's error instead of a body. The packed package in a real Node-RED, chromium; needs `npm run build`.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { NodeRedProcess, packPackage } from "../e2e/support/node-red-process";
import { RUNTIMES } from "../e2e/support/runtimes";
import { DEFAULT_TEMPLATES } from "../../src/render/template-defaults";
import { CHROMIUM_MISSING, addNodes, cancelOpenDialogs, chromiumInstalled, closeDialog, launchBrowser, openDialog, openEditor } from "./support/editor";

const repoRoot = path.join(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
const allTypes = Object.keys(pkg["node-red"].nodes as Record<string, string>);

for (const runtime of RUNTIMES) describe(`browser: message templates in the dialog, with the live Preview, on ${runtime.label}`, function () {
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
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-templates-"));
    nodeRed = new NodeRedProcess(packPackage(workDir), { runtime });
    nodeRed.install();
    await nodeRed.start();
    browser = await launchBrowser();
    page = await openEditor(browser, `${nodeRed.url}/`, allTypes);
    page.on("pageerror", (error) => errors.push(`uncaught: ${error.message} ${error.stack}`));
  });

  afterEach(async function () {
    // A failed test may leave its Preview or dialog open: the next one starts from a clear editor.
    await page?.locator(".cse-preview-dialog .ui-dialog-buttonpane button", { hasText: "Close" }).click({ timeout: 1_000 }).catch(() => undefined);
    if (page) await cancelOpenDialogs(page);
  });

  after(async function () {
    await browser?.close();
    await nodeRed?.stop();
    nodeRed?.remove();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  /** Replaces the code editor's whole text as a user would: select all, then the new text. */
  async function replaceTemplate(text: string): Promise<void> {
    await page.locator("#node-input-template-editor .monaco-editor").click();
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(text);
    await page.waitForFunction((wanted) => (globalThis as any).$("#node-input-template").val() === wanted, text);
  }

  /** Waits until the open Preview's body (or error) reads `expected`, and returns its size line. */
  async function previewShows(expected: (body: string) => boolean, what: string): Promise<string> {
    const dialog = page.locator(".cse-preview-dialog");
    await dialog.waitFor({ state: "visible", timeout: 10_000 });
    const body = dialog.locator("#cse-preview-body");
    const deadline = Date.now() + 10_000;
    let last = "";
    while (Date.now() < deadline) {
      last = await body.innerText();
      if (last && expected(last)) return dialog.locator("#cse-preview-message").innerText();
      await page.waitForTimeout(100);
    }
    throw new Error(`the Preview never showed ${what}; last: ${JSON.stringify(last)}`);
  }

  it("cse-slack: insert the default, edit the template and see the Preview follow, for the Insight and a sensor event", async () => {
    await addNodes(page, [{ id: "tpl-slack", type: "cse-slack", channel: "#soc", x: 300, y: 80 }]);
    await openDialog(page, "tpl-slack");
    await page.locator("#node-input-apiKey").fill("xoxb-browser-template-test");
    expect(await page.locator(".red-ui-tray #node-input-template-editor .monaco-editor").count(), "a code editor for the template").to.equal(1);

    await page.locator("#node-cse-template-default").click();
    await page.waitForFunction((wanted) => (globalThis as any).$("#node-input-template").val() === wanted, DEFAULT_TEMPLATES.slack);
    await page.locator("#node-cse-preview").click();
    const size = await previewShows((body) => JSON.parse(body).text?.startsWith("*Insight: INSIGHT-0: Test from Node-RED"), "the default template's text");
    expect(size).to.match(/^text: [\d,]+ characters of 40,000 allowed$/);

    // The Preview stays open beside the dialog and follows the edits.
    // The template's own text is mrkdwn as written; the values are escaped.
    await replaceTemplate("{{event}}: {{title}} <{{severity}}> & co");
    await previewShows(
      (body) => JSON.parse(body).text === "insight.onDemand: INSIGHT-0: Test from Node-RED: Initial Access with Command and Control <LOW> & co",
      "the edited template for the sample Insight",
    );
    await page.locator("#cse-preview-sample").selectOption("sensor");
    await previewShows((body) => JSON.parse(body).text === "sensor.offline: Network Sensor offline: sample-sensor-dmz <> & co", "the sensor event");

    await replaceTemplate("fine\n{{#insight}}never closed");
    const message = await previewShows((body) => body.includes("template: line 2: unclosed section"), "the template's error");
    expect(message).to.equal("Nothing would be sent:");

    await page.locator(".cse-preview-dialog .ui-dialog-buttonpane button", { hasText: "Close" }).click();
    await page.locator(".cse-preview-dialog").waitFor({ state: "detached" });
    await replaceTemplate("{{severity}} {{entity}}");
    await closeDialog(page, "#node-dialog-ok");
    const saved = await page.evaluate(() => (globalThis as any).RED.nodes.node("tpl-slack").template);
    expect(saved).to.equal("{{severity}} {{entity}}");
    expect(errors, "script errors in the editor").to.deep.equal([]);
  });

  it("cse-email: a subject and a body template, each with its default button", async () => {
    await addNodes(page, [{ id: "tpl-email", type: "cse-email", recipients: "soc@example.com", x: 300, y: 160 }]);
    await openDialog(page, "tpl-email");
    await page.locator("#node-cse-subject-default").click();
    expect(await page.locator("#node-input-subject").inputValue()).to.equal(DEFAULT_TEMPLATES.emailSubject);
    await page.locator("#node-cse-template-default").click();
    await page.waitForFunction((wanted) => (globalThis as any).$("#node-input-template").val() === wanted, DEFAULT_TEMPLATES.email);
    await closeDialog(page, "#node-dialog-ok");
    const saved = await page.evaluate(() => {
      const node = (globalThis as any).RED.nodes.node("tpl-email");
      return { subject: node.subject, template: node.template };
    });
    expect(saved).to.deep.equal({ subject: DEFAULT_TEMPLATES.emailSubject, template: DEFAULT_TEMPLATES.email });
    expect(errors, "script errors in the editor").to.deep.equal([]);
  });
});
