/**
 * Real-browser tests of the editor: the packed package installed into a real Node-RED started from its CLI, on each runtime,
 * driven with playwright-core and Debian's chromium. One Node-RED, one browser, one page for the whole suite;
 * the tests run in order and build on each other (dialogs, then exports, then a flow dragged from the palette).
 * Node types come from package.json's "node-red".nodes, so every node that lands is covered.
 */
import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { NodeRedProcess, PACKAGE_NAME, packPackage } from "../e2e/support/node-red-process";
import { RUNTIMES } from "../e2e/support/runtimes";
import { startCsePeer, type CsePeer } from "../fakes/cse-peer";
import { startHttpPeer, type HttpPeer } from "../fakes/http-peer";
import { modernInsight } from "../fakes/insights";
import { sampleInsight } from "../../src/events/sample-insight";
import {
  CHROMIUM_MISSING,
  addNodes,
  cancelOpenDialogs,
  chromiumInstalled,
  closeDialog,
  deployFromUi,
  dragFromPalette,
  hasInputError,
  launchBrowser,
  openDialog,
  openEditor,
  removeNodes,
  typeInto,
  validationMessage,
  waitForTray,
  wire,
} from "./support/editor";
import { looksTheSame } from "./support/png";

const repoRoot = path.join(__dirname, "..", "..");
const imagesDir = path.join(repoRoot, "docs", "images");
const CATEGORY = "Cloud SIEM";

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
const allTypes = Object.keys(pkg["node-red"].nodes as Record<string, string>);
/** Config nodes declare category "config" in their editor file; they live in the config sidebar, not the palette. */
function isConfigType(type: string): boolean {
  const file = path.join(repoRoot, "nodes", `${type}.html`);
  return fs.existsSync(file) && /category\s*:\s*["']config["']/.test(fs.readFileSync(file, "utf8"));
}
const configTypes = allTypes.filter(isConfigType);
const paletteTypes = allTypes.filter((t) => !isConfigType(t));
/** Action nodes deliver to a target and carry a Test button; cse-trigger is the source. */
const actionTypes = paletteTypes.filter((t) => t !== "cse-trigger");

interface FieldCase {
  field: string;
  bad: string;
  /** What the editor's message must mention. */
  names: RegExp;
  good: string;
}
/** Bad and good values per node; the default is a non-numeric timeout and zero attempts. */
const FIELD_CASES: Record<string, FieldCase[]> = {
  "cse-trigger": [{ field: "pollInterval", bad: "every minute", names: /number/, good: "120" }],
  "cse-http-post": [
    { field: "url", bad: "https://soar.example.com:22/cse/insights", names: /port 22/, good: "https://soar.example.com/cse/insights" },
    { field: "timeout", bad: "ten seconds", names: /number/, good: "15000" },
    { field: "maxAttempts", bad: "0", names: /positive/, good: "3" },
  ],
};
const DEFAULT_CASES: FieldCase[] = [
  { field: "timeout", bad: "ten seconds", names: /number/, good: "15000" },
  { field: "maxAttempts", bad: "0", names: /positive/, good: "3" },
];

/** Values typed into password fields; none may appear in an export. */
const typedSecrets: string[] = [];
function secretFor(type: string, field: string): string {
  const secret = `Br0wser-${type}-${field}-${typedSecrets.length}-not-for-export`;
  typedSecrets.push(secret);
  return secret;
}

/** Screenshots show the end state of every CSS transition (e.g. a field's border after it turned valid). */
const SETTLED = "*, *::before, *::after { transition: none !important; }";

/** The open edit dialog as a user sees it, with no field focused and the pointer elsewhere. */
async function trayScreenshot(page: Page): Promise<Buffer> {
  await page.evaluate(() => (globalThis as any).document.activeElement?.blur());
  await page.mouse.move(960, 1075);
  return page.locator(".red-ui-tray").last().screenshot({ animations: "disabled", caret: "hide", style: SETTLED });
}

function containedSecrets(text: string): string[] {
  return typedSecrets.filter((s) => text.includes(s));
}

for (const runtime of RUNTIMES) describe(`browser: the editor with the packed package in a real ${runtime.label}`, function () {
  this.timeout(120_000);
  let workDir = "";
  let nodeRed: NodeRedProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let receiver: HttpPeer;
  let testPeer: HttpPeer;
  let csePeer: CsePeer;
  const dialogNodeIds: string[] = [];
  const configNodeIds: string[] = [];
  const screenshots = new Map<string, Buffer>();
  /** How many Test buttons (`#node-cse-test`) each node's dialog showed. */
  const testButtons = new Map<string, number>();
  /** Script errors in the editor page since the last test took them. */
  const scriptErrors: string[] = [];

  before(async function () {
    if (!chromiumInstalled()) {
      console.log(`    (skipped: ${CHROMIUM_MISSING})`);
      this.skip();
    }
    receiver = await startHttpPeer();
    testPeer = await startHttpPeer();
    receiver.script({ status: 200, body: { ok: true } });
    testPeer.script({ status: 202, body: { accepted: true } });
    csePeer = await startCsePeer({ accessId: "suBrowserTest", accessKey: secretFor("cse-tenant", "accessKey-for-peer") });
    csePeer.addInsight();
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-browser-"));
    nodeRed = new NodeRedProcess(packPackage(workDir), { settings: `cseHttpPostAllowedPorts: [${receiver.port}, ${testPeer.port}, 443],`, runtime });
    nodeRed.install();
    await nodeRed.start();
    browser = await launchBrowser();
    page = await openEditor(browser, `${nodeRed.url}/`, allTypes);
    page.on("pageerror", (error) => scriptErrors.push(`uncaught: ${error.message}`));
    page.on("console", (message) => {
      const text = message.text();
      // The editor catches errors of a node's edit functions and only logs them.
      if (message.type() === "error" || /^(oneditprepare|oneditsave|oneditcancel|oneditresize) /.test(text)) scriptErrors.push(text);
    });
  });

  after(async function () {
    await browser?.close();
    await nodeRed?.stop();
    nodeRed?.remove();
    await receiver?.close();
    await testPeer?.close();
    await csePeer?.close();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  /** Saves a screenshot for the README (from the default runtime) once the test that took it has passed; clears up after a failure. */
  afterEach(async function () {
    if (this.currentTest?.state === "failed" && page) await cancelOpenDialogs(page);
    if (this.currentTest?.state === "passed" && runtime.isDefault) {
      for (const [name, png] of screenshots) {
        const file = path.join(imagesDir, name);
        if (fs.existsSync(file) && looksTheSame(fs.readFileSync(file), png)) continue; // no churn from rasteriser noise
        fs.mkdirSync(imagesDir, { recursive: true });
        fs.writeFileSync(file, png);
      }
    }
    screenshots.clear();
  });

  it(`shows every node in the "${CATEGORY}" palette category, one colour, each with its own icon`, async () => {
    const found = await page.evaluate(
      (groups) => {
        const RED = (globalThis as any).RED;
        const $ = (globalThis as any).$;
        return groups.map((types: string[]) =>
          types.map((t) => {
            const def = RED.nodes.getType(t);
            const entry = $(`.red-ui-palette-node[data-palette-type="${t}"]`);
            return {
              type: t,
              category: def && def.category,
              color: def && def.color,
              inPalette: entry.length as number,
              paletteCategory: entry.closest(".red-ui-palette-category").find(".red-ui-palette-header span").first().text() as string,
              icon: (entry.find(".red-ui-palette-icon-container").attr("data-palette-icon") as string) || null,
            };
          }),
        );
      },
      [paletteTypes, configTypes],
    ).then(([palette, configs]) => ({ palette, configs }));
    for (const node of found.palette) {
      expect(node.category, `${node.type} category`).to.equal(CATEGORY);
      expect(node.inPalette, `${node.type} palette entries`).to.equal(1);
      expect(node.paletteCategory, `${node.type} palette section`).to.equal(CATEGORY);
      expect(node.icon, `${node.type} icon`).to.equal(`icons/${PACKAGE_NAME}/${node.type}.svg`);
      const icon = await fetch(`${nodeRed!.url}/${node.icon}`);
      expect(icon.status, `${node.icon} served`).to.equal(200);
      expect(await icon.text(), `${node.icon} is SVG`).to.match(/<svg[\s>]/);
    }
    expect(new Set(found.palette.map((n) => n.color)).size, "one colour for the family").to.equal(1);
    for (const node of found.configs) {
      expect(node.category, `${node.type} category`).to.equal("config");
      expect(node.inPalette, `${node.type} is not in the palette`).to.equal(0);
    }

    const section = page.locator(".red-ui-palette-category").filter({ has: page.locator(".red-ui-palette-header span", { hasText: CATEGORY }) });
    await section.scrollIntoViewIfNeeded();
    await page.mouse.move(960, 1075);
    const box = await section.boundingBox();
    if (!box) throw new Error("the Cloud SIEM palette section is not on screen");
    // Leave out the palette's resize grip, drawn over the section's right edge.
    const clip = { x: box.x, y: box.y, width: box.width - 8, height: box.height };
    screenshots.set("palette.png", await page.screenshot({ clip, animations: "disabled", caret: "hide", style: SETTLED }));
  });

  for (const [index, type] of paletteTypes.entries()) {
    it(`${type}: the dialog opens, marks a bad value with a message naming the problem, and saves a good one`, async () => {
      const id = `browser-${type}`;
      scriptErrors.length = 0;
      await addNodes(page, [{ id, type, x: 200 + (index % 5) * 260, y: 120 + Math.floor(index / 5) * 100 }]);
      dialogNodeIds.push(id);
      await openDialog(page, id);
      if (type === "cse-trigger") screenshots.set("dialog-cse-trigger.png", await trayScreenshot(page));

      const cases = FIELD_CASES[type] ?? DEFAULT_CASES;
      for (const { field, bad, names, good } of cases) {
        const selector = `#node-input-${field}`;
        expect(await page.locator(selector).count(), `${type} has a ${field} field`).to.equal(1);
        await typeInto(page, selector, bad);
        expect(await hasInputError(page, selector), `${type}.${field} = ${JSON.stringify(bad)} is marked invalid`).to.equal(true);
        const message = await validationMessage(page, selector);
        expect(message, `${type}.${field}: the editor explains what is wrong`).to.match(names);
        await typeInto(page, selector, good);
        expect(await hasInputError(page, selector), `${type}.${field} = ${JSON.stringify(good)} is accepted`).to.equal(false);
      }

      if (type === "cse-http-post") screenshots.set("dialog-cse-http-post.png", await trayScreenshot(page));
      for (const field of await page.locator(".red-ui-tray input[type=password]").all()) {
        const fieldId = (await field.getAttribute("id")) ?? "password";
        if (await field.isVisible()) await field.fill(secretFor(type, fieldId.replace(/^node-input-/, "")));
      }
      testButtons.set(type, await page.locator(".red-ui-tray #node-cse-test").count());
      await closeDialog(page, "#node-dialog-ok");

      const saved = await page.evaluate((nodeId) => {
        const node = (globalThis as any).RED.nodes.node(nodeId);
        return node ? { ...Object.fromEntries(Object.keys(node._def.defaults).map((k) => [k, node[k]])) } : null;
      }, id);
      expect(saved, `${type} node exists after Done`).to.not.equal(null);
      for (const { field, good } of cases) expect(String(saved![field]), `${type}.${field} saved`).to.equal(good);
      expect(scriptErrors, `script errors while editing ${type}`).to.deep.equal([]);
    });
  }

  it("has a Test button in the dialog of every action node", () => {
    const missing = actionTypes.filter((t) => testButtons.has(t) && testButtons.get(t) !== 1);
    expect(missing, "action nodes without one #node-cse-test button").to.deep.equal([]);
    expect(testButtons.get("cse-trigger") ?? 0, "cse-trigger is a source, not an action").to.equal(0);
  });

  it("has help with Inputs, Outputs, Details and References for every node", async () => {
    const helps = await page.evaluate((types) => {
      const $ = (globalThis as any).$;
      return types.map((t: string) => ({ type: t, text: $(`script[data-help-name="${t}"]`).text() as string }));
    }, allTypes);
    for (const { type, text } of helps) {
      const sections = isConfigType(type) ? ["Details", "References"] : ["Inputs", "Outputs", "Details", "References"];
      for (const section of sections) expect(text, `${type} help has ### ${section}`).to.match(new RegExp(`^###\\s+${section}\\s*$`, "m"));
    }
  });

  /** In the open cse-tenant dialog: Test connection against the local Cloud SIEM API reports success. */
  async function testTenantConnection(): Promise<void> {
    await page.locator("#node-config-input-region").selectOption("custom");
    await typeInto(page, "#node-config-input-apiUrl", csePeer.apiUrl);
    await typeInto(page, "#node-config-input-accessId", csePeer.accessId);
    await page.locator("#node-config-input-accessKey").fill(csePeer.accessKey);
    const before = csePeer.requests.length;
    await page.locator("#node-config-cse-tenant-test").click();
    const note = page.locator(".red-ui-notification-success").filter({ hasText: "Connected to Cloud SIEM" });
    await note.waitFor({ state: "visible" });
    const asked = csePeer.requests.slice(before);
    expect(asked.map((r) => `${r.method} ${r.path}`)).to.include("GET /insights");
    expect(asked[0].headers.authorization).to.equal(`Basic ${Buffer.from(`${csePeer.accessId}:${csePeer.accessKey}`).toString("base64")}`);
  }

  for (const type of configTypes) {
    it(`${type}: the config dialog opens from a node that uses it and keeps secrets in password fields`, async function () {
      const owner = await page.evaluate(
        ({ configType, candidates }) => {
          const RED = (globalThis as any).RED;
          for (const t of candidates) {
            const defaults = RED.nodes.getType(t).defaults;
            for (const prop of Object.keys(defaults)) if (defaults[prop].type === configType) return { type: t, prop };
          }
          return null;
        },
        { configType: type, candidates: paletteTypes },
      );
      if (!owner) this.skip(); // no node in package.json uses it yet
      const ownerId = `browser-${owner!.type}`;
      await openDialog(page, ownerId);
      const add = page.locator(`#node-input-btn-${owner!.prop}-add`);
      if (await add.isVisible()) await add.click();
      else await page.locator(`#node-input-btn-${owner!.prop}-edit`).click();
      await page.locator("#node-config-dialog-ok").waitFor({ state: "visible" });
      await waitForTray(page);
      const passwords = await page.locator(".red-ui-tray input[type=password]").all();
      expect(passwords.length, `${type} has at least one password field`).to.be.greaterThan(0);
      for (const field of passwords) {
        const fieldId = (await field.getAttribute("id")) ?? "password";
        if (await field.isVisible()) await field.fill(secretFor(type, fieldId.replace(/^node-config-input-/, "")));
      }
      if (type === "cse-tenant") await testTenantConnection();
      await page.locator("#node-config-dialog-ok").click();
      await page.locator("#node-config-dialog-ok").waitFor({ state: "detached" });
      const configId = await page.evaluate(
        ({ nodeId, prop }) => (globalThis as any).RED.nodes.node(nodeId) && (globalThis as any).$(`#node-input-${prop}`).val(),
        { nodeId: ownerId, prop: owner!.prop },
      );
      await closeDialog(page, "#node-dialog-ok");
      expect(configId, `${owner!.type}.${owner!.prop} refers to the new ${type}`).to.be.a("string").and.not.equal("_ADD_");
      const made = await page.evaluate((cid) => (globalThis as any).RED.nodes.node(cid)?.type ?? null, configId);
      expect(made).to.equal(type);
      configNodeIds.push(configId as string);
    });
  }

  it("exports flows without any secret typed into a password field", async () => {
    expect(typedSecrets.length, "secrets were typed").to.be.greaterThan(0);
    const nodeSet = await page.evaluate(() => JSON.stringify((globalThis as any).RED.nodes.createCompleteNodeSet({ credentials: false })));
    expect(containedSecrets(nodeSet), "RED.nodes.createCompleteNodeSet()").to.deep.equal([]);
    expect(nodeSet, "the set holds the dialog nodes").to.include(dialogNodeIds[0]);

    await page.evaluate(() => (globalThis as any).RED.actions.invoke("core:show-export-dialog"));
    await page.locator("#red-ui-clipboard-dialog-export-rng-full").click();
    const exported = await page.evaluate(() => (globalThis as any).$("#red-ui-clipboard-dialog-export-text").val() as string);
    await page.locator("#red-ui-clipboard-dialog-cancel").click();
    expect(exported, "the Export dialog shows all flows").to.include(dialogNodeIds[0]);
    expect(containedSecrets(exported), "the Export dialog").to.deep.equal([]);
  });

  let flow: { httpIn: string; trigger: string; post: string; response: string };
  const flowSecret = secretFor("cse-http-post", "flow-password");

  it("delivers an Insight through a flow dragged from the palette, wired and deployed in the editor", async () => {
    await removeNodes(page, [...dialogNodeIds, ...configNodeIds]);
    const httpIn = await dragFromPalette(page, "http in", 200, 200);
    const trigger = await dragFromPalette(page, "cse-trigger", 450, 200);
    const post = await dragFromPalette(page, "cse-http-post", 700, 200);
    const response = await dragFromPalette(page, "http response", 950, 200);
    flow = { httpIn, trigger, post, response };
    await wire(page, httpIn, trigger);
    await wire(page, trigger, post);
    await wire(page, post, response);

    await openDialog(page, httpIn);
    await page.locator("#node-input-method").selectOption("post");
    await typeInto(page, "#node-input-url", "/cse-browser-webhook");
    await closeDialog(page, "#node-dialog-ok");

    await openDialog(page, post);
    await typeInto(page, "#node-input-name", "to my receiver");
    await typeInto(page, "#node-input-url", `${receiver.url}/insights`);
    await typeInto(page, "#node-input-username", "node-red");
    await page.locator("#node-input-password").fill(flowSecret);
    expect(await hasInputError(page, "#node-input-url"), "the receiver's port is allowed").to.equal(false);
    await closeDialog(page, "#node-dialog-ok");

    await deployFromUi(page);

    const insight = modernInsight(); // open, so "insight created" (on by default) lets it through
    const answer = await fetch(`${nodeRed!.url}/cse-browser-webhook`, {
      method: "POST",
      signal: AbortSignal.timeout(15_000),
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(insight),
    });
    expect(answer.status, await answer.clone().text()).to.equal(200);
    const [got] = await receiver.waitForRequests(1, 15_000);
    expect(got.method).to.equal("POST");
    expect(got.url).to.equal("/insights");
    expect(got.json?.id).to.equal(insight.id);
    expect(got.headers.authorization).to.equal(`Basic ${Buffer.from(`node-red:${flowSecret}`).toString("base64")}`);
  });

  it("keeps deployed secrets out of GET /flows, stored only as credentials", async () => {
    const flows = await (await fetch(`${nodeRed!.url}/flows`)).text();
    expect(flows).to.include(flow.post);
    expect(containedSecrets(flows), "GET /flows").to.deep.equal([]);
    const credentials = (await (await fetch(`${nodeRed!.url}/credentials/cse-http-post/${flow.post}`)).json()) as Record<string, unknown>;
    expect(credentials).to.include({ username: "node-red", has_password: true });
    expect(JSON.stringify(credentials)).to.not.include(flowSecret);
  });

  it("Test button: sends the sample Insight with the dialog's values and the saved password, and says so", async () => {
    await openDialog(page, flow.post);
    expect(await page.locator("#node-input-password").inputValue(), "the saved password is not sent back to the editor").to.equal("__PWRD__");
    await typeInto(page, "#node-input-url", `${testPeer.url}/cse-test`);
    await page.locator("#node-cse-test").click();
    const note = page.locator(".red-ui-notification-success").filter({ hasText: "Test sent" });
    await note.waitFor({ state: "visible" });
    expect(await note.innerText()).to.include("202");
    await closeDialog(page, "#node-dialog-cancel");

    const [got] = await testPeer.waitForRequests(1, 5_000);
    expect(got.method).to.equal("POST");
    expect(got.url).to.equal("/cse-test");
    expect(got.json?.id).to.equal(sampleInsight().id);
    expect(got.headers.authorization, "the saved password is reused").to.equal(`Basic ${Buffer.from(`node-red:${flowSecret}`).toString("base64")}`);
    expect(receiver.requests, "the deployed flow's receiver got nothing from the test").to.have.length(1);
  });

  it("keeps the deployed flow's secret out of the editor's export too", async () => {
    const nodeSet = await page.evaluate(() => JSON.stringify((globalThis as any).RED.nodes.createCompleteNodeSet({ credentials: false })));
    expect(nodeSet).to.include(flow.post);
    expect(containedSecrets(nodeSet)).to.deep.equal([]);
  });
});
